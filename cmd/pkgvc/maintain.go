package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/urfave/cli/v3"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/api/wire"
	"github.com/pkgvc/pkgvc/repo"
)

func gcCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:  "gc",
		Usage: "delete objects no ref reaches (older than the grace period)",
		Flags: []cli.Flag{
			&cli.DurationFlag{Name: "grace", Value: repo.DefaultGrace, Usage: "never delete objects younger than this"},
			&cli.BoolFlag{Name: "dry-run", Usage: "report what would be deleted"},
			noWaitFlag(),
		},
		Action: e.action(0, 0, "[--grace DURATION] [--dry-run] [--no-wait]", func(ctx context.Context, c *cli.Command, svc api.Service, _ []string) error {
			if c.Bool("no-wait") {
				req := api.TaskRequest{Op: "gc"}
				if c.IsSet("grace") {
					req.Args = append(req.Args, "--grace", c.Duration("grace").String())
				}
				if c.Bool("dry-run") {
					req.Args = append(req.Args, "--dry-run")
				}
				return e.startTask(ctx, c, svc, req)
			}
			grace := c.Duration("grace")
			if grace == 0 {
				grace = -1 // an explicit 0 means no grace
			}
			res, err := svc.GC(ctx, repo.GCOptions{Grace: grace, DryRun: c.Bool("dry-run")})
			if err != nil {
				return err
			}
			if jsonOut(c) {
				return e.printJSON(res)
			}
			verb := "deleted"
			if c.Bool("dry-run") {
				verb = "would delete"
			}
			fmt.Fprintf(e.stdout, "%s %d objects and %d blobs (%d bytes); kept %d reachable objects, %d blobs and %d young unreachable\n",
				verb, res.DeletedObjects, res.DeletedBlobs, res.FreedBytes, res.ReachableObjects, res.ReachableBlobs, res.KeptYoung)
			return nil
		}),
	}
}

func fsckCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:  "fsck",
		Usage: "verify every reachable version, tree object and blob",
		Flags: []cli.Flag{noWaitFlag(),
			&cli.BoolFlag{Name: "repair", Usage: "fetch damaged or missing blobs again from the remotes that offer them, then verify again"},
		},
		Action: e.action(0, 0, "[--repair] [--no-wait]", func(ctx context.Context, c *cli.Command, svc api.Service, _ []string) error {
			o := api.FsckOptions{Repair: c.Bool("repair")}
			if c.Bool("no-wait") {
				return e.startTask(ctx, c, svc, wire.FsckTask(o))
			}
			res, err := svc.Fsck(ctx, o)
			if res != nil && jsonOut(c) {
				if perr := e.printJSON(res); perr != nil {
					return perr
				}
			} else if res != nil {
				for _, p := range res.Repaired {
					fmt.Fprintf(e.stdout, "repaired: %s\n", p)
				}
				for _, p := range res.Unrepaired {
					fmt.Fprintf(e.stderr, "could not repair: %s\n", p)
				}
				for _, p := range res.Problems {
					fmt.Fprintf(e.stderr, "problem: %s\n", p)
				}
				if err == nil {
					fmt.Fprintf(e.stdout, "ok: %d objects, %d blobs (%d bytes) verified\n", res.Objects, res.Blobs, res.Bytes)
				}
			}
			if errors.Is(err, repo.ErrCorrupt) {
				if o.Repair {
					return fmt.Errorf("%w; commit the files it could not repair again, or roll back past the versions that need them", err)
				}
				return fmt.Errorf("%w; fsck --repair fetches damaged blobs again from the remotes that offer them; commit the others again, or roll back past the versions that need them", err)
			}
			return err
		}),
	}
}
