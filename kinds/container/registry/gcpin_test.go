package registry_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/repo"
)

// TestPushAcrossGCWithoutGrace pushes an image while gc runs with no
// grace between every step: a chunked upload in progress, blobs pushed
// before their manifest, the manifest. The push succeeds and the image
// pulls whole.
func TestPushAcrossGCWithoutGrace(t *testing.T) {
	f := newFixture(t)
	gc := func() {
		t.Helper()
		_, err := f.st.GC(f.ctx, repo.GCOptions{Grace: -1})
		require.NoError(t, err)
	}
	layer := bytes.Repeat([]byte("layer bytes "), 5000)
	ld := digestOf(layer)
	resp, body := f.do(http.MethodPost, "/v2/test/img/blobs/uploads/", f.admin, nil)
	require.Equal(t, http.StatusAccepted, resp.StatusCode, string(body))
	loc := resp.Header.Get("Location")
	resp, _ = f.do(http.MethodPatch, loc, f.admin, layer[:20000], "Content-Range", "0-19999")
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	gc() // the session's bytes so far survive
	resp, body = f.do(http.MethodPatch, loc, f.admin, layer[20000:], "Content-Range", "20000-"+itoa(len(layer)-1))
	require.Equal(t, http.StatusAccepted, resp.StatusCode, string(body))
	resp, body = f.do(http.MethodPut, loc+"?digest="+ld, f.admin, nil)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
	gc() // the pushed layer is pinned

	cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	cd := f.pushBlob("test/img", cfg)
	gc()
	m := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + cd + `","size":` + itoa(len(cfg)) + `},` +
		`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"` + ld + `","size":` + itoa(len(layer)) + `}]}`)
	resp, body = f.putManifest("test/img", "v1", m, f.admin)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
	gc()

	res, err := f.st.Fsck(f.ctx)
	require.NoError(t, err)
	require.Empty(t, res.Problems)
	for d, want := range map[string][]byte{ld: layer, cd: cfg} {
		resp, body = f.do(http.MethodGet, "/v2/test/img/blobs/"+d, f.admin, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, want, body)
	}
	resp, body = f.do(http.MethodGet, "/v2/test/img/manifests/v1", f.admin, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, m, body)
}
