// Package httpx is the HTTP client pkgvc uses to talk to upstreams: one
// http.Client built from a remote's settings (TLS, client certificates,
// proxy, Basic auth, timeouts), retries with exponential backoff and
// jitter, and downloads that resume where a dropped connection left off.
//
// # Retries
//
// A request is retried, up to Config.Retries times, when it fails in a way
// that may pass: a connection error (refused, reset, EOF, a timeout), a
// response 408, 429 or 5xx. Retry-After is honoured up to a bound; a
// 429 or 503 asking for longer than the context allows (WithRetryWait)
// fails at once with a *RateLimitError.
// Certificate errors, other 4xx and a cancelled context are final.
//
// # Resuming
//
// Open returns a body that survives a connection dropped mid-body: it asks
// again with "Range: bytes=N-" for the bytes it has not delivered yet. A
// server answering 206 continues the stream; one answering 200 sends the
// whole content again, and the first N bytes are skipped, so the reader
// sees one unbroken stream either way (the caller's digest check catches
// content that changed meanwhile).
package httpx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults for zero Config fields.
const (
	DefaultConnectTimeout = 30 * time.Second
	DefaultReadTimeout    = 60 * time.Second
	DefaultBackoffBase    = 500 * time.Millisecond
	DefaultBackoffMax     = 10 * time.Second
	DefaultMaxConns       = 4
	// maxRetryAfter bounds how long a Retry-After header makes us wait.
	maxRetryAfter = 60 * time.Second
	// progressReset is how many bytes one connection must deliver before
	// its failure stops counting against the retry budget.
	progressReset = 1 << 20
)

var (
	// ErrReadTimeout reports an upstream that sent nothing for ReadTimeout.
	ErrReadTimeout = errors.New("read timeout")
	// ErrSizeMismatch reports a response whose length is not the expected
	// size.
	ErrSizeMismatch = errors.New("size mismatch")
	// ErrConfig reports unusable client settings (a certificate file that
	// does not load, a bad proxy URL).
	ErrConfig = errors.New("invalid client settings")
)

// StatusError is a final unsuccessful HTTP response.
type StatusError struct {
	URL        string
	StatusCode int
	Status     string // e.g. "404 Not Found"
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("GET %s: %s", e.URL, e.Status)
}

// Backoff shapes the wait between retries: attempt n waits a random time
// between half and all of min(Max, Base·2ⁿ).
type Backoff struct {
	Base, Max time.Duration // zero: DefaultBackoffBase, DefaultBackoffMax
}

// Delay returns the wait before retry n (0-based).
func (b Backoff) Delay(n int) time.Duration {
	base, top := b.Base, b.Max
	if base <= 0 {
		base = DefaultBackoffBase
	}
	if top <= 0 {
		top = DefaultBackoffMax
	}
	d := base
	for i := 0; i < n && d < top; i++ {
		d *= 2
	}
	d = min(d, top)
	half := d / 2
	return half + rand.N(d-half+1)
}

// Config is what a Client is built from. Zero values are sane defaults.
type Config struct {
	// Username and PasswordFile give HTTP Basic credentials; the password
	// is read from the file (trailing newline dropped) on every request,
	// so a rotated secret takes effect at once.
	Username     string
	PasswordFile string
	// AuthHost, if set, is the only host (as in URL.Host) credentials are
	// sent to.
	AuthHost string
	// CACertFile holds PEM certificates that replace the system roots.
	CACertFile string
	// ClientCertFile and ClientKeyFile give a TLS client certificate.
	ClientCertFile, ClientKeyFile string
	// Proxy is an http, https or socks5 proxy URL; empty uses the
	// environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY).
	Proxy string
	// ProxyUsername and ProxyPasswordFile authenticate to Proxy; the
	// password is read from the file for every connection, as PasswordFile.
	ProxyUsername     string
	ProxyPasswordFile string
	// TLSInsecure turns certificate verification off.
	TLSInsecure bool
	// ConnectTimeout bounds dialling and the TLS handshake.
	ConnectTimeout time.Duration
	// ReadTimeout bounds the wait for response headers and every pause
	// between body bytes (not the whole transfer).
	ReadTimeout time.Duration
	// Retries is how many times a failed request is tried again.
	Retries int
	Backoff Backoff
	// MaxConns is how many idle connections per host are kept for reuse;
	// set it to the download concurrency.
	MaxConns  int
	UserAgent string
}

// Client makes GET requests with the retry and resume rules above. It is
// safe for concurrent use.
type Client struct {
	hc  *http.Client
	cfg Config
}

// New builds a Client, loading certificate files now: a file that does
// not load is an error wrapping ErrConfig.
func New(cfg Config) (*Client, error) {
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.Retries < 0 {
		cfg.Retries = 0
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.TLSInsecure} //nolint:gosec // the user asked for it
	if cfg.CACertFile != "" {
		pem, err := os.ReadFile(cfg.CACertFile)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, &FileError{What: "CA certificate", Path: cfg.CACertFile, Err: err})
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: %w", ErrConfig, &FileError{What: "CA certificate", Path: cfg.CACertFile, Err: errors.New("no PEM certificate in it")})
		}
		tlsCfg.RootCAs = pool
	}
	if (cfg.ClientCertFile == "") != (cfg.ClientKeyFile == "") {
		return nil, fmt.Errorf("%w: a client certificate needs both its certificate and its key", ErrConfig)
	}
	if cfg.ClientCertFile != "" {
		pair, err := tls.LoadX509KeyPair(cfg.ClientCertFile, cfg.ClientKeyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, &FileError{What: "client certificate", Path: cfg.ClientCertFile + ", " + cfg.ClientKeyFile, Err: err})
		}
		tlsCfg.Certificates = []tls.Certificate{pair}
	}
	proxy := http.ProxyFromEnvironment
	if cfg.Proxy != "" {
		u, err := url.Parse(cfg.Proxy)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("%w: proxy %q: want a URL such as http://proxy:3128", ErrConfig, cfg.Proxy)
		}
		proxy = http.ProxyURL(u)
		if cfg.ProxyUsername != "" || cfg.ProxyPasswordFile != "" {
			if cfg.ProxyPasswordFile != "" {
				if _, err := readProxyPassword(cfg.ProxyPasswordFile); err != nil {
					return nil, fmt.Errorf("%w: %w", ErrConfig, err)
				}
			}
			proxy = func(*http.Request) (*url.URL, error) {
				pu := *u
				pw, err := readProxyPassword(cfg.ProxyPasswordFile)
				if err != nil {
					return nil, err
				}
				pu.User = url.UserPassword(cfg.ProxyUsername, pw)
				return &pu, nil
			}
		}
	}
	if cfg.Username != "" && cfg.PasswordFile != "" {
		if _, err := readPassword(cfg.PasswordFile); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
	}
	dialer := &net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:                 proxy,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   cfg.ConnectTimeout,
		ResponseHeaderTimeout: cfg.ReadTimeout,
		ExpectContinueTimeout: time.Second,
		MaxIdleConns:          max(100, cfg.MaxConns),
		MaxIdleConnsPerHost:   cfg.MaxConns,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
		// Package bytes are verified as sent: never let the transport
		// decompress a Content-Encoding: gzip body.
		DisableCompression: true,
	}
	return &Client{hc: &http.Client{Transport: tr}, cfg: cfg}, nil
}

// HTTP returns the underlying client, for upstream kinds that need more
// than GET (it has the TLS, proxy and timeout settings but neither the
// retries nor the credentials).
func (c *Client) HTTP() *http.Client { return c.hc }

// WithTransport returns a Client with c's retry, resume and timeout
// rules that sends its requests through rt instead, for upstreams whose
// own auth flow wraps the transport (a container registry's tokens):
// it adds no credentials of its own.
func (c *Client) WithTransport(rt http.RoundTripper) *Client {
	cfg := c.cfg
	cfg.Username, cfg.PasswordFile = "", ""
	return &Client{hc: &http.Client{Transport: rt}, cfg: cfg}
}

// Retries returns how often a failed request is tried again and the
// backoff between tries, for clients of other libraries to match.
func (c *Client) Retries() (int, Backoff) { return c.cfg.Retries, c.cfg.Backoff }

// CloseIdleConnections closes kept-alive connections.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// FileError reports a file of the configuration that does not load.
type FileError struct {
	What string // "password file", "CA certificate", "client certificate"
	Path string
	Err  error
}

// Error names the file and says why it did not load.
func (e *FileError) Error() string { return e.What + " " + e.Path + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *FileError) Unwrap() error { return e.Err }

func readPassword(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", &FileError{What: "password file", Path: file, Err: err}
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// readProxyPassword reads the proxy's password file; no file is an empty
// password.
func readProxyPassword(file string) (string, error) {
	if file == "" {
		return "", nil
	}
	pw, err := readPassword(file)
	var fe *FileError
	if errors.As(err, &fe) {
		fe.What = "proxy password file"
	}
	return pw, err
}

var errIdle = fmt.Errorf("%w: upstream sent nothing", ErrReadTimeout)

// response is one attempt's response whose body enforces the read timeout.
type response struct {
	*http.Response
	body *idleBody
}

// once makes one attempt of a GET (or HEAD) with the extra header h;
// from > 0 asks for bytes from that offset.
func (c *Client) once(ctx context.Context, method, rawURL string, h http.Header, from int64) (*response, error) {
	rctx, cancel := context.WithCancelCause(ctx)
	req, err := http.NewRequestWithContext(rctx, method, rawURL, nil)
	if err != nil {
		cancel(nil)
		return nil, fmt.Errorf("%s %s: %w", method, rawURL, err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	if c.cfg.UserAgent != "" {
		req.Header.Set("User-Agent", c.cfg.UserAgent)
	}
	if from > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", from))
	}
	if c.cfg.Username != "" && (c.cfg.AuthHost == "" || strings.EqualFold(req.URL.Host, c.cfg.AuthHost)) {
		pw := ""
		if c.cfg.PasswordFile != "" {
			if pw, err = readPassword(c.cfg.PasswordFile); err != nil {
				cancel(nil)
				return nil, err
			}
		}
		req.SetBasicAuth(c.cfg.Username, pw)
	}
	b := &idleBody{cancel: cancel, timeout: c.cfg.ReadTimeout, ctx: rctx}
	b.timer = time.AfterFunc(c.cfg.ReadTimeout, func() { cancel(errIdle) })
	resp, err := c.hc.Do(req)
	if err != nil {
		b.timer.Stop()
		cancel(nil)
		if errors.Is(context.Cause(rctx), errIdle) && ctx.Err() == nil {
			err = errIdle
		}
		return nil, fmt.Errorf("%s %s: %w", method, rawURL, err)
	}
	b.rc = resp.Body
	b.timer.Reset(c.cfg.ReadTimeout)
	resp.Body = b
	return &response{Response: resp, body: b}, nil
}

// idleBody cancels its request when no byte arrives for timeout; ctx is
// the request's, kept to tell an idle timeout from other cancellations.
type idleBody struct {
	rc      io.ReadCloser
	ctx     context.Context
	cancel  context.CancelCauseFunc
	timeout time.Duration
	timer   *time.Timer
	once    sync.Once
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.timer.Reset(b.timeout)
	}
	if err != nil && !errors.Is(err, io.EOF) && errors.Is(context.Cause(b.ctx), errIdle) {
		err = errIdle
	}
	return n, err
}

func (b *idleBody) Close() error {
	var err error
	b.once.Do(func() {
		b.timer.Stop()
		err = b.rc.Close()
		b.cancel(nil)
	})
	return err
}

// drain reads a little of an unwanted body so the connection can be
// reused, and closes it.
func drain(r *response) {
	_, _ = io.CopyN(io.Discard, r.Body, 4<<10) // best effort
	_ = r.Body.Close()                         // nothing to report about a discarded body
}

// retryableStatus reports statuses worth asking again for.
func retryableStatus(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500
}

// Retryable reports whether err, from a request or a body read, may pass
// on another attempt. ctx is the caller's context: once it is done
// nothing is retried.
func Retryable(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	if errors.Is(err, ErrReadTimeout) {
		return true
	}
	if errors.As(err, new(*RateLimitError)) {
		return false // its wait was judged too long already
	}
	var se *StatusError
	if errors.As(err, &se) {
		return retryableStatus(se.StatusCode)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, ErrSizeMismatch) || errors.Is(err, ErrConfig) {
		return false
	}
	var (
		certErr *tls.CertificateVerificationError
		uaErr   x509.UnknownAuthorityError
		hostErr x509.HostnameError
		invErr  x509.CertificateInvalidError
	)
	if errors.As(err, &certErr) || errors.As(err, &uaErr) || errors.As(err, &hostErr) || errors.As(err, &invErr) {
		return false
	}
	// Everything else is a transport failure: refused, reset, EOF mid
	// body, DNS, a timeout.
	return true
}

// retryAfter returns the wait a 429/503 response asks for, if any.
func retryAfter(r *http.Response) (time.Duration, bool) {
	return ParseRetryAfter(r.Header.Get("Retry-After"), time.Now())
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Get fetches rawURL, retrying as described in the package doc, and
// returns a 2xx response whose body the caller must close. A final non-2xx
// response is a *StatusError. A failure while reading the body is not
// retried; use Open for bodies that must survive one.
func (c *Client) Get(ctx context.Context, rawURL string) (*http.Response, error) {
	return c.Request(ctx, http.MethodGet, rawURL, nil)
}

// Request is Get with another method (GET or HEAD) and header fields of the
// caller's (such as Accept) added to the request.
func (c *Client) Request(ctx context.Context, method, rawURL string, h http.Header) (*http.Response, error) {
	var lastErr error
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, c.wait(attempt-1, lastErr)); err != nil {
				return nil, fmt.Errorf("%s %s: %w (after %w)", method, rawURL, err, lastErr)
			}
		}
		r, err := c.once(ctx, method, rawURL, h, 0)
		if err == nil && r.StatusCode/100 == 2 {
			return r.Response, nil
		}
		if err == nil {
			err = c.statusErr(rawURL, r)
		}
		lastErr = err
		if attempt >= c.cfg.Retries || !Retryable(ctx, err) {
			return nil, err
		}
		if err := tooLong(ctx, err); err != nil {
			return nil, err
		}
	}
}

// tooLong returns a *RateLimitError when err asks for a longer wait than
// ctx allows (see WithRetryWait).
func tooLong(ctx context.Context, err error) error {
	var rw *retryWait
	if errors.As(err, &rw) && (rw.StatusCode == http.StatusTooManyRequests || rw.StatusCode == http.StatusServiceUnavailable) && rw.after > RetryWait(ctx) {
		return &RateLimitError{URL: rw.URL, StatusCode: rw.StatusCode, Until: time.Now().Add(rw.after), Err: rw.StatusError}
	}
	return nil
}

// retryWait is a StatusError that carries the server's Retry-After.
type retryWait struct {
	*StatusError
	after time.Duration
}

func (r *retryWait) Unwrap() error { return r.StatusError }

func (c *Client) statusErr(rawURL string, r *response) error {
	drain(r)
	se := &StatusError{URL: rawURL, StatusCode: r.StatusCode, Status: r.Status}
	if d, ok := retryAfter(r.Response); ok {
		return &retryWait{StatusError: se, after: d}
	}
	return se
}

// wait returns how long to sleep before retry n after err.
func (c *Client) wait(n int, err error) time.Duration {
	var rw *retryWait
	if errors.As(err, &rw) {
		return min(rw.after, maxRetryAfter)
	}
	return c.cfg.Backoff.Delay(n)
}

// Open starts downloading rawURL and returns its body as a stream that
// resumes after dropped connections (see the package doc). size is the
// expected length, or -1 if unknown: a response announcing another length
// fails with ErrSizeMismatch before its body is read, and a body ending
// short of size counts as a dropped connection. Open retries the first
// request as Get does, and each failure while reading uses up one of the
// same Config.Retries (a connection that delivered 1 MiB or more before
// failing is progress and does not). The caller must Close the body.
func (c *Client) Open(ctx context.Context, rawURL string, size int64) (io.ReadCloser, error) {
	d := &download{c: c, ctx: ctx, url: rawURL, size: size}
	if err := d.connect(); err != nil {
		return nil, err
	}
	return d, nil
}

// download is a resumable body. It keeps the context Open was given, as
// an http.Request does, because Read cannot take one.
type download struct {
	c    *Client
	ctx  context.Context
	url  string
	size int64

	cur      *response
	off      int64 // bytes delivered to the reader
	connOff  int64 // off when cur was opened
	failures int   // failures counted against the retry budget
	lastErr  error
	err      error // sticky final error
}

// connect opens a response that continues at d.off, retrying.
func (d *download) connect() error {
	for {
		if d.failures > 0 {
			if d.failures > d.c.cfg.Retries {
				return d.lastErr
			}
			if err := sleep(d.ctx, d.c.wait(d.failures-1, d.lastErr)); err != nil {
				return fmt.Errorf("GET %s: %w (after %w)", d.url, err, d.lastErr)
			}
		}
		r, err := d.c.once(d.ctx, http.MethodGet, d.url, nil, d.off)
		if err == nil {
			err = d.accept(r)
		}
		if err == nil {
			d.cur, d.connOff = r, d.off
			return nil
		}
		if !Retryable(d.ctx, err) {
			return err
		}
		if err := tooLong(d.ctx, err); err != nil {
			return err
		}
		d.failures++
		d.lastErr = err
	}
}

// accept checks a response to a (possibly ranged) request and positions
// its body at d.off; on error the response is closed.
func (d *download) accept(r *response) error {
	switch {
	case r.StatusCode == http.StatusPartialContent && d.off > 0:
		start, _, total, ok := ParseContentRange(r.Header.Get("Content-Range"))
		if !ok || start != d.off {
			drain(r)
			return fmt.Errorf("GET %s: asked for bytes from %d, got Content-Range %q", d.url, d.off, r.Header.Get("Content-Range"))
		}
		if d.size >= 0 && total >= 0 && total != d.size {
			drain(r)
			return fmt.Errorf("GET %s: %w: upstream has %d bytes, expected %d", d.url, ErrSizeMismatch, total, d.size)
		}
		return nil
	case r.StatusCode == http.StatusOK:
		if d.size >= 0 && r.ContentLength >= 0 && r.ContentLength != d.size {
			drain(r)
			return fmt.Errorf("GET %s: %w: upstream sends %d bytes, expected %d", d.url, ErrSizeMismatch, r.ContentLength, d.size)
		}
		if d.off > 0 { // no range support: skip what was delivered
			if _, err := io.CopyN(io.Discard, r.Body, d.off); err != nil {
				_ = r.Body.Close() // the copy error is the one that matters
				return fmt.Errorf("GET %s: %w", d.url, err)
			}
		}
		return nil
	case r.StatusCode == http.StatusRequestedRangeNotSatisfiable && d.size >= 0 && d.off == d.size:
		drain(r)
		return errDone
	default:
		return d.c.statusErr(d.url, r)
	}
}

var errDone = errors.New("download complete")

// ParseContentRange parses a Content-Range "bytes START-END/TOTAL", TOTAL
// "*" when unknown (total -1); ok is false unless 0 <= START <= END and,
// with a TOTAL, END < TOTAL.
func ParseContentRange(v string) (start, end, total int64, ok bool) {
	rest, found := strings.CutPrefix(v, "bytes ")
	if !found {
		return 0, 0, 0, false
	}
	rng, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, 0, false
	}
	a, b, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, 0, false
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start < 0 {
		return 0, 0, 0, false
	}
	if end, err = strconv.ParseInt(b, 10, 64); err != nil || end < start {
		return 0, 0, 0, false
	}
	if tot == "*" {
		return start, end, -1, true
	}
	if total, err = strconv.ParseInt(tot, 10, 64); err != nil || end >= total {
		return 0, 0, 0, false
	}
	return start, end, total, true
}

func (d *download) Read(p []byte) (int, error) {
	for {
		if d.err != nil {
			return 0, d.err
		}
		if d.cur == nil {
			if err := d.connect(); errors.Is(err, errDone) {
				d.err = io.EOF
				continue
			} else if err != nil {
				d.err = err
				return 0, err
			}
		}
		n, err := d.cur.Body.Read(p)
		d.off += int64(n)
		if err == nil {
			return n, nil
		}
		if errors.Is(err, io.EOF) {
			if d.size < 0 || d.off >= d.size {
				d.err = io.EOF
				return n, io.EOF
			}
			err = io.ErrUnexpectedEOF // closed short of the size
		}
		_ = d.cur.Body.Close() // the read error is the one that matters
		d.cur = nil
		err = fmt.Errorf("GET %s: after %d bytes: %w", d.url, d.off, err)
		if !Retryable(d.ctx, err) {
			d.err = err
			return n, err
		}
		if d.off-d.connOff < progressReset {
			d.failures++
		}
		d.lastErr = err
		if d.failures > d.c.cfg.Retries {
			d.err = err
			return n, err
		}
		if n > 0 {
			return n, nil
		}
	}
}

func (d *download) Close() error {
	if d.cur == nil {
		return nil
	}
	err := d.cur.Body.Close()
	d.cur = nil
	if d.err == nil {
		d.err = errors.New("read after close")
	}
	return err
}
