package httpx

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
)

// RateLimitError reports an upstream that asked to be left alone until
// Until: a 429, or a 503 with Retry-After, whose wait was not (or no
// longer) worth waiting for here. It is never retried: the caller decides
// whether to wait (see WithRetryWait).
type RateLimitError struct {
	URL        string
	StatusCode int
	Until      time.Time
	// Err is the final response's *StatusError, if it came from one.
	Err error
}

func (e *RateLimitError) Unwrap() error { return e.Err }

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("GET %s: %d %s: the upstream asks to retry after %s", e.URL, e.StatusCode, http.StatusText(e.StatusCode), e.Until.UTC().Format(time.RFC3339))
}

// RetryAfter is how long from now the upstream asks to wait (0 once Until
// passed).
func (e *RateLimitError) RetryAfter(now time.Time) time.Duration { return max(e.Until.Sub(now), 0) }

// MaxRetryAfter bounds the wait a Retry-After names: one answer (a
// wrong clock, a misconfigured proxy) must not shut an upstream for the
// life of the process; past it the upstream is asked again, and tells.
const MaxRetryAfter = time.Hour

// ParseRetryAfter reads a Retry-After value, seconds or an HTTP date,
// as a wait from now up to MaxRetryAfter; ok is false for a missing or
// malformed value.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	s, err := strconv.ParseInt(v, 10, 64)
	if errors.Is(err, strconv.ErrRange) && v[0] != '-' {
		s, err = math.MaxInt64, nil
	}
	if err == nil && s >= 0 {
		return time.Duration(min(s, int64(MaxRetryAfter/time.Second))) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), MaxRetryAfter), true
	}
	return 0, false
}

// RateLimited reports whether a response asks the client to slow down:
// a 429, or a 503 that says when to come back.
func RateLimited(r *http.Response) bool {
	return r.StatusCode == http.StatusTooManyRequests ||
		r.StatusCode == http.StatusServiceUnavailable && r.Header.Get("Retry-After") != ""
}

type retryWaitKey struct{}

// WithRetryWait bounds how long a Retry-After is waited for by requests
// made with the returned context: an upstream asking for more fails them
// at once with a *RateLimitError, which the caller can remember. 0 waits
// for none. Without it the bound is maxRetryAfter.
func WithRetryWait(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, retryWaitKey{}, max(d, 0))
}

// RetryWait returns the bound WithRetryWait set on ctx, else
// maxRetryAfter; a deadline of ctx nearer than that bounds it too.
func RetryWait(ctx context.Context) time.Duration {
	d := maxRetryAfter
	if v, ok := ctx.Value(retryWaitKey{}).(time.Duration); ok {
		d = v
	}
	if dl, ok := ctx.Deadline(); ok {
		d = min(d, time.Until(dl))
	}
	return max(d, 0)
}

// SetRetryAfter sets the Retry-After header of h to d in whole seconds,
// rounded up, as clients read it.
func SetRetryAfter(h http.Header, d time.Duration) {
	h.Set("Retry-After", strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10))
}
