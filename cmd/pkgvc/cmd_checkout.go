package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"

	"github.com/pkgvc/pkgvc/api"
)

func checkoutCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:      "checkout",
		Usage:     "write the version a distribution serves into DIR as plain files, for any web server",
		ArgsUsage: "DIST DIR",
		Description: "DIR becomes a symbolic link to DIR.pkgvc/a or DIR.pkgvc/b and is replaced atomically:\n" +
			"readers never see a half-written tree. Only the files that changed are written; raw\n" +
			"blobs are cloned from the store (copy-on-write) where the file system can, else copied.\n" +
			"With --link they are hard-linked instead: faster, but then a checked-out file IS the\n" +
			"store's blob, and root writing into it changes the package in every version holding it.\n" +
			"Through --server, DIR is on this machine: the served version's packages are downloaded\n" +
			"into DIR.pkgvc/store (only those the last checkout did not have) and written from there.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "link", Usage: "hard-link packages from the store (faster; writing into a checked-out file then changes the store)"},
		},
		Action: e.action(2, 2, "DIST DIR", func(ctx context.Context, c *cli.Command, svc api.Service, a []string) error {
			res, err := svc.Checkout(ctx, a[0], a[1], api.CheckoutOptions{Link: c.Bool("link")})
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
			fmt.Fprintf(e.stdout, "checked out %s (%s %s) into %s: %d file(s) written (%d hard links, %d clones), %d removed\n",
				res.Dist, res.Version, res.Version.ID, a[1], res.Written, res.Linked, res.Cloned, res.Removed)
			return nil
		}),
	}
}
