package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/repo"
)

func promoteCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:      "promote",
		Usage:     "fast-forward DST to SRC's head; several SRC:DST pairs move atomically",
		ArgsUsage: "SRC DST | SRC:DST...",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force", Usage: "reset DST to SRC even if DST has versions SRC lacks"},
			&cli.StringSliceFlag{Name: "only", Usage: "copy only packages matching GLOB or PATH into a new DST version (repeatable)"},
		},
		Action: func(ctx context.Context, c *cli.Command) error {
			a, err := args(c, 1, -1, "SRC DST | SRC:DST... [--force] [--only GLOB]...")
			if err != nil {
				return err
			}
			pairs, err := parsePairs(a)
			if err != nil {
				return err
			}
			svc, err := e.service(ctx, c)
			if err != nil {
				return err
			}
			res, err := svc.Promote(ctx, pairs, repo.PromoteOptions{Force: c.Bool("force"), Only: c.StringSlice("only")})
			if err != nil {
				return err
			}
			if jsonOut(c) {
				return e.printJSON(res)
			}
			for _, r := range res {
				if !r.Moved {
					fmt.Fprintf(e.stdout, "%s: already at %s (%s@%d)\n", r.Dst, r.Src, r.Dst, r.Version)
					continue
				}
				fmt.Fprintf(e.stdout, "%s: %s %s -> %s (%s@%d)\n", r.Dst, r.Mode, shortID(r.From.String()), shortID(r.To.String()), r.Dst, r.Version)
			}
			return nil
		},
	}
}

// parsePairs reads "SRC DST" or a list of "SRC:DST".
func parsePairs(a []string) ([]repo.Pair, error) {
	if len(a) == 2 && !strings.Contains(a[0], ":") && !strings.Contains(a[1], ":") {
		return []repo.Pair{{Src: a[0], Dst: a[1]}}, nil
	}
	var out []repo.Pair
	for _, p := range a {
		src, dst, ok := strings.Cut(p, ":")
		if !ok || src == "" || dst == "" {
			return nil, usagef("usage: pkgvc promote SRC DST | SRC:DST...: %q is not SRC:DST", p)
		}
		out = append(out, repo.Pair{Src: src, Dst: dst})
	}
	return out, nil
}

func rollbackCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:      "rollback",
		Usage:     "make a new version of REPO with REV's content",
		ArgsUsage: "REPO REV",
		Action: e.action(2, 2, "REPO REV", func(ctx context.Context, c *cli.Command, svc api.Service, a []string) error {
			res, err := svc.Rollback(ctx, a[0], a[1])
			if err != nil {
				return err
			}
			return e.printCommit(c, res)
		}),
	}
}
