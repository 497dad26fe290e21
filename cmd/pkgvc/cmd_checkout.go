package main

import (
	"context"
	"fmt"
	"io"

	"github.com/urfave/cli/v3"

	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/publish/all"
	"github.com/pkgvc/pkgvc/repo"
)

func checkoutCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:      "checkout",
		Usage:     "write the version a distribution serves into DIR as plain files, for any web server",
		ArgsUsage: "DIST DIR",
		Description: "DIR becomes a symbolic link to DIR.pkgvc/a or DIR.pkgvc/b and is replaced atomically:\n" +
			"readers never see a half-written tree. Only the files that changed are written; raw\n" +
			"blobs are hard-linked from the store when it is on the same file system.",
		Action: func(ctx context.Context, c *cli.Command) error {
			a, err := args(c, 2, 2, "DIST DIR")
			if err != nil {
				return err
			}
			l, err := e.local(ctx, c)
			if err != nil {
				return err
			}
			rm := l.Remotes()
			res, err := l.Dists().Checkout(ctx, a[0], a[1], publish.CheckoutOptions{
				Publishers: all.Registry(),
				// On-demand packages are fetched from their remote now.
				Fetch: func(ctx context.Context, r repo.Record) error { return rm.FetchBlob(ctx, r, io.Discard) },
			})
			if err != nil {
				return err
			}
			if jsonOut(c) {
				return e.printJSON(res)
			}
			if res.UpToDate {
				fmt.Fprintf(e.stdout, "%s already holds %s %s\n", a[1], res.Version, res.Version.ID)
				return nil
			}
			fmt.Fprintf(e.stdout, "checked out %s (%s %s) into %s: %d file(s) written (%d hard links), %d removed\n",
				res.Dist, res.Version, res.Version.ID, a[1], res.Written, res.Linked, res.Removed)
			return nil
		},
	}
}
