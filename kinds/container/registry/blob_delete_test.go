package registry_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/container"
	"github.com/pkgvc/pkgvc/repo"
)

func (f *fixture) gc() {
	f.t.Helper()
	_, err := f.st.GC(f.ctx, repo.GCOptions{Grace: -1})
	require.NoError(f.t, err)
}

func (f *fixture) fsckClean() {
	f.t.Helper()
	res, err := f.st.Fsck(f.ctx)
	require.NoError(f.t, err)
	require.Empty(f.t, res.Problems)
}

func (f *fixture) deleteBlob(name string, b []byte, token string) (*http.Response, []byte) {
	return f.do(http.MethodDelete, "/v2/"+name+"/blobs/"+digestOf(b), token, nil)
}

// TestBlobDeletePushed: DELETE of a blob only pushed (no manifest names
// it) drops it from the repository at once, and lets gc have its bytes
// unless something else holds them.
func TestBlobDeletePushed(t *testing.T) {
	f := newFixture(t)
	b := []byte("pushed, then thought better of")
	f.pushBlob("test/img", b)

	resp, _ := f.deleteBlob("test/img", b, "")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, body := f.deleteBlob("test/img", b, f.reader)
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	require.Equal(t, "DENIED", errCode(t, body))
	f.requireBlob("test/img", "", b)

	resp, body = f.deleteBlob("test/img", b, f.admin)
	require.Equal(t, http.StatusAccepted, resp.StatusCode, string(body))
	f.requireNoBlob("test/img", f.admin, b)
	resp, body = f.deleteBlob("test/img", b, f.admin)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Equal(t, "BLOB_UNKNOWN", errCode(t, body))
	resp, body = f.putManifest("test/img", "v1", f.manifestOf(b), f.admin)
	require.Equal(t, "MANIFEST_BLOB_UNKNOWN", errCode(t, body), "a deleted blob is no longer there for a manifest")
	require.Equal(t, 0, f.versions("img"))

	// Nothing else held it: gc takes it.
	pinned, err := f.st.Pinned(f.ctx, mustID(t, digestOf(b)))
	require.NoError(t, err)
	require.False(t, pinned)
	f.gc()
	has, err := f.st.Objects().HasBlob(f.ctx, mustID(t, digestOf(b)))
	require.NoError(t, err)
	require.False(t, has)
	f.fsckClean()
}

// TestBlobDeleteKeepsOthers: deleting a blob from one repository leaves
// it to the other repositories that were pushed it or hold it in a
// version, through gc.
func TestBlobDeleteKeepsOthers(t *testing.T) {
	f := newFixture(t)
	pushedBoth := []byte("pushed into both repositories")
	f.pushBlob("other", pushedBoth)
	f.pushBlob("test/img", pushedBoth)

	// Held by a version of other.
	cfg := []byte(`{"architecture":"amd64","os":"linux","x":"held"}`)
	f.pushBlob("other", cfg)
	m := f.manifestOf(cfg)
	resp, body := f.putManifest("other", "v1", m, f.admin)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
	f.pushBlob("test/img", cfg)

	for _, b := range [][]byte{pushedBoth, cfg} {
		resp, body = f.deleteBlob("test/img", b, f.admin)
		require.Equal(t, http.StatusAccepted, resp.StatusCode, string(body))
		f.requireNoBlob("test/img", f.admin, b)
	}
	f.gc()
	for _, b := range [][]byte{pushedBoth, cfg} {
		f.requireBlob("other", "", b)
	}
	f.fsckClean()
}

// TestBlobDeleteReferenced: a blob a manifest of the head references is
// deleted with the manifest, not by itself: 405 UNSUPPORTED. A blob
// record no manifest references goes as a new version.
func TestBlobDeleteReferenced(t *testing.T) {
	f := newFixture(t)
	m := f.image("test/img", "kept", "")
	resp, body := f.putManifest("test/img", "v1", m, f.admin)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
	var mm struct {
		Config struct{ Digest string }
		Layers []struct{ Digest string }
	}
	require.NoError(t, json.Unmarshal(m, &mm))
	n := f.versions("img")
	for _, d := range []string{mm.Config.Digest, mm.Layers[0].Digest, digestOf(m)} {
		resp, body = f.do(http.MethodDelete, "/v2/test/img/blobs/"+d, f.admin, nil)
		require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, d)
		require.Equal(t, "UNSUPPORTED", errCode(t, body))
		resp, _ = f.do(http.MethodHead, "/v2/test/img/blobs/"+d, "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, d)
	}
	require.Equal(t, n, f.versions("img"))

	// A record of a blob without a manifest (committed by other means).
	loose := []byte("a blob no manifest names")
	f.pushBlob("other", loose)
	id := mustID(t, digestOf(loose))
	_, err := f.st.Commit(f.ctx, "img", repo.CommitRequest{Records: []repo.Record{{Path: container.BlobPath(id.String()), SHA256: id, Size: int64(len(loose))}}})
	require.NoError(t, err)
	n = f.versions("img")
	f.requireBlob("test/img", "", loose)
	resp, body = f.deleteBlob("test/img", loose, f.admin)
	require.Equal(t, http.StatusAccepted, resp.StatusCode, string(body))
	require.Equal(t, n+1, f.versions("img"))
	f.requireNoBlob("test/img", "", loose)
	f.gc()
	f.requireBlob("other", "", loose)
	f.fsckClean()
}

// manifestOf returns an image manifest whose config is cfg, without layers.
func (f *fixture) manifestOf(cfg []byte) []byte {
	return []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + digestOf(cfg) + `","size":` + itoa(len(cfg)) + `},"layers":[]}`)
}
