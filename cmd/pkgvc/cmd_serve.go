package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"

	"github.com/urfave/cli/v3"

	"github.com/pkgvc/pkgvc/publish"
	puball "github.com/pkgvc/pkgvc/publish/all"
	"github.com/pkgvc/pkgvc/publish/httplog"
	"github.com/pkgvc/pkgvc/repo"
)

func serveCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "serve every distribution over HTTP at /content/<base-path>/ until SIGINT or SIGTERM",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:8080", Usage: "address to listen on"},
			&cli.StringFlag{Name: "access-log", Usage: "append access logs (JSON lines) to `FILE` instead of stderr"},
		},
		Action: func(ctx context.Context, c *cli.Command) error {
			if _, err := args(c, 0, 0, "[--listen ADDR] [--access-log FILE]"); err != nil {
				return err
			}
			st, err := e.store(ctx, c)
			if err != nil {
				return err
			}
			var out io.Writer = e.stderr
			if p := c.String("access-log"); p != "" {
				f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
				if err != nil {
					return fmt.Errorf("access log: %w", err)
				}
				defer f.Close()
				out = f
			}
			if os.Getenv("GOGC") == "" {
				// The live heap of a content server is small (caches of
				// immutable objects) and each request allocates a little:
				// collecting less often saves about a tenth of its CPU.
				debug.SetGCPercent(400)
			}
			alog := httplog.New(out)
			errlog := slog.New(slog.NewJSONHandler(e.stderr, nil))
			mgr, err := e.remotes(ctx, c)
			if err != nil {
				return err
			}
			opts := []publish.ServerOption{publish.WithLogger(errlog), publish.WithFetcher(mgr.FetchBlob)}
			dir := c.String("store")
			if dir == "" {
				dir = "pkgvc-data"
			}
			if w, err := repo.WatchRefs(dir); err == nil {
				defer w.Close()
				opts = append(opts, publish.WithRefsWatch(w))
			} else {
				errlog.Warn("serve: looking refs up at every request", "err", err)
			}
			srv := publish.NewServer(st, publish.NewDists(st), publish.NewPublications(st, puball.Registry(), 16), opts...)
			err = publish.ListenAndServe(ctx, c.String("listen"), alog.Middleware(srv), errlog, func(a net.Addr) {
				fmt.Fprintf(e.stdout, "serving distributions at http://%s%s<base-path>/\n", a, publish.ContentPrefix)
			})
			return errors.Join(err, alog.Close())
		},
	}
}
