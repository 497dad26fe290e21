package registry_test

import (
	"encoding/json"
	"net/http"
	"strings"
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
	restore := registry.SetBeforeDeleteCommit(func() {
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
	restore = registry.SetBeforeDeleteCommit(func() {
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

// TestManifestDeleteRace: a manifest that references a blob of another
// manifest commits after a DELETE of that other manifest listed the
// blobs only it references and before its commit: the blob stays for the
// new manifest, through gc.
func TestManifestDeleteRace(t *testing.T) {
	f := newFixture(t)
	m := f.image("test/img", "shared later", "")
	resp, body := f.putManifest("test/img", "v1", m, f.admin)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
	var mm struct{ Config struct{ Digest string } }
	require.NoError(t, json.Unmarshal(m, &mm))
	cfgRec, err := f.st.Stat(f.ctx, "img", "blobs/sha256/"+strings.TrimPrefix(mm.Config.Digest, "sha256:"))
	require.NoError(t, err)
	m2 := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + mm.Config.Digest + `","size":` + itoa(int(cfgRec.Size)) + `},"layers":[]}`)
	var restore func()
	restore = registry.SetBeforeDeleteCommit(func() {
		restore()
		resp, body := f.putManifest("test/img", "v2", m2, f.admin)
		require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
	})
	defer restore()
	resp, body = f.do(http.MethodDelete, "/v2/test/img/manifests/"+digestOf(m), f.admin, nil)
	require.Equal(t, http.StatusAccepted, resp.StatusCode, string(body))
	resp, _ = f.do(http.MethodGet, "/v2/test/img/manifests/"+digestOf(m), "", nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "deleted")
	f.gc()
	resp, _ = f.do(http.MethodGet, "/v2/test/img/blobs/"+mm.Config.Digest, "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "v2's config stays")
	f.fsckClean()
}
