package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/repo"
)

func logCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:      "log",
		Usage:     "list the versions of a repository, newest first",
		ArgsUsage: "REV",
		Flags:     []cli.Flag{&cli.IntFlag{Name: "max-count", Aliases: []string{"n"}, Usage: "show at most N versions"}},
		Action: e.action(1, 1, "REV", func(ctx context.Context, c *cli.Command, svc api.Service, a []string) error {
			entries, err := svc.Log(ctx, a[0], int(c.Int("max-count")))
			if err != nil {
				return err
			}
			if jsonOut(c) {
				return e.printJSON(entries)
			}
			for _, v := range entries {
				fmt.Fprintf(e.stdout, "%s %s\n", v.Version.String(), v.ID)
				fmt.Fprintf(e.stdout, "Author: %s\nDate:   %s\n\n", v.Author, v.Time.Local().Format(time.RFC1123Z))
				for _, l := range strings.Split(v.Message, "\n") {
					fmt.Fprintf(e.stdout, "    %s\n", l)
				}
				fmt.Fprintln(e.stdout)
				if v.Shallow {
					fmt.Fprintf(e.stdout, "(shallow: versions before %s were pruned by retention)\n", v.Version.String())
				}
			}
			return nil
		}),
	}
}

func lsCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:      "ls",
		Usage:     "list the packages of a version, or those whose path starts with PREFIX",
		ArgsUsage: "REV [PREFIX]",
		Description: "PREFIX is a string prefix of the path: \"d7/\" lists the directory d7,\n" +
			"\"d7\" also lists d70/x and d7.txt. Only the part of the version that\n" +
			"PREFIX names is read.",
		Action: e.action(1, 2, "REV [PREFIX]", func(ctx context.Context, c *cli.Command, svc api.Service, a []string) error {
			var o repo.ListOptions
			if len(a) > 1 {
				o.Prefix = a[1]
			}
			recs, _, err := svc.ListPage(ctx, a[0], o)
			if err != nil {
				return err
			}
			if jsonOut(c) {
				if recs == nil {
					recs = []repo.Record{}
				}
				for i := range recs {
					if recs[i].Metadata == nil {
						recs[i].Metadata = map[string]string{}
					}
				}
				return e.printJSON(recs)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
			for _, r := range recs {
				fmt.Fprintf(tw, "%s\t%d\t %s\n", r.SHA256, r.Size, r.Path)
			}
			return tw.Flush()
		}),
	}
}

func catCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:      "cat",
		Usage:     "write a package's content to stdout, verifying its digest",
		ArgsUsage: "REV PATH",
		Action: e.action(2, 2, "REV PATH", func(ctx context.Context, c *cli.Command, svc api.Service, a []string) error {
			r, _, err := svc.Cat(ctx, a[0], a[1])
			if err != nil {
				return err
			}
			defer r.Close()
			_, err = io.Copy(e.stdout, r)
			return err
		}),
	}
}

func reflogCmd(e *env) *cli.Command {
	list := e.action(1, 1, "NAME", func(ctx context.Context, c *cli.Command, svc api.Service, a []string) error {
		entries, err := svc.Reflog(ctx, a[0])
		if err != nil {
			return err
		}
		if jsonOut(c) {
			return e.printJSON(entries)
		}
		for i, r := range entries {
			fmt.Fprintf(e.stdout, "%s@{%d}: %s -> %s  %s  %s  %s\n", a[0], i, shortID(r.Old.String()), shortID(r.New.String()),
				r.Time.Local().Format("2006-01-02 15:04:05"), r.Who, r.Action)
		}
		return nil
	})
	return &cli.Command{
		Name:      "reflog",
		Usage:     "list the moves of a repository's head, newest first",
		ArgsUsage: "NAME",
		Commands: []*cli.Command{
			// As git's: `reflog show NAME` also lists one named expire or show.
			{Name: "show", Usage: "list the moves of a repository's head, newest first (as pkgvc reflog NAME)", ArgsUsage: "NAME", Action: list},
			reflogExpireCmd(e),
		},
		Action: list,
	}
}

func reflogExpireCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:  "expire",
		Usage: "delete the reflog entries older than a lifetime, of every ref; gc then collects the versions only they kept",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "older-than", Usage: "delete entries older than this: 90d, 12h, 30m"},
		},
		Action: e.checkedAction(0, 0, "--older-than DURATION", func(c *cli.Command, _ []string) error {
			_, err := olderThan(c)
			return err
		}, func(ctx context.Context, c *cli.Command, svc api.Service, _ []string) error {
			d, err := olderThan(c)
			if err != nil {
				return err
			}
			res, err := svc.ReflogExpire(ctx, time.Now().Add(-d))
			if err != nil {
				return err
			}
			if jsonOut(c) {
				return e.printJSON(res)
			}
			fmt.Fprintf(e.stdout, "removed %d reflog entries older than %s\n", res.Removed, res.OlderThan.Local().Format("2006-01-02 15:04:05"))
			return nil
		}),
	}
}

// olderThan is reflog expire's --older-than, which it needs.
func olderThan(c *cli.Command) (time.Duration, error) {
	if !c.IsSet("older-than") {
		return 0, usagef("give --older-than, such as --older-than 90d")
	}
	return parseLifetime("--older-than", c.String("older-than"))
}

func shortID(s string) string {
	if s == "" {
		return "(none)      "
	}
	return s[:12]
}

func diffCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:      "diff",
		Usage:     "list paths added, removed and changed between two versions",
		ArgsUsage: "REV REV",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "by-package", Usage: "list packages (python projects, container tags) whose versions differ instead of paths"},
		},
		Action: e.action(2, 2, "REV REV [--by-package]", func(ctx context.Context, c *cli.Command, svc api.Service, a []string) error {
			if c.Bool("by-package") {
				d, err := svc.DiffPackages(ctx, a[0], a[1])
				if err != nil {
					return err
				}
				if jsonOut(c) {
					return e.printJSON(d)
				}
				printPackageDiff(e.stdout, d)
				return nil
			}
			d, err := svc.Diff(ctx, a[0], a[1])
			if err != nil {
				return err
			}
			if jsonOut(c) {
				return e.printJSON(d)
			}
			printDiff(e.stdout, d)
			return nil
		}),
	}
}

// printPackageDiff prints one line per package: A NAME VERSIONS, D NAME
// VERSIONS, M NAME FROM -> TO.
func printPackageDiff(w io.Writer, d *repo.PackageDiff) {
	vs := func(v []string) string { return strings.Join(v, ",") }
	for _, p := range d.Added {
		fmt.Fprintf(w, "A\t%s\t%s\n", p.Name, vs(p.To))
	}
	for _, p := range d.Removed {
		fmt.Fprintf(w, "D\t%s\t%s\n", p.Name, vs(p.From))
	}
	for _, p := range d.Changed {
		fmt.Fprintf(w, "M\t%s\t%s -> %s\n", p.Name, vs(p.From), vs(p.To))
	}
}

func printDiff(w io.Writer, d *repo.DiffResult) {
	for _, p := range d.Added {
		fmt.Fprintf(w, "A\t%s\n", p)
	}
	for _, p := range d.Removed {
		fmt.Fprintf(w, "D\t%s\n", p)
	}
	for _, p := range d.Changed {
		fmt.Fprintf(w, "M\t%s\n", p)
	}
}
