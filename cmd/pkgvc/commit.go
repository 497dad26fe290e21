package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v3"
	"golang.org/x/term"

	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/options"
	"github.com/pkgvc/pkgvc/repo"
)

func commitCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:      "commit",
		Usage:     "make a new version: add files or directories, remove paths",
		ArgsUsage: "REPO [FILE|DIR...]",
		Flags: append([]cli.Flag{
			&cli.StringSliceFlag{Name: "add", Usage: "FILE, DIR or FILE=PATH to add (repeatable)"},
			&cli.StringSliceFlag{Name: "remove", Usage: "package PATH (or directory) to remove (repeatable)"},
			&cli.StringFlag{Name: "message", Aliases: []string{"m"}, Usage: "version message"},
			&cli.StringFlag{Name: "author", Usage: "author (default $PKGVC_AUTHOR or user@host)"},
			&cli.BoolFlag{Name: "allow-empty", Usage: "make a version even if nothing changes"},
			&cli.BoolFlag{Name: "follow-symlinks", Usage: "add files that symbolic links in an added directory name outside it (refused by default)"},
		}, commitOptionFlags()...),
		Action: func(ctx context.Context, c *cli.Command) error {
			a, err := args(c, 1, -1, "REPO [--add FILE|DIR|FILE=PATH]... [--remove PATH]... [-m MSG] [FILE|DIR...]")
			if err != nil {
				return err
			}
			req := repo.CommitRequest{
				Removes: c.StringSlice("remove"), Message: c.String("message"),
				Author: c.String("author"), AllowEmpty: c.Bool("allow-empty"),
				Options: commitOptions(c),
			}
			var addOpts []repo.AddOption
			if c.Bool("follow-symlinks") {
				addOpts = append(addOpts, repo.FollowSymlinks())
			}
			for _, spec := range append(c.StringSlice("add"), a[1:]...) {
				adds, err := repo.ParseAdd(spec, addOpts...)
				if err != nil {
					return err
				}
				req.Adds = append(req.Adds, adds...)
			}
			svc, err := e.service(ctx, c)
			if err != nil {
				return err
			}
			var bar *progressbar.ProgressBar
			if !jsonOut(c) && isTerminal(os.Stdout) && len(req.Adds) > 1 {
				bar = progressbar.DefaultBytes(-1, "adding")
				req.Progress = func(done, total int64) {
					bar.ChangeMax64(total)
					_ = bar.Set64(done)
				}
			}
			res, err := svc.Commit(ctx, a[0], req)
			if bar != nil {
				_ = bar.Finish()
				fmt.Fprintln(os.Stderr)
			}
			if err != nil {
				return err
			}
			return e.printCommit(c, res)
		},
	}
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// printCommit reports a new version, or that nothing changed.
func (e *env) printCommit(c *cli.Command, res *repo.CommitResult) error {
	if jsonOut(c) {
		return e.printJSON(res)
	}
	if !res.Changed {
		if res.Version == 0 {
			fmt.Fprintf(e.stdout, "nothing to commit: %s has no versions and nothing was added\n", res.Repo)
			return nil
		}
		fmt.Fprintf(e.stdout, "nothing to commit: %s@%d %s already has this content (no new version)\n", res.Repo, res.Version, res.ID)
		return nil
	}
	fmt.Fprintf(e.stdout, "%s@%d %s\n", res.Repo, res.Version, res.ID)
	return nil
}

// commitOptionFlags are the flags of the options the kinds' commits take
// (repo.CommitOptioner), one per name, saying which kinds take it.
func commitOptionFlags() []cli.Flag {
	var flags []cli.Flag
	for _, o := range kindCommitOptions() {
		flags = append(flags, &cli.StringFlag{Name: o.Flag, Usage: strings.Join(o.Usages, "; ")})
	}
	return flags
}

// kindCommitOptions lists the kinds' commit options, each a string flag
// of its name.
func kindCommitOptions() []options.Declared {
	ks := all.Kinds()
	return options.Collect(ks.Names(), func(kind string) []options.Spec {
		k, _ := ks.Lookup(kind)
		co, ok := k.(repo.CommitOptioner)
		if !ok {
			return nil
		}
		var specs []options.Spec
		for _, o := range co.CommitOptions() {
			specs = append(specs, options.Spec{Field: o.Name, Flag: o.Name, Type: options.String, Usage: o.Usage})
		}
		return specs
	})
}

// commitOptions are the kinds' commit options c sets.
func commitOptions(c *cli.Command) map[string]string {
	var out map[string]string
	for _, o := range kindCommitOptions() {
		if c.IsSet(o.Flag) {
			if out == nil {
				out = map[string]string{}
			}
			out[o.Field] = c.String(o.Flag)
		}
	}
	return out
}
