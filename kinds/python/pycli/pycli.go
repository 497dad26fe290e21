// Package pycli is the python kind's commands: pkgvc yank and unyank.
package pycli

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v3"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/kinds/kindcli"
	"github.com/pkgvc/pkgvc/kinds/python"
	"github.com/pkgvc/pkgvc/repo"
)

// Commands returns the python kind's commands.
func Commands(e kindcli.Env) []*cli.Command {
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
func yankCmd(e kindcli.Env, unyank bool) *cli.Command {
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
		if !res.Changed && !kindcli.JSON(c) {
			state := "yanked with this reason"
			if unyank {
				state = "not yanked"
			}
			fmt.Fprintf(e.Stdout, "nothing changed: %s is already %s in %s@%d (no new version)\n", a[1], state, res.Repo, res.Version)
			return nil
		}
		return e.PrintCommit(c, res)
	})
	return c
}
