package httpx_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/httpx"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	d, ok := httpx.ParseRetryAfter("120", now)
	require.True(t, ok)
	require.Equal(t, 2*time.Minute, d)
	d, ok = httpx.ParseRetryAfter(now.Add(30*time.Second).Format(http.TimeFormat), now)
	require.True(t, ok)
	require.Equal(t, 30*time.Second, d)
	d, ok = httpx.ParseRetryAfter(now.Add(-time.Hour).Format(http.TimeFormat), now)
	require.True(t, ok)
	require.Zero(t, d)
	for _, huge := range []string{"9000000000", "99999999999", "99999999999999999999", "Fri, 31 Dec 9999 23:59:59 GMT"} {
		d, ok = httpx.ParseRetryAfter(huge, now)
		require.True(t, ok, huge)
		require.Equal(t, httpx.MaxRetryAfter, d, huge)
	}
	for _, bad := range []string{"", "-1", "soon"} {
		_, ok = httpx.ParseRetryAfter(bad, now)
		require.False(t, ok, bad)
	}
}

// A Retry-After longer than the context allows fails at once with a
// *RateLimitError, which is not retried; a short one is waited for.
func TestRetryWaitBound(t *testing.T) {
	var hits atomic.Int64
	var after atomic.Value
	after.Store("30")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			w.Header().Set("Retry-After", after.Load().(string))
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	c, err := httpx.New(httpx.Config{Retries: 3})
	require.NoError(t, err)

	start := time.Now()
	_, err = c.Get(httpx.WithRetryWait(context.Background(), time.Second), srv.URL)
	var rl *httpx.RateLimitError
	require.True(t, errors.As(err, &rl), "%v", err)
	require.Less(t, time.Since(start), time.Second)
	require.Equal(t, http.StatusTooManyRequests, rl.StatusCode)
	require.InDelta(t, 30, rl.RetryAfter(time.Now()).Seconds(), 2)
	require.False(t, httpx.Retryable(context.Background(), err))
	var se *httpx.StatusError
	require.True(t, errors.As(err, &se), "still a status error")
	require.EqualValues(t, 1, hits.Load())

	hits.Store(0)
	after.Store("1")
	start = time.Now()
	resp, err := c.Get(httpx.WithRetryWait(context.Background(), 2*time.Second), srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	require.GreaterOrEqual(t, time.Since(start), time.Second)
	require.EqualValues(t, 2, hits.Load())
}
