package registry_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/container"
	"github.com/pkgvc/pkgvc/kinds/container/registry"
	"github.com/pkgvc/pkgvc/repo"
)

// looseBlob commits b to img as a blob record no manifest references.
func (f *fixture) looseBlob(b []byte) {
	f.t.Helper()
	f.pushBlob("other", b)
	id := mustID(f.t, digestOf(b))
	_, err := f.st.Commit(f.ctx, "img", repo.CommitRequest{Records: []repo.Record{{Path: container.BlobPath(id.String()), SHA256: id, Size: int64(len(b))}}})
	require.NoError(f.t, err)
}

// TestBlobDeleteRaceManifest: a manifest that references a blob commits
// after a blob DELETE found it unreferenced and before the DELETE's
// commit: the DELETE is refused (405), and the manifest keeps its blob,
// through gc.
func TestBlobDeleteRaceManifest(t *testing.T) {
	f := newFixture(t)
	loose := []byte(`{"architecture":"amd64","os":"linux","x":"loose, then named"}`)
	f.looseBlob(loose)
	m := f.manifestOf(loose)
	restore := registry.SetBeforeBlobDeleteCommit(func() {
		resp, body := f.putManifest("test/img", "v1", m, f.admin)
		require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
	})
	defer restore()
	resp, body := f.deleteBlob("test/img", loose, f.admin)
	restore()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, string(body))
	require.Equal(t, "UNSUPPORTED", errCode(t, body))
	f.gc()
	f.requireBlob("test/img", "", loose)
	resp, _ = f.do(http.MethodGet, "/v2/test/img/manifests/v1", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	f.fsckClean()
}

// TestBlobDeleteRaceDelete: two DELETEs of one blob record at once: one
// removes it, the other finds it gone (404), not a server error.
func TestBlobDeleteRaceDelete(t *testing.T) {
	f := newFixture(t)
	loose := []byte("a blob deleted twice at once")
	f.looseBlob(loose)
	var restore func()
	restore = registry.SetBeforeBlobDeleteCommit(func() {
		restore() // the inner DELETE commits at once
		resp, body := f.deleteBlob("test/img", loose, f.admin)
		require.Equal(t, http.StatusAccepted, resp.StatusCode, string(body))
	})
	defer restore()
	resp, body := f.deleteBlob("test/img", loose, f.admin)
	require.Equal(t, http.StatusNotFound, resp.StatusCode, string(body))
	require.Equal(t, "BLOB_UNKNOWN", errCode(t, body))
	f.requireNoBlob("test/img", "", loose)
}
