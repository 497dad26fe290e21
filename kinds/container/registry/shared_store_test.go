package registry_test

import (
	"bytes"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPushAcrossServers: two servers of one store, sharing no memory, take
// one push between them: a session opened on one gets chunks on both and
// is finished on the other; the same chunk sent to both at once lands
// once (the other is answered 416 with the session's range); a manifest
// PUT on either finds blobs pushed through the other.
func TestPushAcrossServers(t *testing.T) {
	f := newFixture(t)
	g := f.second()
	layer := bytes.Repeat([]byte("layer bytes "), 3000)
	ld := digestOf(layer)

	resp, body := f.do(http.MethodPost, "/v2/test/img/blobs/uploads/", f.admin, nil)
	require.Equal(t, http.StatusAccepted, resp.StatusCode, string(body))
	loc := resp.Header.Get("Location")
	const chunk = 6000
	for start := 0; start < len(layer); start += chunk {
		end := min(start+chunk, len(layer)) - 1
		rng := itoa(start) + "-" + itoa(end)
		codes := make([]int, 2)
		ranges := make([]string, 2)
		var wg sync.WaitGroup
		for i, s := range []*fixture{f, g} {
			wg.Go(func() {
				r, _ := s.do(http.MethodPatch, loc, f.admin, layer[start:end+1], "Content-Range", rng)
				codes[i], ranges[i] = r.StatusCode, r.Header.Get("Range")
			})
		}
		wg.Wait()
		require.ElementsMatch(t, []int{http.StatusAccepted, http.StatusRequestedRangeNotSatisfiable}, codes, "chunk %s", rng)
		require.Equal(t, []string{"0-" + itoa(end), "0-" + itoa(end)}, ranges)
	}
	resp, body = g.do(http.MethodGet, loc, f.admin, nil)
	require.Equal(t, http.StatusNoContent, resp.StatusCode, string(body))
	require.Equal(t, "0-"+itoa(len(layer)-1), resp.Header.Get("Range"))
	resp, body = g.do(http.MethodPut, loc+"?digest="+ld, f.admin, nil)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
	resp, _ = f.do(http.MethodGet, loc, f.admin, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "finished through the other server")

	// The pusher sees the blob on both servers before any manifest names it.
	for _, s := range []*fixture{f, g} {
		resp, _ = s.do(http.MethodHead, "/v2/test/img/blobs/"+ld, f.admin, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}

	cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	cd := g.pushBlob("test/img", cfg)
	m := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + cd + `","size":` + itoa(len(cfg)) + `},` +
		`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"` + ld + `","size":` + itoa(len(layer)) + `}]}`)
	resp, body = f.putManifest("test/img", "v1", m, f.admin)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
	resp, body = g.do(http.MethodGet, "/v2/test/img/blobs/"+ld, f.admin, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, layer, body)

	// Pushed into img is not pushed into other.
	other := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + cd + `","size":` + itoa(len(cfg)) + `},"layers":[]}`)
	resp, body = g.putManifest("other", "v1", other, f.admin)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, string(body))
	require.Equal(t, "MANIFEST_BLOB_UNKNOWN", errCode(t, body))
}
