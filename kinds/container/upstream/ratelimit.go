package upstream

import (
	"io"
	"net/http"
	"time"

	"github.com/pkgvc/pkgvc/httpx"
)

// limitTransport honours a registry's rate limit: a 429, or a 503 with
// Retry-After, is asked again after the wait it names (the backoff's
// when it names none), up to retries times, if the request's context
// allows that wait (httpx.WithRetryWait, its deadline); otherwise it
// fails at once with an *httpx.RateLimitError saying until when, so that
// a server can answer its clients and leave the registry alone meanwhile.
// Registries' rate limits are per account or address, so ggcr's own
// retries of 429, which ignore Retry-After, are turned off (see session).
type limitTransport struct {
	next    http.RoundTripper
	retries int
	backoff httpx.Backoff
}

func (t limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	for attempt := 0; ; attempt++ {
		resp, err := t.next.RoundTrip(req)
		if err != nil || !httpx.RateLimited(resp) {
			return resp, err
		}
		now := time.Now()
		wait, ok := httpx.ParseRetryAfter(resp.Header.Get("Retry-After"), now)
		if !ok {
			wait = t.backoff.Delay(attempt)
		}
		_, _ = io.CopyN(io.Discard, resp.Body, 4<<10) // so the connection is reused
		_ = resp.Body.Close()                         // nothing to report about a discarded body
		hasBody := req.Body != nil && req.Body != http.NoBody
		if attempt >= t.retries || hasBody || wait > httpx.RetryWait(ctx) {
			return nil, &httpx.RateLimitError{URL: req.URL.Redacted(), StatusCode: resp.StatusCode, Until: now.Add(wait)}
		}
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		}
	}
}

// retryStatus are the statuses ggcr retries itself, with its backoff:
// its defaults but 429, which limitTransport answers.
var retryStatus = []int{
	http.StatusRequestTimeout,
	http.StatusInternalServerError,
	http.StatusBadGateway,
	http.StatusServiceUnavailable,
	http.StatusGatewayTimeout,
	499, // nginx: client closed request
	522, // Cloudflare: connection timed out
}
