package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/urfave/cli/v3"

	"github.com/pkgvc/pkgvc/internal/auth"
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
			&cli.StringFlag{Name: "tls-cert", Usage: "serve HTTPS with the PEM certificate chain in `FILE` (needs --tls-key)"},
			&cli.StringFlag{Name: "tls-key", Usage: "PEM private key of --tls-cert in `FILE`"},
			&cli.BoolFlag{Name: "pull-through", Value: true, Usage: "let python distributions with a --remote fetch the projects they lack from it (--pull-through=false turns it off)"},
		},
		Action: func(ctx context.Context, c *cli.Command) error {
			if _, err := args(c, 0, 0, "[--listen ADDR] [--access-log FILE] [--tls-cert FILE --tls-key FILE]"); err != nil {
				return err
			}
			var tlsCfg *tls.Config
			if cert, key := c.String("tls-cert"), c.String("tls-key"); cert != "" || key != "" {
				if cert == "" || key == "" {
					return usagef("serve: --tls-cert and --tls-key go together")
				}
				var err error
				if tlsCfg, err = publish.TLSConfig(cert, key); err != nil {
					return fmt.Errorf("tls: %w", err)
				}
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
			opts := []publish.ServerOption{publish.WithLogger(errlog), publish.WithFetcher(mgr.FetchBlob), publish.WithAuth(auth.New(st))}
			if c.Bool("pull-through") {
				opts = append(opts, publish.WithPullThrough(func(ctx context.Context, rem, rp string, projects []string) (publish.PullResult, error) {
					res, err := mgr.PullProjects(ctx, rem, rp, projects)
					if err != nil {
						return publish.PullResult{}, err
					}
					return publish.PullResult{NotFound: res.NotFound, Failed: res.Failed}, nil
				}))
			}
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
			srv.Registry().MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			scheme := "http"
			if tlsCfg != nil {
				scheme = "https"
			}
			ready := func(a net.Addr) {
				fmt.Fprintf(e.stdout, "serving distributions at %s://%s%s<base-path>/\n", scheme, a, publish.ContentPrefix)
			}
			if tlsCfg != nil {
				err = publish.ListenAndServeTLS(ctx, c.String("listen"), tlsCfg, alog.Middleware(srv), errlog, ready)
			} else {
				err = publish.ListenAndServe(ctx, c.String("listen"), alog.Middleware(srv), errlog, ready)
			}
			return errors.Join(err, alog.Close())
		},
	}
}
