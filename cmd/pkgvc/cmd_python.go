package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/kinds/python"
)

// kindCmds are the commands content kinds bring beside the core ones.
func kindCmds(e *env) []*cli.Command {
	return pythonCmds(e)
}

// pythonCmds are the python kind's commands.
func pythonCmds(e *env) []*cli.Command {
	return []*cli.Command{yankCmd(e, false), yankCmd(e, true)}
}

// yankCmd is `pkgvc yank REPO FILE [--reason R]`, or `pkgvc unyank REPO
// FILE` when unyank.
func yankCmd(e *env, unyank bool) *cli.Command {
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
	c.Action = e.action(2, 2, "REPO FILE", func(ctx context.Context, c *cli.Command, svc api.Service, a []string) error {
		req := python.YankRequest{File: a[1], Unyank: unyank}
		if !unyank {
			req.Reason = c.String("reason")
		}
		res, err := svc.Yank(ctx, a[0], req)
		if err != nil {
			return err
		}
		if !res.Changed && !jsonOut(c) {
			state := "yanked with this reason"
			if unyank {
				state = "not yanked"
			}
			fmt.Fprintf(e.stdout, "nothing changed: %s is already %s in %s@%d (no new version)\n", a[1], state, res.Repo, res.Version)
			return nil
		}
		return e.printCommit(c, res)
	})
	return c
}
