package upstream_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/container/upstream"
)

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestSyncSkipsNonDistributableLayers: a mirror records and fetches the
// config and distributable layers of an image, and leaves out its
// non-distributable (foreign) layers, which the registry does not serve:
// it never asks for them.
func TestSyncSkipsNonDistributableLayers(t *testing.T) {
	cfg := []byte(`{"architecture":"amd64","os":"windows","rootfs":{"type":"layers","diff_ids":[]}}`)
	layer := []byte("a distributable layer")
	foreign := []string{strings.Repeat("c5", 32), strings.Repeat("75", 32), strings.Repeat("e1", 32)}
	desc := func(mt, h string, size int) string {
		return `{"mediaType":"` + mt + `","digest":"sha256:` + h + `","size":` + strconv.Itoa(size) + `,"urls":["https://store.example.com/` + h + `"]}`
	}
	m := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:` + sha(cfg) + `","size":` + strconv.Itoa(len(cfg)) + `},"layers":[` +
		desc("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", foreign[0], 123456) + `,` +
		desc("application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", foreign[1], 1234) + `,` +
		desc("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", foreign[2], 12345) + `,` +
		`{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:` + sha(layer) + `","size":` + strconv.Itoa(len(layer)) + `}]}`)
	blobs := map[string][]byte{sha(cfg): cfg, sha(layer): layer}
	var mu sync.Mutex
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.Method+" "+r.URL.Path)
		mu.Unlock()
		const base = "/v2/win/"
		switch p := r.URL.Path; {
		case p == "/v2/":
			w.WriteHeader(http.StatusOK)
		case p == base+"tags/list":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"name":"win","tags":["v1"]}`))
		case p == base+"manifests/v1" || p == base+"manifests/sha256:"+sha(m):
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			w.Header().Set("Docker-Content-Digest", "sha256:"+sha(m))
			w.Header().Set("Content-Length", strconv.Itoa(len(m)))
			if r.Method != http.MethodHead {
				_, _ = w.Write(m)
			}
		case strings.HasPrefix(p, base+"blobs/sha256:") && blobs[strings.TrimPrefix(p, base+"blobs/sha256:")] != nil:
			b := blobs[strings.TrimPrefix(p, base+"blobs/sha256:")]
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			if r.Method != http.MethodHead {
				_, _ = w.Write(b)
			}
		default:
			http.Error(w, `{"errors":[{"code":"BLOB_UNKNOWN"}]}`, http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)

	e := newEnv(t)
	e.remote(srv.URL, "win")
	e.syncOK(false)
	recs := e.records()
	require.Contains(t, recs, upstream.ManifestsDir+sha(m))
	require.Contains(t, recs, upstream.TagsDir+"v1")
	require.Equal(t, cfg, e.stored(recs[upstream.BlobsDir+sha(cfg)].SHA256))
	require.Equal(t, layer, e.stored(recs[upstream.BlobsDir+sha(layer)].SHA256))
	for _, h := range foreign {
		require.NotContains(t, recs, upstream.BlobsDir+h)
		for _, a := range asked {
			require.NotContains(t, a, h, "a foreign layer is not asked for")
		}
	}
	require.Len(t, recs, 4, "tag, manifest, config, layer")
}
