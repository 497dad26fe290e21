package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v3"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/repo"
)

func repoCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:  "repo",
		Usage: "create, list, show and delete repositories",
		Commands: []*cli.Command{
			repoCreateCmd(e), repoListCmd(e), repoShowCmd(e), repoDeleteCmd(e),
		},
	}
}

func repoCreateCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:      "create",
		Usage:     "create an empty repository",
		ArgsUsage: "NAME",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "kind", Value: all.Default, Usage: "content kind: " + orList(all.Kinds().Names())},
			&cli.IntFlag{Name: "retain", Usage: "keep only the last N versions (0 keeps all)"},
		},
		Action: e.checkedAction(1, 1, "NAME [--kind KIND] [--retain N]", func(c *cli.Command, _ []string) error {
			// Checked here too, so that a mistyped kind makes no store;
			// a server knows its own kinds.
			if kinds := all.Kinds().Names(); c.String("server") == "" && !slices.Contains(kinds, c.String("kind")) {
				return failf(repo.ErrInvalid, "unknown content kind %q: give --kind %s", c.String("kind"), orList(kinds))
			}
			return nil
		}, func(ctx context.Context, c *cli.Command, svc api.Service, a []string) error {
			cfg, err := svc.CreateRepo(ctx, a[0], repo.CreateOptions{Kind: c.String("kind"), Retain: int(c.Int("retain"))})
			if err != nil {
				return err
			}
			if jsonOut(c) {
				return e.printJSON(cfg)
			}
			fmt.Fprintf(e.stdout, "created repository %s (kind %s)\n", cfg.Name, cfg.Kind)
			return nil
		}),
	}
}

func repoListCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list repositories",
		Action: e.action(0, 0, "", func(ctx context.Context, c *cli.Command, svc api.Service, _ []string) error {
			infos, err := svc.ListRepos(ctx)
			if err != nil {
				return err
			}
			if jsonOut(c) {
				return e.printJSON(infos)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tKIND\tVERSION\tPACKAGES\tRETAIN\tCACHES")
			for _, i := range infos {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", i.Name, i.Kind, headName(i.Head), i.Packages, retainText(i.Retain), cachesText(i.Upstream))
			}
			return tw.Flush()
		}),
	}
}

// orList joins names as "a, b or c".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

func headName(v *repo.Version) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("@%d", v.Number)
}

// cachesText says what a namespace cache made a repository for.
func cachesText(u *repo.Upstream) string {
	if u == nil {
		return "-"
	}
	return u.Name + " (remote " + u.Remote + ", dist " + u.Dist + ")"
}

func retainText(n int) string {
	if n == 0 {
		return "all"
	}
	return fmt.Sprint(n)
}

func repoShowCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:      "show",
		Usage:     "describe a repository",
		ArgsUsage: "NAME",
		Action: e.action(1, 1, "NAME", func(ctx context.Context, c *cli.Command, svc api.Service, a []string) error {
			info, err := svc.ShowRepo(ctx, a[0])
			if err != nil {
				return err
			}
			if jsonOut(c) {
				return e.printJSON(info)
			}
			fmt.Fprintf(e.stdout, "name:     %s\nkind:     %s\nretain:   %s\ncreated:  %s\n", info.Name, info.Kind, retainText(info.Retain), info.Created.Format("2006-01-02 15:04:05Z07:00"))
			if u := info.Upstream; u != nil {
				fmt.Fprintf(e.stdout, "caches:   %s of remote %s, for distribution %s\n", u.Name, u.Remote, u.Dist)
			}
			if info.Head == nil {
				fmt.Fprintln(e.stdout, "head:     (no versions yet)")
				return nil
			}
			fmt.Fprintf(e.stdout, "head:     %s %s\npackages: %d\n", info.Head, info.Head.ID, info.Packages)
			return nil
		}),
	}
}

func repoDeleteCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:      "delete",
		Usage:     "delete a repository (its versions become collectable by gc)",
		ArgsUsage: "NAME",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force", Usage: "delete even while distributions follow it"},
		},
		Action: e.action(1, 1, "NAME [--force]", func(ctx context.Context, c *cli.Command, svc api.Service, a []string) error {
			if err := svc.DeleteRepo(ctx, a[0], c.Bool("force")); err != nil {
				return err
			}
			if jsonOut(c) {
				return e.printJSON(map[string]string{"deleted": a[0]})
			}
			fmt.Fprintf(e.stdout, "deleted repository %s\n", a[0])
			return nil
		}),
	}
}
