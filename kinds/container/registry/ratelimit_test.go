package registry_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/httpx"
	cupstream "github.com/pkgvc/pkgvc/kinds/container/upstream"
	"github.com/pkgvc/pkgvc/kinds/container/upstream/ocitest"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
)

// limitedUpstream is upstream answering as a rate-limited registry does
// while limit is in the future.
type limitedUpstream struct {
	upstream
	limit time.Time
}

func (u *limitedUpstream) pull(ctx context.Context, remote, rp string, names []string) (content.PullResult, error) {
	u.mu.Lock()
	if time.Now().Before(u.limit) {
		u.calls = append(u.calls, names...)
		until := u.limit
		u.mu.Unlock()
		return content.PullResult{}, &httpx.RateLimitError{URL: "http://upstream/v2/", StatusCode: http.StatusTooManyRequests, Until: until}
	}
	u.mu.Unlock()
	return u.upstream.pull(ctx, remote, rp, names)
}

func (u *limitedUpstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.calls)
}

// A rate-limited upstream: a cached tag is served, an uncached one is 429
// with the upstream's remaining wait, no pull reaches the upstream within
// it, and the pull succeeds after it; a wait within the read timeout is
// waited for.
func TestPullThroughRateLimited(t *testing.T) {
	up := &limitedUpstream{upstream: upstream{images: map[string][]byte{}}}
	readTimeout := 500 * time.Millisecond
	f := newFixture(t, content.WithPullThrough(up.pull), content.WithPullWait(func(context.Context, string) time.Duration { return readTimeout }))
	up.st = f.st
	_, err := f.st.CreateRepo(f.ctx, "cache", repo.CreateOptions{Kind: "container"})
	require.NoError(t, err)
	ttl := time.Millisecond
	_, err = f.dists.Create(f.ctx, "cache", dist.DistSpec{BasePath: "cache/alpine", Repo: "cache", Remote: "hub", PullThroughTTL: &ttl})
	require.NoError(t, err)
	m1 := f.image("cache/alpine", "one", "")
	m2 := f.image("cache/alpine", "two", "")
	up.set(func() { up.images["1"], up.images["2"] = m1, m2 })
	resp, body := f.do(http.MethodGet, "/v2/cache/alpine/manifests/1", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	calls := up.count()

	window := 3 * time.Second
	up.set(func() { up.limit = time.Now().Add(window) })
	time.Sleep(2 * ttl)
	// The cached tag is served, at once, though the upstream says 429.
	start := time.Now()
	resp, body = f.do(http.MethodGet, "/v2/cache/alpine/manifests/1", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	require.Equal(t, m1, body)
	require.Less(t, time.Since(start), window/2)
	require.Equal(t, calls+1, up.count(), "the upstream was asked once")

	// An uncached tag: 429 with the remaining wait, within the read timeout.
	start = time.Now()
	resp, body = f.do(http.MethodGet, "/v2/cache/alpine/manifests/2", "", nil)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, string(body))
	require.Equal(t, "TOOMANYREQUESTS", errCode(t, body))
	require.LessOrEqual(t, time.Since(start), readTimeout+time.Second)
	after, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	require.NoError(t, err, resp.Header.Get("Retry-After"))
	require.True(t, after >= 1 && after <= 3, "Retry-After %d", after)
	require.Equal(t, calls+1, up.count(), "no upstream request within the wait")
	for range 3 {
		resp, _ = f.do(http.MethodGet, "/v2/cache/alpine/manifests/2", "", nil)
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		resp, _ = f.do(http.MethodGet, "/v2/cache/alpine/manifests/1", "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	require.Equal(t, calls+1, up.count(), "no upstream request within the wait")

	// After the window the pull goes through.
	up.mu.Lock()
	until := up.limit
	up.mu.Unlock()
	time.Sleep(time.Until(until))
	resp, body = f.do(http.MethodGet, "/v2/cache/alpine/manifests/2", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	require.Equal(t, m2, body)

	// A wait shorter than the read timeout is waited for.
	up.set(func() { up.images["3"] = m1; up.limit = time.Now().Add(readTimeout / 3) })
	time.Sleep(2 * ttl)
	resp, body = f.do(http.MethodGet, "/v2/cache/alpine/manifests/1", "", nil) // learns the wait
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	resp, body = f.do(http.MethodGet, "/v2/cache/alpine/manifests/3", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	require.Equal(t, m1, body)
}

// An upstream that asks for no wait, again and again, is asked a few
// times per request, not forever.
func TestPullThroughRateLimitNoWait(t *testing.T) {
	var calls int
	var mu sync.Mutex
	pull := func(ctx context.Context, remote, rp string, names []string) (content.PullResult, error) {
		mu.Lock()
		calls++
		mu.Unlock()
		return content.PullResult{}, &httpx.RateLimitError{URL: "http://upstream/v2/", StatusCode: http.StatusTooManyRequests, Until: time.Now()}
	}
	f := newFixture(t, content.WithPullThrough(pull), content.WithPullWait(func(context.Context, string) time.Duration { return time.Minute }))
	_, err := f.st.CreateRepo(f.ctx, "cache", repo.CreateOptions{Kind: "container"})
	require.NoError(t, err)
	_, err = f.dists.Create(f.ctx, "cache", dist.DistSpec{BasePath: "cache/alpine", Repo: "cache", Remote: "hub"})
	require.NoError(t, err)
	resp, body := f.do(http.MethodGet, "/v2/cache/alpine/manifests/1", "", nil)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, string(body))
	require.Equal(t, "1", resp.Header.Get("Retry-After"))
	mu.Lock()
	defer mu.Unlock()
	require.LessOrEqual(t, calls, 4)
	require.GreaterOrEqual(t, calls, 2, "a wait within the read timeout is waited for, then asked again")
}

// A namespace cache over a registry answering 429 with Retry-After: a
// cached image is served, an image never seen is 429 with the remaining
// wait and creates no repository, no request reaches the registry
// within the wait, and the image comes once it is over.
func TestNamespaceCacheRateLimited(t *testing.T) {
	e := newNSEnv(t, content.WithPullWait(func(context.Context, string) time.Duration { return 500 * time.Millisecond }))
	a := e.up.Push("library/a", "1", ocitest.NewImage(t, "linux", "amd64", true, 1000))
	b := e.up.Push("library/b", "1", ocitest.NewImage(t, "linux", "amd64", true, 1000))
	var (
		mu       sync.Mutex
		until    time.Time
		requests int
	)
	target, err := url.Parse(e.up.URL())
	require.NoError(t, err)
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests++
		limited := time.Now().Before(until)
		mu.Unlock()
		if limited {
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	_, err = e.m.Create(e.ctx, remote.Remote{Name: "lim", Kind: cupstream.Kind, URL: proxy.URL, Retries: 1})
	require.NoError(t, err)
	ttl := time.Millisecond
	_, err = e.ds.Create(e.ctx, "lim", dist.DistSpec{BasePath: "lim", Remote: "lim", PullThroughTTL: &ttl})
	require.NoError(t, err)

	got, err := e.image("lim/library/a:1")
	require.NoError(t, err)
	require.Equal(t, a, got)

	mu.Lock()
	until = time.Now().Add(3 * time.Second)
	mu.Unlock()
	got, err = e.image("lim/library/a:1")
	require.NoError(t, err, "the cached image is served")
	require.Equal(t, a, got)
	mu.Lock()
	asked := requests
	mu.Unlock()
	for range 3 {
		resp, body := e.do(http.MethodGet, "/v2/lim/library/b/manifests/1", "", nil)
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, string(body))
		require.Equal(t, "TOOMANYREQUESTS", errCode(t, body))
		require.NotEmpty(t, resp.Header.Get("Retry-After"))
	}
	mu.Lock()
	require.Equal(t, asked, requests, "no request reached the registry within its wait")
	mu.Unlock()
	require.NotContains(t, e.cacheRepos(), "lim:library/b", "no repository for an image never fetched")

	mu.Lock()
	wait := time.Until(until)
	mu.Unlock()
	time.Sleep(wait)
	got, err = e.image("lim/library/b:1")
	require.NoError(t, err)
	require.Equal(t, b, got)
}
