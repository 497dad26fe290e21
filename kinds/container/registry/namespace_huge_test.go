package registry_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/dist"
	cupstream "github.com/pkgvc/pkgvc/kinds/container/upstream"
	"github.com/pkgvc/pkgvc/remote"
)

// An upstream answering a manifest with far more bytes than a manifest
// may hold: the pull fails with a 502 once the bound is passed, having
// read little more than the bound, not the whole body into memory.
func TestNamespaceCacheHugeManifest(t *testing.T) {
	e := newNSEnv(t)
	for _, withLength := range []bool{true, false} {
		hugeManifest(t, e, withLength)
	}
}

func hugeManifest(t *testing.T, e *nsEnv, withLength bool) {
	const huge = 64 << 20
	var sent atomic.Int64
	chunk := []byte(`{"schemaVersion":2,"x":"` + strings.Repeat("a", 64<<10-30) + `",`)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v2/":
			w.WriteHeader(http.StatusOK)
		case strings.Contains(r.URL.Path, "/manifests/"):
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			if withLength {
				w.Header().Set("Content-Length", strconv.Itoa(huge))
			}
			if r.Method == http.MethodHead {
				w.Header().Set("Docker-Content-Digest", "sha256:"+strings.Repeat("0", 64))
				return
			}
			for n := 0; n < huge; n += len(chunk) {
				k, err := w.Write(chunk[:min(len(chunk), huge-n)])
				sent.Add(int64(k))
				if err != nil {
					return
				}
			}
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(up.Close)
	name := "big" + strconv.FormatBool(withLength)
	_, err := e.m.Create(e.ctx, remote.Remote{Name: name, Kind: cupstream.Kind, URL: up.URL, Retries: 0})
	require.NoError(t, err)
	_, err = e.ds.Create(e.ctx, name, dist.DistSpec{BasePath: name, Remote: name})
	require.NoError(t, err)
	resp, body := e.do(http.MethodGet, "/v2/"+name+"/team/app/manifests/1", "", nil)
	require.Equal(t, http.StatusBadGateway, resp.StatusCode, string(body))
	require.Less(t, sent.Load(), int64(24<<20), "read %d bytes of a %d-byte manifest (length told: %v)", sent.Load(), huge, withLength)
	require.Empty(t, e.cacheRepos())
}
