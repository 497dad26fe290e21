// Package pycli is the python kind's commands: pkgvc yank and unyank.
package pycli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/urfave/cli/v3"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/kinds/python"
	"github.com/pkgvc/pkgvc/repo"
)

// Env is how the commands run inside pkgvc's command line.
type Env interface {
	// Action returns a command's action: it checks that it has min to
	// max (-1: any) positional arguments, named by usage, opens the
	// Service the command line chose (the local store, or --server's
	// API) and runs body.
	Action(min, max int, usage string, body func(ctx context.Context, c *cli.Command, svc api.Service, args []string) error) cli.ActionFunc
	// PrintCommit prints a commit's result as the core commands do (a
	// line, or the JSON document under --json).
	PrintCommit(c *cli.Command, res *repo.CommitResult) error
	// Stdout is where commands print.
	Stdout() io.Writer
}

// Commands returns the python kind's commands.
func Commands(e Env) []*cli.Command {
	return []*cli.Command{yankCmd(e, false), yankCmd(e, true)}
}

// Yank runs req on python repository repoName through svc, as the
// python kind's yank action (python.ActionYank).
func Yank(ctx context.Context, svc api.Service, repoName string, req python.YankRequest) (*repo.CommitResult, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	return svc.RepoAction(ctx, repoName, python.Kind{}.Name(), python.ActionYank, b)
}

// yankCmd is `pkgvc yank REPO FILE [--reason R]`, or `pkgvc unyank REPO
// FILE` when unyank.
func yankCmd(e Env, unyank bool) *cli.Command {
	c := &cli.Command{
		Name:      "yank",
		Usage:     "mark a python package yanked (PEP 592) in a new version: pip skips it unless pinned to it",
		ArgsUsage: "REPO FILE",
		Description: "FILE is the package's path in the repository, or its file name. Yanking a yanked\n" +
			"file again only changes the reason; a yank that changes nothing makes no version.",
		Flags: []cli.Flag{&cli.StringFlag{Name: "reason", Usage: "why, shown to users of the file"}},
	}
	if unyank {
		c.Name, c.Usage, c.Flags = "unyank", "clear a python package's yanked mark in a new version", nil
		c.Description = "FILE is the package's path in the repository, or its file name."
	}
	c.Action = e.Action(2, 2, "REPO FILE", func(ctx context.Context, c *cli.Command, svc api.Service, a []string) error {
		req := python.YankRequest{File: a[1], Unyank: unyank}
		if !unyank {
			req.Reason = c.String("reason")
		}
		res, err := Yank(ctx, svc, a[0], req)
		if err != nil {
			return err
		}
		if !res.Changed && !c.Bool("json") {
			state := "yanked with this reason"
			if unyank {
				state = "not yanked"
			}
			fmt.Fprintf(e.Stdout(), "nothing changed: %s is already %s in %s@%d (no new version)\n", a[1], state, res.Repo, res.Version)
			return nil
		}
		return e.PrintCommit(c, res)
	})
	return c
}
