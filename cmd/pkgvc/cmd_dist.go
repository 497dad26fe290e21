package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/urfave/cli/v3"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/options"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
)

func distCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:  "dist",
		Usage: "distributions: serve a repository's latest version, or a pinned one, at a base path",
		Commands: []*cli.Command{
			distCreateCmd(e), distListCmd(e), distShowCmd(e), distUpdateCmd(e), distDeleteCmd(e), distPruneCmd(e),
		},
	}
}

// distFlags are the settings of create and update.
func distFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: "base-path", Usage: "URL path it is served at, '/'-separated segments (e.g. test/img)"},
		&cli.StringFlag{Name: "repo", Usage: "follow this repository's latest version"},
		&cli.StringFlag{Name: "version", Usage: "pin this revision (REPO@N, an id, ...)"},
		&cli.StringFlag{Name: "remote", Usage: "remote to pull missing content through"},
		&cli.BoolFlag{Name: "private", Usage: "require authentication to read (--private=false to open)"},
		&cli.DurationFlag{Name: "pull-through-ttl", Usage: "with --remote: serve a pulled container tag this long before asking the remote again", DefaultText: content.DefaultPullThroughTTL.String()},
	}, distOptionFlags()...)
}

// distKindOptions are the settings the kinds give their distributions:
// one flag each, whose help says what it means for each kind.
func distKindOptions() []remote.DeclaredOption {
	ks := all.Kinds()
	return options.Collect(ks.Names(), func(kind string) []options.Spec {
		k, _ := ks.Lookup(kind)
		if od, ok := k.(dist.OptionDeclarer); ok {
			return od.DistOptions()
		}
		return nil
	})
}

func distOptionFlags() []cli.Flag {
	var flags []cli.Flag
	for _, o := range distKindOptions() {
		flags = append(flags, flagOf(o))
	}
	return flags
}

// distOptions reads the kinds' distribution settings given on the
// command line (a list flag given empty clears its setting).
func distOptions(c *cli.Command) (options.Values, error) {
	var out options.Values
	for _, o := range distKindOptions() {
		if !c.IsSet(o.Flag) {
			continue
		}
		v, err := flagValue(c, flagOf(o))
		if err != nil {
			return nil, err
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = options.Values{}
		}
		out[o.Field] = raw
	}
	return out, nil
}

// distSpec reads the create/update flags.
func distSpec(c *cli.Command) (dist.DistSpec, error) {
	spec := dist.DistSpec{
		BasePath: c.String("base-path"), Repo: c.String("repo"),
		Version: c.String("version"), Remote: c.String("remote"),
	}
	if spec.Repo != "" && spec.Version != "" {
		return spec, usagef("give --repo REPO (follow its latest version) or --version REV (pin one), not both")
	}
	if c.IsSet("private") {
		p := c.Bool("private")
		spec.Private = &p
	}
	if c.IsSet("pull-through-ttl") {
		ttl := c.Duration("pull-through-ttl")
		if ttl <= 0 {
			return spec, usagef("--pull-through-ttl: give a positive duration, as in 5m")
		}
		spec.PullThroughTTL = &ttl
	}
	var err error
	spec.Options, err = distOptions(c)
	return spec, err
}

func distCreateCmd(e *env) *cli.Command {
	const usage = "NAME --base-path PATH (--repo REPO | --version REV | --remote NAMESPACE-REMOTE) [--remote NAME] [--private]"
	return &cli.Command{
		Name:      "create",
		Usage:     "create a distribution",
		ArgsUsage: "NAME",
		Flags:     distFlags(),
		Action: func(ctx context.Context, c *cli.Command) error {
			a, err := args(c, 1, 1, usage)
			if err != nil {
				return err
			}
			spec, err := distSpec(c)
			if err != nil {
				return err
			}
			if spec.BasePath == "" || (spec.Repo == "" && spec.Version == "" && spec.Remote == "") {
				return usagef("usage: pkgvc dist create %s", usage)
			}
			base, err := publicURL(c)
			if err != nil {
				return err
			}
			svc, err := e.service(ctx, c)
			if err != nil {
				return err
			}
			d, err := svc.CreateDist(ctx, a[0], spec)
			if err != nil {
				return err
			}
			acc := content.ClientAccess(d, base, all.Kinds())
			if jsonOut(c) {
				return e.printJSON(distCreated{Distribution: *d, Access: acc})
			}
			fmt.Fprintf(e.stdout, "created distribution %s at %s: %s\n", d.Name, rootedPath(d.BasePath), serves(d))
			fmt.Fprintf(e.stdout, "clients use it with: %s\n", acc.Use)
			return nil
		},
	}
}

// serves says what a distribution serves, in words.
func serves(d *dist.Distribution) string {
	if d.Namespace() {
		return "caches every project of remote " + d.Remote + " under it, each in a repository of its own made on first pull"
	}
	if d.Repo != "" {
		return "follows repository " + d.Repo
	}
	return "pins version " + d.Version.String()
}

func distListCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list distributions",
		Action: e.action(0, 0, "", func(ctx context.Context, c *cli.Command, svc api.Service, _ []string) error {
			ds, err := svc.ListDists(ctx)
			if err != nil {
				return err
			}
			if jsonOut(c) {
				return e.printJSON(ds)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tBASE PATH\tSERVES\tKIND\tREMOTE\tPRIVATE")
			for i := range ds {
				d := &ds[i]
				target := d.Repo
				switch {
				case d.Namespace():
					target = "(namespace of " + d.Remote + ")"
				case target == "":
					target = "@" + d.Version.String()[:12]
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.Name, d.BasePath, target, d.Kind, dash(d.Remote), yesNo(d.Private))
			}
			return tw.Flush()
		}),
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// distCreated is the --json shape of dist create: the document and how
// clients use it.
type distCreated struct {
	dist.Distribution
	content.Access
}

// distShow is the --json shape of dist show: the document, how clients use
// it and the version it serves now (null if none).
type distShow struct {
	dist.Distribution
	content.Access
	Serving *repo.Version `json:"serving"`
}

func distShowCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:      "show",
		Usage:     "describe a distribution and the version it serves now",
		ArgsUsage: "NAME",
		Action: e.action(1, 1, "NAME", func(ctx context.Context, c *cli.Command, svc api.Service, a []string) error {
			base, err := publicURL(c)
			if err != nil {
				return err
			}
			d, err := svc.ShowDist(ctx, a[0])
			if err != nil {
				return err
			}
			acc := content.ClientAccess(d, base, all.Kinds())
			if d.Namespace() {
				return e.showNamespace(ctx, c, svc, d, acc)
			}
			v, rerr := serving(ctx, svc, d)
			if rerr != nil && !errors.Is(rerr, repo.ErrNotFound) {
				return rerr
			}
			if jsonOut(c) {
				return e.printJSON(distShow{Distribution: *d, Access: acc, Serving: v})
			}
			printDist(e.stdout, d)
			printAccess(e.stdout, acc)
			switch {
			case rerr != nil:
				fmt.Fprintf(e.stdout, "serving:   nothing (%s)\n", oneLine(rerr.Error()))
			case v == nil:
				fmt.Fprintf(e.stdout, "serving:   nothing yet (%s has no versions)\n", d.Repo)
			case v.Repo == "":
				fmt.Fprintf(e.stdout, "serving:   %s (version %d)\n", v.ID, v.Number)
			default:
				fmt.Fprintf(e.stdout, "serving:   %s %s\n", v, v.ID)
			}
			return nil
		}),
	}
}

// serving returns the version d serves now, or nil if it follows a
// repository with no versions yet.
func serving(ctx context.Context, svc api.Service, d *dist.Distribution) (*repo.Version, error) {
	if d.Repo == "" {
		log, err := svc.Log(ctx, d.Version.String(), 1)
		if err != nil || len(log) == 0 {
			return nil, err
		}
		return &log[0].Version, nil
	}
	info, err := svc.ShowRepo(ctx, d.Repo)
	if err != nil {
		return nil, err
	}
	return info.Head, nil
}

// printAccess prints where a distribution is and how clients use it.
func printAccess(w io.Writer, acc content.Access) {
	fmt.Fprintf(w, "url:       %s\n", acc.URL)
	for _, line := range acc.Instructions {
		fmt.Fprintf(w, "use:       %s\n", line)
	}
}

func printDist(w io.Writer, d *dist.Distribution) {
	fmt.Fprintf(w, "name:      %s\nbase path: %s\n", d.Name, d.BasePath)
	switch {
	case d.Namespace():
		fmt.Fprintf(w, "caches:    every project of remote %s under %s, each in a repository of its own\n", d.Remote, d.BasePath)
	case d.Repo != "":
		fmt.Fprintf(w, "follows:   %s\n", d.Repo)
	default:
		fmt.Fprintf(w, "pins:      %s\n", d.Version)
	}
	fmt.Fprintf(w, "kind:      %s\nremote:    %s\nprivate:   %s\n", d.Kind, dash(d.Remote), yesNo(d.Private))
	for _, o := range distKindOptions() {
		if slices.Contains(o.Kinds, d.Kind) {
			fmt.Fprintf(w, "%-10s %s\n", o.Flag+":", optionText(d.Options[o.Field], o.Spec))
		}
	}
	fmt.Fprintf(w, "created:   %s\n", d.Created.Format("2006-01-02 15:04:05Z07:00"))
}

func distUpdateCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:      "update",
		Usage:     "change a distribution's base path, target, remote or privacy",
		ArgsUsage: "NAME",
		Flags:     distFlags(),
		Action: func(ctx context.Context, c *cli.Command) error {
			a, err := args(c, 1, 1, "NAME [--base-path PATH] [--repo REPO | --version REV] [--remote NAME] [--private[=false]]")
			if err != nil {
				return err
			}
			spec, err := distSpec(c)
			if err != nil {
				return err
			}
			svc, err := e.service(ctx, c)
			if err != nil {
				return err
			}
			d, err := svc.UpdateDist(ctx, a[0], spec)
			if err != nil {
				return err
			}
			if jsonOut(c) {
				return e.printJSON(d)
			}
			fmt.Fprintf(e.stdout, "updated distribution %s at %s: %s\n", d.Name, rootedPath(d.BasePath), serves(d))
			return nil
		},
	}
}

func distDeleteCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:      "delete",
		Usage:     "delete a distribution (the content stays in its repository)",
		ArgsUsage: "NAME",
		Action: e.action(1, 1, "NAME", func(ctx context.Context, c *cli.Command, svc api.Service, a []string) error {
			if err := svc.DeleteDist(ctx, a[0]); err != nil {
				return err
			}
			if jsonOut(c) {
				return e.printJSON(map[string]string{"deleted": a[0]})
			}
			fmt.Fprintf(e.stdout, "deleted distribution %s\n", a[0])
			return nil
		}),
	}
}
