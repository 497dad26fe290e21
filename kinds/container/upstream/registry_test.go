package upstream_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// counter is a reverse proxy in front of a registry that counts the
// requests by method and kind ("GET blobs", "HEAD manifests", ...).
type counter struct {
	srv *httptest.Server
	mu  sync.Mutex
	n   map[string]int
}

func newCounter(t *testing.T, target string) *counter {
	u, err := url.Parse(target)
	require.NoError(t, err)
	c := &counter{n: make(map[string]int)}
	rp := httputil.NewSingleHostReverseProxy(u)
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := "other"
		for _, k := range []string{"/blobs/", "/manifests/", "/tags/"} {
			if strings.Contains(r.URL.Path, k) {
				kind = strings.Trim(k, "/")
			}
		}
		c.mu.Lock()
		c.n[r.Method+" "+kind]++
		c.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *counter) reset() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = make(map[string]int)
	return n
}

// ctx is a test's context.
func ctx(t *testing.T) context.Context { return t.Context() }
