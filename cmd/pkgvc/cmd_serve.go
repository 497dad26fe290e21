package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/urfave/cli/v3"

	apiserver "github.com/pkgvc/pkgvc/api/server"
	"github.com/pkgvc/pkgvc/api/wire"
	"github.com/pkgvc/pkgvc/app"
	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/internal/httplog"
	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/tasks"
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
			&cli.BoolFlag{Name: "h2c", Usage: "speak HTTP/2 without TLS too (prior knowledge, as curl --http2-prior-knowledge or a proxy does); over TLS HTTP/2 is always offered"},
			&cli.BoolFlag{Name: "pull-through", Value: true, Usage: "let python and container distributions with a --remote fetch the projects or images they lack from it (--pull-through=false turns it off)"},
			&cli.DurationFlag{Name: "read-header-timeout", Value: content.DefaultReadHeaderTimeout, Usage: "drop a client that takes longer to send a request header"},
			&cli.DurationFlag{Name: "idle-timeout", Value: content.DefaultIdleTimeout, Usage: "close a keep-alive connection idle this long, or a request body that stops coming for this long"},
			&cli.DurationFlag{Name: "write-timeout", Value: content.DefaultWriteTimeout, Usage: "drop a client that takes none of its response for this long (slow steady downloads go on)"},
			&cli.IntFlag{Name: "max-header-bytes", Value: content.DefaultMaxHeaderBytes, Usage: "answer 431 to a larger request header"},
			&cli.Int64Flag{Name: "max-body-bytes", Value: content.MaxUploadBytes, Usage: "answer 413 to a larger request body (uploads)"},
			&cli.IntFlag{Name: "max-conns", Value: content.DefaultMaxConns, Usage: "keep at most `N` connections open; more are answered 503 and closed"},
			&cli.IntFlag{Name: "max-conns-per-ip", Value: content.DefaultMaxConnsPerAddr, Usage: "keep at most `N` connections of one client IP (an IPv6 one: its /64) open (behind a reverse proxy, give --max-conns)"},
			&cli.DurationFlag{Name: "prune-every", Value: dist.DefaultPruneEvery, Usage: "apply the distributions' settings that drop content (container --retain-unpulled) this often; 0 never (pkgvc dist prune does it by hand)"},
			&cli.IntFlag{Name: "task-workers", Value: 3, Usage: "run at most `N` tasks (syncs, gc, fsck) at once in this process; 0 runs none here (other serve processes sharing the store do)"},
		},
		Action: func(ctx context.Context, c *cli.Command) error {
			if _, err := args(c, 0, 0, "[--listen ADDR] [--access-log FILE] [--tls-cert FILE --tls-key FILE]"); err != nil {
				return err
			}
			if c.Duration("prune-every") < 0 {
				return usagef("serve: --prune-every is a duration, 0 or more")
			}
			if c.Int("task-workers") < 0 {
				return usagef("serve: --task-workers is 0 or more")
			}
			public := ""
			if c.String("public-url") != "" {
				var err error
				if public, err = publicURL(c); err != nil {
					return err
				}
			}
			var tlsCfg *tls.Config
			if cert, key := c.String("tls-cert"), c.String("tls-key"); cert != "" || key != "" {
				if cert == "" || key == "" {
					return usagef("serve: --tls-cert and --tls-key go together")
				}
				var err error
				if tlsCfg, err = content.TLSConfig(cert, key); err != nil {
					return fmt.Errorf("tls: %w", err)
				}
			}
			a, err := e.local(ctx, c)
			if err != nil {
				return err
			}
			l := a.Service()
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
			mgr := a.Remotes()
			opts := []content.ServerOption{content.WithLogger(errlog), content.WithMaxBodyBytes(c.Int64("max-body-bytes"))}
			if c.Bool("pull-through") {
				syncers := all.Syncers()
				opts = append(opts, content.WithPullThrough(func(ctx context.Context, rem, rp string, projects []string) (content.PullResult, error) {
					// An upstream that indexes one reference at a time (a
					// registry's tags and digests) pulls those; any other,
					// the projects named.
					pull := mgr.PullProjects
					if r, err := mgr.Show(ctx, rem); err == nil {
						if s, err := syncers.Lookup(r.Kind); err == nil {
							if _, refs := s.(remote.RefIndexer); refs {
								pull = mgr.PullRefs
							}
						}
					}
					res, err := pull(ctx, rem, rp, projects)
					if err != nil {
						return content.PullResult{}, err
					}
					return content.PullResult{NotFound: res.NotFound, Failed: res.Failed}, nil
				}), content.WithNamespaceCache(mgr), content.WithPullWait(func(ctx context.Context, rem string) time.Duration {
					// A client waits for a rate-limited upstream as long
					// as for a slow one: the remote's read timeout.
					if r, err := mgr.Show(ctx, rem); err == nil && r.ReadTimeout > 0 {
						return time.Duration(r.ReadTimeout)
					}
					return remote.DefaultReadTimeout
				}))
			}
			srv := a.ContentServer(opts...)
			srv.Registry().MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			if err := mgr.RegisterMetrics(srv.Registry()); err != nil {
				return err
			}
			// Tasks queued by any process sharing the store, and due
			// schedules, run here; stopping marks running ones interrupted.
			if workers := c.Int("task-workers"); workers > 0 {
				runner := l.TaskRunner(tasks.RunnerConfig{Workers: workers, Registerer: srv.Registry(), Logger: errlog, ErrorCode: apiserver.ErrorCode})
				if err := runner.Start(ctx); err != nil {
					return err
				}
				defer runner.Close()
			}
			// Content the distributions' settings drop (images nobody
			// pulled for a while) goes as it falls due.
			if every := c.Duration("prune-every"); every > 0 {
				pctx, stopPrune := context.WithCancel(ctx)
				pruned := make(chan struct{})
				go func() {
					defer close(pruned)
					a.Dists().RunPrune(pctx, every, errlog)
				}()
				defer func() { stopPrune(); <-pruned }()
			}
			// The REST API answers under /api/v1/ from the same store; the
			// content server, everything else.
			apiSrv, err := a.APIServer(apiserver.WithLogger(errlog),
				apiserver.WithMaxUploadBytes(c.Int64("max-body-bytes")))
			if err != nil {
				return err
			}
			root := http.NewServeMux()
			root.Handle(wire.Prefix+"/", apiSrv)
			root.Handle("GET /{$}", content.Home(a.Dists(), public))
			root.Handle("/", srv)
			scheme := "http"
			if tlsCfg != nil {
				scheme = "https"
			}
			ready := func(addr net.Addr) {
				base := public
				if base == "" {
					base = scheme + "://" + addr.String()
				}
				printServing(ctx, e.stdout, a, base)
			}
			// Content requests, nearly all of them, go straight to the
			// content server: the mux's pattern match costs a few percent
			// of a small file's request. A path the mux would clean (a
			// doubled slash, a dot segment) still goes through it, to be
			// redirected to its clean form.
			handler := alog.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if p := r.URL.Path; strings.HasPrefix(p, content.ContentPrefix) && !strings.Contains(p, "//") && !strings.Contains(p, "/.") {
					srv.ServeHTTP(w, r)
					return
				}
				root.ServeHTTP(w, r)
			}))
			if tlsCfg != nil {
				err = content.ListenAndServeTLS(ctx, c.String("listen"), tlsCfg, handler, errlog, ready, serveLimits(c)...)
			} else {
				err = content.ListenAndServe(ctx, c.String("listen"), handler, errlog, ready, serveLimits(c)...)
			}
			return errors.Join(err, alog.Close())
		},
	}
}

// serveLimits are the connection limits the serve flags set.
func serveLimits(c *cli.Command) []content.ServeOption {
	opts := []content.ServeOption{
		content.WithReadHeaderTimeout(c.Duration("read-header-timeout")),
		content.WithIdleTimeout(c.Duration("idle-timeout")),
		content.WithWriteTimeout(c.Duration("write-timeout")),
		content.WithMaxHeaderBytes(c.Int("max-header-bytes")),
		content.WithMaxConns(c.Int("max-conns"), c.Int("max-conns-per-ip")),
	}
	if c.Bool("h2c") {
		opts = append(opts, content.WithH2C())
	}
	return opts
}

// printServing says what serve serves at base, and what to do next on a
// store without distributions.
func printServing(ctx context.Context, w io.Writer, a *app.App, base string) {
	l := a.Service()
	fmt.Fprintf(w, "serving %s/ from the store %s:\n", base, a.Location())
	fmt.Fprintf(w, "  %-22s distributions (python: pip index at .../simple/)\n", content.ContentPrefix+"<base-path>/")
	fmt.Fprintf(w, "  %-22s container distributions, as a registry\n", "/v2/")
	fmt.Fprintf(w, "  %-22s the REST API (pkgvc --server %s ..., with a token)\n", wire.Prefix+"/", base)
	dists, err := l.Dists().List(ctx)
	if err != nil {
		return // serving goes on; the next request says what is wrong
	}
	for i := range dists {
		fmt.Fprintf(w, "  distribution %s: %s\n", dists[i].Name, content.ClientAccess(&dists[i], base, a.Store().Kinds()).Use)
	}
	if len(dists) > 0 {
		return
	}
	repos, err := l.ListRepos(ctx)
	if err != nil {
		return
	}
	if len(repos) == 0 {
		fmt.Fprintf(w, "the store is empty: next, pkgvc repo create NAME [--kind %s], commit packages, then pkgvc dist create NAME --base-path PATH --repo NAME\n", strings.Join(all.Kinds().Names(), "|"))
		return
	}
	fmt.Fprintf(w, "no distribution yet: next, pkgvc dist create NAME --base-path PATH --repo %s\n", repos[0].Name)
}
