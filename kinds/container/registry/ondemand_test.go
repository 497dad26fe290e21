package registry_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/container"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

// TestManifestNamesOnDemandBlob: a manifest pushed to a repository whose
// version holds a layer on demand (pulled through, its bytes not fetched
// yet) goes in, and the layer stays on demand: its record keeps where
// its bytes come from.
func TestManifestNamesOnDemandBlob(t *testing.T) {
	f := newFixture(t)
	layer := []byte("a layer whose bytes are still upstream")
	id := objects.Sum(layer)
	onDemand := map[string]string{container.MetaMediaType: "application/vnd.oci.image.layer.v1.tar", repo.MetaRemote: "hub", repo.MetaURL: "https://upstream.example/v2/lib/img/blobs/sha256:" + id.String()}
	_, err := f.st.Commit(f.ctx, "img", repo.CommitRequest{Records: []repo.Record{{Path: container.BlobPath(id.String()), SHA256: id, Size: int64(len(layer)), Metadata: onDemand}}})
	require.NoError(t, err)

	cfg := []byte(`{"architecture":"amd64","os":"linux","x":"on demand"}`)
	f.pushBlob("test/img", cfg)
	m := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + digestOf(cfg) + `","size":` + itoa(len(cfg)) + `},` +
		`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"` + digestOf(layer) + `","size":` + itoa(len(layer)) + `}]}`)
	resp, body := f.putManifest("test/img", "v1", m, f.admin)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
	rec, err := f.st.Stat(f.ctx, "img", container.BlobPath(id.String()))
	require.NoError(t, err)
	require.True(t, repo.IsOnDemand(rec), "%v", rec.Metadata)
	require.Equal(t, onDemand[repo.MetaURL], rec.Metadata[repo.MetaURL])
}
