package main

import (
	"context"
	"fmt"
	"io"

	"github.com/urfave/cli/v3"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/dist"
)

func distPruneCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:      "prune",
		Usage:     "drop from the repository a distribution follows what its settings say is due (container: images not pulled within --retain-unpulled), as a new version; gc then frees the bytes. serve does it every hour",
		ArgsUsage: "NAME",
		Action: e.action(1, 1, "NAME", func(ctx context.Context, c *cli.Command, svc api.Service, a []string) error {
			res, err := svc.PruneDist(ctx, a[0])
			if err != nil {
				return err
			}
			if jsonOut(c) {
				return e.printJSON(res)
			}
			if res.Repo == "" { // a namespace cache: its repositories
				for i := range res.Caches {
					printPruned(e.stdout, &res.Caches[i])
				}
				if len(res.Caches) == 0 {
					fmt.Fprintf(e.stdout, "distribution %s: nothing to drop from its caches\n", res.Dist)
				}
				return nil
			}
			if len(res.Removed) == 0 {
				fmt.Fprintf(e.stdout, "distribution %s: nothing to drop from %s\n", res.Dist, res.Repo)
				return nil
			}
			printPruned(e.stdout, res)
			return nil
		}),
	}
}

// printPruned prints what a prune dropped from one repository.
func printPruned(w io.Writer, res *dist.PruneResult) {
	for _, p := range res.Removed {
		fmt.Fprintf(w, "removed %s:%s\n", res.Repo, p)
	}
	fmt.Fprintf(w, "%s@%d: %d paths dropped\n", res.Repo, res.Version, len(res.Removed))
}
