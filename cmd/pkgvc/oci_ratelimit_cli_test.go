package main

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/container/upstream/ocitest"
)

// limiter fronts a registry: while limited it answers 429 with
// Retry-After, as Docker Hub does past its pull limit; it counts the
// requests that reach it.
type limiter struct {
	next     http.Handler
	requests atomic.Int64
	mu       sync.Mutex
	times    int       // the next so many requests get 429
	until    time.Time // every request before it gets 429
	after    string    // the Retry-After sent
}

func newLimiter(t *testing.T, addr string) (*limiter, string) {
	u, err := url.Parse("http://" + addr)
	require.NoError(t, err)
	l := &limiter{next: httputil.NewSingleHostReverseProxy(u)}
	srv := httptest.NewServer(l)
	t.Cleanup(srv.Close)
	return l, srv.URL
}

func (l *limiter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.requests.Add(1)
	l.mu.Lock()
	limited := l.times > 0 || time.Now().Before(l.until)
	if l.times > 0 {
		l.times--
	}
	after := l.after
	l.mu.Unlock()
	if limited {
		w.Header().Set("Retry-After", after)
		http.Error(w, `{"errors":[{"code":"TOOMANYREQUESTS","message":"pull rate limit"}]}`, http.StatusTooManyRequests)
		return
	}
	l.next.ServeHTTP(w, r)
}

func (l *limiter) set(f func(l *limiter)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f(l)
}

// craneBin finds crane, on PATH or in GOPATH/bin.
func craneBin(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("crane"); err == nil {
		return p
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	require.NoError(t, err)
	p := filepath.Join(strings.TrimSpace(string(out)), "bin", "crane")
	_, err = exec.LookPath(p)
	require.NoError(t, err, "crane is not installed (go install github.com/google/go-containerregistry/cmd/crane)")
	return p
}

// TestContainerSyncRetryAfter: a sync from a registry answering 429 with
// Retry-After waits as asked and succeeds within its retries.
func TestContainerSyncRetryAfter(t *testing.T) {
	up := ocitest.Start(t, "")
	d := up.Push("library/alpine", "3", ocitest.NewImage(t, "linux", "amd64", true, 3000))
	lim, base := newLimiter(t, up.Addr)
	h := newHarness(t)
	h.ok("repo", "create", "mirror", "--kind", "container")
	h.ok("remote", "create", "hub", "--kind", "container", "--url", base, "--upstream-name", "library/alpine", "--retries", "3")
	lim.set(func(l *limiter) { l.times, l.after = 2, "1" })
	start := time.Now()
	h.ok("sync", "hub", "mirror")
	require.GreaterOrEqual(t, time.Since(start), 2*time.Second, "both waits were honoured")
	require.Equal(t, d.Hex, h.lsMap("mirror")["tags/3"])

	// More 429s than retries: the sync fails, saying why.
	lim.set(func(l *limiter) { l.times, l.after = 10, "0" })
	res := h.run("sync", "hub", "mirror")
	require.Equal(t, 1, res.code, "%s", res)
	require.Contains(t, res.stderr, "429")
}

// TestContainerPullThroughRateLimitCrane serves a pull-through
// distribution whose upstream rate-limits: crane gets the cached tag,
// an uncached one is 429 with Retry-After and does not reach the
// upstream while it lasts, and is pulled once it is over.
func TestContainerPullThroughRateLimitCrane(t *testing.T) {
	crane := craneBin(t)
	up := ocitest.Start(t, "")
	img3 := ocitest.NewImage(t, "linux", "amd64", true, 3000)
	d3 := up.Push("library/alpine", "3", img3)
	layer3, err := img3.LayerList[0].Digest()
	require.NoError(t, err)
	d4 := up.Push("library/alpine", "4", ocitest.NewImage(t, "linux", "amd64", true, 3000))
	lim, base := newLimiter(t, up.Addr)
	h := newHarness(t)
	h.ok("repo", "create", "cacherepo", "--kind", "container")
	h.ok("remote", "create", "hub", "--kind", "container", "--url", base, "--upstream-name", "library/alpine", "--retries", "0", "--read-timeout", "1s", "--policy", "on_demand")
	h.ok("dist", "create", "cache", "--base-path", "cache/alpine", "--repo", "cacherepo", "--remote", "hub", "--pull-through-ttl", "1ms")
	srvURL, stderr := startServe(t, h)
	srv := strings.TrimPrefix(srvURL, "http://")
	craneDo := func(args ...string) (string, error) {
		out, err := exec.Command(crane, append(args, "--insecure")...).CombinedOutput()
		return string(out), err
	}
	out, err := craneDo("digest", srv+"/cache/alpine:3")
	require.NoError(t, err, "%s\nserve: %s", out, stderr)
	require.Equal(t, d3.String(), strings.TrimSpace(out))

	// Longer than crane's own retries of a 429 (about 4s).
	window := 7 * time.Second
	lim.set(func(l *limiter) { l.until, l.after = time.Now().Add(window), strconv.Itoa(int(window/time.Second)) })
	before := lim.requests.Load()
	start := time.Now()
	out, err = craneDo("digest", srv+"/cache/alpine:3")
	require.NoError(t, err, "the cached tag is served: %s", out)
	require.Equal(t, d3.String(), strings.TrimSpace(out))
	asked := lim.requests.Load()
	require.Greater(t, asked, before, "the upstream was asked")

	resp, err := http.Get(srvURL + "/v2/cache/alpine/manifests/4")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	after, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	require.NoError(t, err)
	require.True(t, after >= 1 && after <= int(window/time.Second), "Retry-After %d", after)
	require.Less(t, time.Since(start), window-time.Second, "answered within the read timeout")
	// A layer fetched on demand: 429 too, without asking the upstream.
	resp, err = http.Get(srvURL + "/v2/cache/alpine/blobs/" + layer3.String())
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	require.NotEmpty(t, resp.Header.Get("Retry-After"))
	out, err = craneDo("manifest", srv+"/cache/alpine:4") // one GET, retried by crane
	require.Less(t, time.Since(start), window, "crane gave up within the window")
	require.Error(t, err, "crane, within the window: %s", out)
	require.Contains(t, out, "TOOMANYREQUESTS")
	require.Equal(t, asked, lim.requests.Load(), "no request reached the upstream within its wait: %s", stderr)

	time.Sleep(time.Until(start.Add(window + 100*time.Millisecond)))
	out, err = craneDo("digest", srv+"/cache/alpine:4")
	require.NoError(t, err, "%s\nserve: %s", out, stderr)
	require.Equal(t, d4.String(), strings.TrimSpace(out))
	require.Equal(t, d4.Hex, h.lsMap("cacherepo")["tags/4"])
	out, err = craneDo("blob", srv+"/cache/alpine@"+layer3.String())
	require.NoError(t, err, "the layer, after the window")
	require.Len(t, out, 3000)
}
