package content

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/pkgvc/pkgvc/httpx"
	"github.com/pkgvc/pkgvc/repo"
)

// DefaultPullWait is how long a request waits for a rate-limited
// upstream when WithPullWait does not say (a remote's default read
// timeout).
const DefaultPullWait = httpx.DefaultReadTimeout

// WithPullWait sets how long a request waits in total for the upstream
// of remote when it asks to be left alone (a 429 with Retry-After): the
// remote's read timeout. Past it, the request is answered with what the
// repository holds, or a RateLimitError.
func WithPullWait(f func(ctx context.Context, remote string) time.Duration) ServerOption {
	return func(s *Server) {
		if f != nil {
			s.pullWait = f
		}
	}
}

// defaultPullWait is the pull wait without WithPullWait.
func defaultPullWait(context.Context, string) time.Duration { return DefaultPullWait }

// RateLimitError reports content a pull-through distribution lacks whose
// remote's upstream asked not to be asked again before Until (429).
type RateLimitError struct {
	Remote string
	Until  time.Time
	Err    error
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("remote %s is rate limited by its upstream until %s: %v", e.Remote, e.Until.UTC().Format(time.RFC3339), e.Err)
}

func (e *RateLimitError) Unwrap() error { return e.Err }

// SetRetryAfter sets the Retry-After header of a 429 for e: whole
// seconds from now, at least 1.
func (e *RateLimitError) SetRetryAfter(w http.ResponseWriter) {
	httpx.SetRetryAfter(w.Header(), max(time.Until(e.Until), time.Second))
}

// maxLimitedTries bounds the pulls one request makes of a rate-limited
// upstream (one that asks for no wait at all, again and again).
const maxLimitedTries = 4

// pullLimited waits for pulls of remote whose upstream rate-limits them:
// get is retried once the upstream's wait is over if that is within the
// request's budget (WithPullWait), else a *RateLimitError says until
// when. The puller remembers the wait, so no request reaches the
// upstream before it is over.
func (s *Server) pullLimited(ctx context.Context, remote string, get func() error) error {
	start := time.Now() // the wait counts from the request's pull
	var deadline time.Time
	for attempt := 1; ; attempt++ {
		err := get()
		var rl *httpx.RateLimitError
		if !errors.As(err, &rl) {
			return err
		}
		if attempt >= maxLimitedTries {
			return &RateLimitError{Remote: remote, Until: rl.Until, Err: err}
		}
		now := time.Now()
		if deadline.IsZero() {
			deadline = start.Add(s.pullWait(ctx, remote))
		}
		if rl.Until.After(deadline) {
			return &RateLimitError{Remote: remote, Until: rl.Until, Err: err}
		}
		t := time.NewTimer(rl.Until.Sub(now))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

// rateLimits remembers, by remote, until when its upstream asked to be
// left alone: one per server, shared by its pullers and on-demand
// fetches, so that no request of the server reaches that upstream
// meanwhile.
type rateLimits struct {
	mu    sync.Mutex
	until map[string]time.Time
}

func newRateLimits() *rateLimits { return &rateLimits{until: make(map[string]time.Time)} }

// check returns the rate-limit error of remote if its upstream asked to
// be left alone until after now.
func (l *rateLimits) check(remote string, now time.Time) error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	until, ok := l.until[remote]
	if !ok {
		return nil
	}
	if !now.Before(until) {
		delete(l.until, remote)
		return nil
	}
	return &httpx.RateLimitError{URL: "remote " + remote, StatusCode: http.StatusTooManyRequests, Until: until}
}

// note remembers the wait err (a pull's or fetch's failure) asks of
// remote.
func (l *rateLimits) note(remote string, err error) {
	var rl *httpx.RateLimitError
	if l == nil || !errors.As(err, &rl) {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if rl.Until.After(l.until[remote]) {
		if len(l.until) >= maxNegative {
			clear(l.until) // only saves upstream requests
		}
		l.until[remote] = rl.Until
	}
}

// pullContext is the context of a batch's pull: the upstream's waits
// are the server's to decide (pullLimited), not the pull's.
func pullContext(ctx context.Context) context.Context { return httpx.WithRetryWait(ctx, 0) }

// fetchLimited runs an on-demand fetch of rec from its remote within the
// rate limits pulls keep: a remote whose upstream asked to be left alone
// is not asked before its wait is over, and a fetch waits for a
// Retry-After no longer than the remote's read timeout. A rate-limited
// fetch returns a *RateLimitError and is remembered as a pull's is.
func (s *Server) fetchLimited(ctx context.Context, rec *repo.Record, fetch func(context.Context) error) error {
	remote := rec.Metadata[repo.MetaRemote]
	if remote == "" {
		return fetch(ctx)
	}
	err := s.limits.check(remote, time.Now())
	if err == nil {
		err = fetch(httpx.WithRetryWait(ctx, s.pullWait(ctx, remote)))
		s.limits.note(remote, err)
	}
	var rl *httpx.RateLimitError
	if errors.As(err, &rl) {
		return &RateLimitError{Remote: remote, Until: rl.Until, Err: err}
	}
	return err
}

// shareLimits gives the server's pullers one memory of rate limits.
func (s *Server) shareLimits() {
	s.limits = newRateLimits()
	if s.pull != nil {
		s.pull.limits = s.limits
	}
	if s.ns != nil {
		s.ns.pull.limits = s.limits
	}
}
