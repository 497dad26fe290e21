package registry_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/dist"
	cupstream "github.com/pkgvc/pkgvc/kinds/container/upstream"
	"github.com/pkgvc/pkgvc/kinds/container/upstream/ocitest"
	"github.com/pkgvc/pkgvc/remote"
)

// A registry answering one 429 with an absurd Retry-After (centuries, or
// more seconds than a time.Duration holds) does not shut its remote for
// the life of the server: the wait taken from it is bounded, and clients
// are told a wait within that bound.
func TestNamespaceCacheRetryAfterBounded(t *testing.T) {
	e := newNSEnv(t, content.WithPullWait(func(context.Context, string) time.Duration { return 200 * time.Millisecond }))
	e.up.Push("library/a", "1", ocitest.NewImage(t, "linux", "amd64", true, 1000))
	target, err := url.Parse(e.up.URL())
	require.NoError(t, err)
	rp := httputil.NewSingleHostReverseProxy(target)
	var after atomic.Value
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v, _ := after.Load().(string); v != "" {
			w.Header().Set("Retry-After", v)
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	for i, v := range []string{"9000000000", "99999999999", "Fri, 31 Dec 9999 23:59:59 GMT"} {
		name := "lim" + strconv.Itoa(i)
		_, err = e.m.Create(e.ctx, remote.Remote{Name: name, Kind: cupstream.Kind, URL: proxy.URL, Retries: 1})
		require.NoError(t, err)
		_, err = e.ds.Create(e.ctx, name, dist.DistSpec{BasePath: name, Remote: name})
		require.NoError(t, err)
		after.Store(v)
		resp, body := e.do(http.MethodGet, "/v2/"+name+"/library/a/manifests/1", "", nil)
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, string(body))
		secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		require.NoError(t, err, resp.Header.Get("Retry-After"))
		require.True(t, secs >= 1 && secs <= 3600, "Retry-After %d for an upstream's %q", secs, v)
	}
}
