package content

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pkgvc/pkgvc/internal/httplog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

// Operational endpoints of a Server. They sit outside ContentPrefix and
// need no token.
const (
	// HealthPath answers 200 "ok" while the process serves requests.
	HealthPath = "/healthz"
	// ReadyPath answers 200 "ok" when the store is readable (refs can be
	// listed, distribution documents decoded in a format this pkgvc reads,
	// and every WithReadyCheck passes), else 503 with the reason.
	ReadyPath = "/readyz"
	// MetricsPath serves the Server's Prometheus registry.
	MetricsPath = "/metrics"
)

// readyTimeout bounds one readiness check.
const readyTimeout = 5 * time.Second

// WithReadyCheck adds a check to ReadyPath: an error makes the server not
// ready, with the error as reason.
func WithReadyCheck(check func(ctx context.Context) error) ServerOption {
	return func(s *Server) { s.ops.checks = append(s.ops.checks, check) }
}

// Registry returns the Prometheus registry the Server's metrics live in,
// served at MetricsPath. It is the Server's own (never the global default
// registry); callers may register more collectors in it, such as the Go
// runtime and process collectors.
func (s *Server) Registry() *prometheus.Registry { return s.ops.reg }

// Routes of the request metrics: a small fixed set, never the raw path.
const (
	routeContent = iota
	routeHealthz
	routeReadyz
	routeMetrics
	routeOther
	numRoutes
)

var routeNames = [numRoutes]string{"content", "healthz", "readyz", "metrics", "other"}

// routeOf maps a request path to its metrics route.
func routeOf(p string) int {
	switch {
	case strings.HasPrefix(p, "/content"):
		return routeContent
	case p == HealthPath:
		return routeHealthz
	case p == ReadyPath:
		return routeReadyz
	case p == MetricsPath:
		return routeMetrics
	}
	return routeOther
}

// ops holds a Server's registry, metrics and readiness checks. Request
// metrics are resolved ahead (per route) or once per route and status code,
// so the content path pays a few atomic adds and no allocation.
type ops struct {
	reg    *prometheus.Registry
	checks []func(ctx context.Context) error

	requests *prometheus.CounterVec
	codes    [numRoutes][1000]atomic.Pointer[prometheus.Counter]
	bytes    [numRoutes]prometheus.Counter
	duration [numRoutes]prometheus.Observer
	fetches  [2]prometheus.Counter // ok, error
	fetched  prometheus.Counter
	pulls    [numPullResults]prometheus.Counter
}

// Results of a pull-through lookup, counted by the puller.
const (
	pullHit      = iota // the repository had it: served without a pull
	pullMiss            // it had to be pulled (or its pull waited for)
	pullNegative        // the remote's recent "not found" was remembered
	numPullResults
)

var pullResultNames = [numPullResults]string{"hit", "miss", "negative"}

// counted counts one lookup of p.
func (p *puller) counted(result int) {
	if p.count != nil {
		p.count(result)
	}
}

func newOps() *ops {
	o := &ops{reg: prometheus.NewRegistry()}
	o.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pkgvc_http_requests_total",
		Help: "HTTP requests answered, by route (content, healthz, readyz, metrics, other) and status code.",
	}, []string{"route", "code"})
	bytes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pkgvc_http_response_bytes_total",
		Help: "Response body bytes written, by route.",
	}, []string{"route"})
	dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "pkgvc_http_request_duration_seconds",
		Help:    "Time from reading a request to its handler returning, by route.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"route"})
	fetches := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pkgvc_ondemand_fetches_total",
		Help: "On-demand fetches of package content from remotes, by result (ok, error).",
	}, []string{"result"})
	o.fetched = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "pkgvc_ondemand_fetched_bytes_total",
		Help: "Bytes streamed from remotes by on-demand fetches.",
	})
	for i, n := range routeNames {
		o.bytes[i] = bytes.WithLabelValues(n)
		o.duration[i] = dur.WithLabelValues(n)
	}
	o.fetches[0] = fetches.WithLabelValues("ok")
	o.fetches[1] = fetches.WithLabelValues("error")
	pulls := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pkgvc_pullthrough_requests_total",
		Help: "Pull-through lookups of content a distribution may lack, by result: hit (the repository had it), miss (it was pulled from the remote), negative (the remote's recent 'not found' was remembered).",
	}, []string{"result"})
	for i, n := range pullResultNames {
		o.pulls[i] = pulls.WithLabelValues(n)
	}
	o.reg.MustRegister(o.requests, bytes, dur, fetches, o.fetched, pulls)
	return o
}

// counter returns the request counter of route and code, resolving it on
// first use.
func (o *ops) counter(route, code int) prometheus.Counter {
	if code < 0 || code >= len(o.codes[route]) {
		code = 0
	}
	p := &o.codes[route][code]
	if c := p.Load(); c != nil {
		return *c
	}
	c := o.requests.WithLabelValues(routeNames[route], strconv.Itoa(code))
	p.Store(&c)
	return c
}

// setupOps registers the operational routes and collectors; NewServer
// calls it once the options are applied.
func (s *Server) setupOps() {
	o := s.ops
	s.mux.HandleFunc(HealthPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Cache-Control"] = []string{"no-store"}
		w.Header()["Content-Type"] = []string{"text/plain; charset=utf-8"}
		_, _ = io.WriteString(w, "ok\n")
	})
	s.mux.HandleFunc(ReadyPath, s.serveReady)
	s.mux.Handle(MetricsPath, promhttp.HandlerFor(o.reg, promhttp.HandlerOpts{
		ErrorLog: slogPrinter{s.log}, Registry: o.reg,
	}))
	for _, c := range []struct {
		name string
		n    func() (count int, weight int64)
	}{
		{"versions", s.versions.Size}, {"nodes", s.st.Objects().ObjectCacheSize}, {"listings", s.listings.Size},
		{"blobs", s.blobs.Size}, {"reach", s.reach.Size},
	} {
		o.reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "pkgvc_cache_entries", Help: "Entries held in a server cache.",
				ConstLabels: prometheus.Labels{"cache": c.name},
			}, func() float64 { n, _ := c.n(); return float64(n) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "pkgvc_cache_weight", Help: "Weight (bytes, or records for listings) held in a server cache.",
				ConstLabels: prometheus.Labels{"cache": c.name},
			}, func() float64 { _, w := c.n(); return float64(w) }),
		)
	}
	if s.pull != nil {
		s.pull.count = func(result int) { o.pulls[result].Inc() }
	}
	if s.ns != nil {
		s.ns.pull.count = func(result int) { o.pulls[result].Inc() }
	}
	if f := s.fetch; f != nil {
		s.fetch = func(ctx context.Context, rec repo.Record, w io.Writer) error {
			cw := countWriter{w: w}
			err := f(ctx, rec, &cw)
			o.fetched.Add(float64(cw.n))
			if err != nil {
				o.fetches[1].Inc()
			} else {
				o.fetches[0].Inc()
			}
			return err
		}
	}
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) { p.log.Error("metrics", "err", fmt.Sprint(v...)) }

// serveReady checks that the store is readable.
func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	w.Header()["Cache-Control"] = []string{"no-store"}
	if err := s.Ready(r.Context()); err != nil {
		textError(w, http.StatusServiceUnavailable, "not ready: "+oneLine(err.Error()))
		return
	}
	w.Header()["Content-Type"] = []string{"text/plain; charset=utf-8"}
	_, _ = io.WriteString(w, "ok\n")
}

// errStopList ends a ref walk after its first ref.
var errStopList = errors.New("stop")

// Ready reports whether the server can serve: its store's refs can be
// listed, its distribution documents read in a format this pkgvc reads,
// and every WithReadyCheck passes.
func (s *Server) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	err := s.st.Refs().List(ctx, "", func(string, objects.ID) error { return errStopList })
	if err != nil && !errors.Is(err, errStopList) {
		return err
	}
	if s.dists != nil {
		if _, err := s.dists.List(ctx); err != nil {
			return err
		}
	}
	for _, c := range s.ops.checks {
		if err := c(ctx); err != nil {
			return err
		}
	}
	return nil
}

// ServeHTTP serves a request (see dispatch) and counts it in the Server's
// metrics.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o := s.ops
	route := routeOf(r.URL.Path)
	rec := httplog.AcquireRecorder(w)
	start := time.Now()
	done := false
	defer func() {
		o.duration[route].Observe(time.Since(start).Seconds())
		o.counter(route, rec.Status()).Inc()
		if n := rec.Bytes(); n > 0 {
			o.bytes[route].Add(float64(n))
		}
		if done { // a panicking handler may still hold rec
			httplog.ReleaseRecorder(rec)
		}
	}()
	h := rec.Header()
	h["X-Content-Type-Options"] = nosniff
	h["Content-Security-Policy"] = contentCSP
	s.dispatch(rec, r)
	done = true
}

// TLSConfig returns a server TLS configuration for Serve or
// ListenAndServeTLS with the certificate chain and key of the PEM files
// certFile and keyFile: TLS 1.2 or later, HTTP/2 or HTTP/1.1.
func TLSConfig(certFile, keyFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"h2", "http/1.1"},
	}, nil
}

// ListenAndServeTLS is ListenAndServe over TLS with cfg (see TLSConfig),
// HTTP/2 for the clients that offer it ("h2" in cfg.NextProtos), else
// HTTP/1.1; each handshake must end within the read header timeout.
func ListenAndServeTLS(ctx context.Context, addr string, cfg *tls.Config, h http.Handler, log *slog.Logger, ready func(net.Addr), opts ...ServeOption) error {
	if cfg == nil || len(cfg.Certificates) == 0 && cfg.GetCertificate == nil {
		return errors.New("listen tls: no certificate")
	}
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	if ready != nil {
		ready(l.Addr())
	}
	return serve(ctx, l, cfg, h, log, opts...)
}
