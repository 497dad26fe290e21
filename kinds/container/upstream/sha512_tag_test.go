package upstream_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/kinds/container"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

// TestSyncSHA512Tag: a tag the upstream resolves to a sha512 digest is
// served by the mirror with that digest, and the manifest is there by
// it too: a client that resolves the tag and then fetches the manifest
// by its digest (containerd does) finds it.
func TestSyncSHA512Tag(t *testing.T) {
	c := context.Background()
	ust, base, tok := upstreamRegistry(t)
	v2 := base + "/v2/lib/img"

	cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	resp := send(t, http.MethodPost, v2+"/blobs/uploads/?digest="+sha512Of(cfg), tok, cfg, "")
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	man := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + sha512Of(cfg) + `","size":` + strconv.Itoa(len(cfg)) + `},"layers":[]}`)
	resp = send(t, http.MethodPut, v2+"/manifests/"+sha512Of(man), tok, man, "application/vnd.oci.image.manifest.v1+json")
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	// The upstream's tag names the manifest by its sha512 digest.
	id := objects.ID(sha256.Sum256(man))
	_, err := ust.Commit(c, "src", repo.CommitRequest{Records: []repo.Record{{Path: container.TagPath("v1"), SHA256: id, Size: int64(len(man)),
		Metadata: container.TagMetadata("application/vnd.oci.image.manifest.v1+json", sha512Of(man))}}})
	require.NoError(t, err)
	resp = send(t, http.MethodHead, v2+"/manifests/v1", "", nil, "")
	require.Equal(t, sha512Of(man), resp.Header.Get("Docker-Content-Digest"))

	e := newEnv(t)
	e.remote(base, "lib/img")
	e.syncOK(false)
	_, err = e.st.Fsck(c)
	require.NoError(t, err)

	mdists := dist.NewDists(e.st)
	_, err = mdists.Create(c, "mirror", dist.DistSpec{BasePath: "mirror/img", Repo: "mirror"})
	require.NoError(t, err)
	mbase, _ := registryOf(t, e.st, mdists)
	resp = send(t, http.MethodGet, mbase+"/v2/mirror/img/manifests/v1", "", nil, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	d := resp.Header.Get("Docker-Content-Digest")
	require.Equal(t, sha512Of(man), d)
	resp = send(t, http.MethodGet, mbase+"/v2/mirror/img/manifests/"+d, "", nil, "")
	require.Equal(t, http.StatusOK, resp.StatusCode, "the manifest by the digest its tag gives")
	var got bytes.Buffer
	_, err = got.ReadFrom(resp.Body)
	require.NoError(t, err)
	require.Equal(t, man, got.Bytes())
	require.Equal(t, d, resp.Header.Get("Docker-Content-Digest"))
}
