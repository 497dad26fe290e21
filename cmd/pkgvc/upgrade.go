package main

import (
	"context"
	"fmt"
	"sort"

	"github.com/urfave/cli/v3"

	"github.com/pkgvc/pkgvc/app"
	"github.com/pkgvc/pkgvc/repo"
)

func upgradeCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:  "upgrade",
		Usage: "convert the store to the format this pkgvc writes (stop other pkgvc processes on it first)",
		Action: func(ctx context.Context, c *cli.Command) error {
			if _, err := args(c, 0, 0, ""); err != nil {
				return err
			}
			if c.String("server") != "" {
				return usagef("pkgvc upgrade works on a local store (--store DIR); it cannot run through --server")
			}
			rep, fixed, err := app.Upgrade(ctx, storeLocation(c))
			if err != nil {
				return err
			}
			if jsonOut(c) {
				return e.printJSON(struct {
					*repo.UpgradeReport
					KindsFixed []string `json:"distribution_kinds_fixed"`
				}{rep, fixed})
			}
			if rep.From == rep.To {
				fmt.Fprintf(e.stdout, "%s is in store format %d already: nothing to do\n", rep.Dir, rep.To)
				return nil
			}
			kinds := make([]string, 0, len(rep.Documents))
			for k := range rep.Documents {
				kinds = append(kinds, k)
			}
			sort.Strings(kinds)
			for _, k := range kinds {
				fmt.Fprintf(e.stdout, "moved %d %s document(s) into the metadata store\n", rep.Documents[k], k)
			}
			if rep.Pins > 0 {
				fmt.Fprintf(e.stdout, "moved %d distribution pin(s) into the metadata store\n", rep.Pins)
			}
			fmt.Fprintf(e.stdout, "deleted %d ref(s) under config/ and dists/\n", rep.RefsDeleted)
			fmt.Fprintf(e.stdout, "recorded the kind of %d version(s)\n", rep.VersionKinds)
			for _, name := range fixed {
				fmt.Fprintf(e.stdout, "distribution %s: its kind is now its pinned version's\n", name)
			}
			fmt.Fprintf(e.stdout, "upgraded %s from store format %d to %d\n", rep.Dir, rep.From, rep.To)
			return nil
		},
	}
}
