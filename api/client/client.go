package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/api/wire"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/repo"
)

// Client is api.Service over HTTP.
type Client struct {
	kinds      *repo.Kinds
	publishers *publish.Registry
	base       *url.URL
	token      string
	hc         *http.Client
	chunkSize  int64
	retries    int
	backoff    time.Duration
	pollMin    time.Duration
	pollMax    time.Duration
	workers    int
}

var _ api.Service = (*Client)(nil)

// Option configures a Client.
type Option func(*Client)

// WithKinds gives the content kinds and their publishers that Checkout
// copies and publishes with (the composition root lists them); a client
// without them refuses Checkout of a remote server's distribution.
func WithKinds(k *repo.Kinds, p *publish.Registry) Option {
	return func(c *Client) { c.kinds, c.publishers = k, p }
}

// WithHTTPClient sets the HTTP client (default: one with no overall
// timeout, since downloads and uploads may be long).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithChunkSize sets the upload chunk size (default 64 MiB; chunks of
// readers that cannot be re-read are held in memory, up to 8 MiB).
func WithChunkSize(n int64) Option { return func(c *Client) { c.chunkSize = max(n, 1) } }

// WithRetries sets how many times in a row a failed upload chunk or
// request is retried (default 5), waiting base, 2*base, ... in between.
func WithRetries(n int, base time.Duration) Option {
	return func(c *Client) { c.retries, c.backoff = max(n, 0), base }
}

// WithPoll sets how often WaitTask polls: from min, doubling up to max.
func WithPoll(min, max time.Duration) Option {
	return func(c *Client) { c.pollMin, c.pollMax = min, max }
}

// ErrNoToken reports a client made without a token; it matches
// repo.ErrInvalid.
var ErrNoToken = fmt.Errorf("%w: a token is needed", repo.ErrInvalid)

// New returns the client of the server at baseURL (scheme and host, and
// a path prefix if the API is not at the root) using token.
func New(baseURL, token string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSuffix(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w server URL %q: use http(s)://HOST[:PORT]", repo.ErrInvalid, baseURL)
	}
	if token == "" {
		return nil, fmt.Errorf("%w to talk to %s", ErrNoToken, u.Redacted())
	}
	// Uploads, downloads and checkouts run several requests at once:
	// keep a connection for each instead of net/http's default two.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	c := &Client{
		base: u, token: token, hc: &http.Client{Transport: tr},
		chunkSize: 64 << 20, retries: 5, backoff: 200 * time.Millisecond,
		pollMin: 100 * time.Millisecond, pollMax: 2 * time.Second, workers: 4,
	}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Close releases idle connections.
func (c *Client) Close() error {
	c.hc.CloseIdleConnections()
	return nil
}

// Error is an error the server answered.
type Error struct {
	Status  int
	Code    string
	Message string
	// Offset is an upload's offset, on offset_mismatch.
	Offset *int64
}

// Error returns the server's message.
func (e *Error) Error() string { return e.Message }

// Unwrap returns the sentinels of the error's code, so that errors.Is
// matches as it does for the local error.
func (e *Error) Unwrap() []error {
	if out := codeErrors(e.Code); len(out) > 0 {
		return out
	}
	for _, c := range wire.Codes {
		if c.Status == e.Status {
			return []error{c.Err}
		}
	}
	return nil
}

// codeErrors returns the sentinels of an error code.
func codeErrors(code string) []error {
	var out []error
	for _, c := range wire.Codes {
		if c.Code == code {
			out = append(out, c.Err)
		}
	}
	return out
}

// url returns the URL of an API path with query. path is already escaped
// (see esc): it is kept as the raw path, not escaped again.
func (c *Client) url(path string, q url.Values) string {
	u := *c.base
	raw := strings.TrimSuffix(u.EscapedPath(), "/") + wire.Prefix + path
	p, err := url.PathUnescape(raw)
	if err != nil {
		p = raw // esc makes valid escapes; keep what was given otherwise
	}
	u.Path, u.RawPath = p, raw
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// esc escapes one path segment.
func esc(s string) string { return url.PathEscape(s) }

// request makes an authenticated request.
func (c *Client) request(ctx context.Context, method, path string, q url.Values, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.url(path, q), body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// send runs req and turns an error status into an *Error.
func (c *Client) send(req *http.Request) (*http.Response, error) {
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 400 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, decodeError(resp)
}

func decodeError(resp *http.Response) error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var e wire.Error
	if err := json.Unmarshal(raw, &e); err != nil || e.Code == "" {
		msg := strings.TrimSpace(string(raw))
		if msg == "" {
			msg = resp.Status
		}
		return &Error{Status: resp.StatusCode, Code: "http_" + strconv.Itoa(resp.StatusCode), Message: "server: " + msg}
	}
	return &Error{Status: resp.StatusCode, Code: e.Code, Message: e.Message, Offset: e.Offset}
}

// do sends in as JSON (when not nil) and decodes the answer into out
// (when not nil).
func (c *Client) do(ctx context.Context, method, path string, q url.Values, in, out any) error {
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(raw)
	}
	req, err := c.request(ctx, method, path, q, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.send(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode the answer: %w", method, path, err)
	}
	return nil
}

// all reads every page of a list, or up to limit items when limit > 0.
func all[T any](ctx context.Context, c *Client, path string, q url.Values, limit int) ([]T, error) {
	if q == nil {
		q = url.Values{}
	}
	out := []T{}
	for {
		n := wire.MaxLimit
		if limit > 0 {
			n = min(n, limit-len(out))
		}
		q.Set("limit", strconv.Itoa(n))
		var pg wire.Page[T]
		if err := c.do(ctx, http.MethodGet, path, q, nil, &pg); err != nil {
			return nil, err
		}
		out = append(out, pg.Items...)
		if pg.Next == "" || (limit > 0 && len(out) >= limit) {
			return out, nil
		}
		q.Set("cursor", pg.Next)
	}
}

// retryable reports whether a failed request may succeed if sent again.
func retryable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Status >= 500 || e.Status == http.StatusTooManyRequests
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
