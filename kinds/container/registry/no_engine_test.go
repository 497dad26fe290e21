package registry_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/content"
)

// A server given no upload engine refuses blob uploads with the spec's
// UNSUPPORTED, after authentication as for any push, and keeps nothing;
// a manifest whose blobs a version holds is still taken.
func TestPushWithoutEngine(t *testing.T) {
	f := newFixture(t)
	m := f.image("test/img", "one", "")
	resp, body := f.putManifest("test/img", "v1", m, f.admin)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
	pushed := f.pushBlob("test/img", []byte("pushed, in no version"))

	g := f.second(content.WithUploads(nil))
	blob := []byte("a layer")
	d := digestOf(blob)
	id := strings.Repeat("ab", 16)
	for _, c := range []struct{ method, path string }{
		{http.MethodPost, "/v2/test/img/blobs/uploads/"},
		{http.MethodPost, "/v2/test/img/blobs/uploads/?digest=" + d},
		{http.MethodPost, "/v2/test/img/blobs/uploads/?mount=" + d + "&from=other"},
		{http.MethodGet, "/v2/test/img/blobs/uploads/" + id},
		{http.MethodPatch, "/v2/test/img/blobs/uploads/" + id},
		{http.MethodPut, "/v2/test/img/blobs/uploads/" + id + "?digest=" + d},
		{http.MethodDelete, "/v2/test/img/blobs/uploads/" + id},
	} {
		resp, body := g.do(c.method, c.path, "", blob)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "%s %s: %s", c.method, c.path, body)
		resp, body = g.do(c.method, c.path, g.admin, blob)
		require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, "%s %s: %s", c.method, c.path, body)
		require.Equal(t, "UNSUPPORTED", errCode(t, body), "%s %s", c.method, c.path)
		require.Contains(t, string(body), "upload")
	}
	_, err := g.st.Objects().StatBlob(g.ctx, mustID(t, d))
	require.Error(t, err, "nothing was stored")

	// Blobs no version holds are unknown here, even one pushed through a
	// server with an engine; a manifest naming one is refused.
	resp, body = g.do(http.MethodGet, "/v2/test/img/blobs/"+pushed, g.admin, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode, string(body))
	require.Equal(t, "BLOB_UNKNOWN", errCode(t, body))
	withPushed := strings.Replace(string(m), `"layers":[{`, `"layers":[{"mediaType":"x","digest":"`+pushed+`","size":21},{`, 1)
	resp, body = g.putManifest("test/img", "v2", []byte(withPushed), g.admin)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, string(body))
	require.Equal(t, "MANIFEST_BLOB_UNKNOWN", errCode(t, body))

	resp, body = g.putManifest("test/img", "v1-again", m, g.admin)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
}
