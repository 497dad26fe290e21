package registry_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/container"
)

// TestNonDistributableLayers: a manifest may reference non-distributable
// (foreign) layers that were never pushed: it is taken, served back as
// pushed and tagged, with no record of the layers the store does not
// hold. One that was pushed is recorded as any layer.
func TestNonDistributableLayers(t *testing.T) {
	f := newFixture(t)
	cfg := []byte(`{"architecture":"amd64","os":"windows","rootfs":{"type":"layers","diff_ids":[]}}`)
	layer := []byte("a distributable layer")
	held := []byte("a non-distributable layer pushed all the same")
	f.pushBlob("test/img", cfg)
	f.pushBlob("test/img", layer)
	f.pushBlob("test/img", held)
	foreign1 := "sha256:" + strings.Repeat("c5", 32)
	foreign2 := "sha256:" + strings.Repeat("75", 32)
	desc := func(mt, d string, size int, urls bool) string {
		s := `{"mediaType":"` + mt + `","digest":"` + d + `","size":` + itoa(size)
		if urls {
			s += `,"urls":["https://store.example.com/blobs/` + d + `"]`
		}
		return s + `}`
	}
	oci := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
		`"config":` + desc("application/vnd.oci.image.config.v1+json", digestOf(cfg), len(cfg), false) + `,"layers":[` +
		desc("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", foreign1, 123456, true) + `,` +
		desc("application/vnd.oci.image.layer.nondistributable.v1.tar", foreign2, 12345, true) + `,` +
		desc("application/vnd.oci.image.layer.nondistributable.v1.tar", digestOf(held), len(held), true) + `,` +
		desc("application/vnd.oci.image.layer.v1.tar+gzip", digestOf(layer), len(layer), false) + `]}`)
	docker := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",` +
		`"config":` + desc("application/vnd.docker.container.image.v1+json", digestOf(cfg), len(cfg), false) + `,"layers":[` +
		desc("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", foreign1, 123456, true) + `,` +
		desc("application/vnd.docker.image.rootfs.diff.tar.gzip", digestOf(layer), len(layer), false) + `]}`)

	for tag, m := range map[string][]byte{"oci": oci, "docker": docker} {
		mt := "application/vnd.oci.image.manifest.v1+json"
		if tag == "docker" {
			mt = "application/vnd.docker.distribution.manifest.v2+json"
		}
		resp, body := f.do(http.MethodPut, "/v2/test/img/manifests/"+tag, f.admin, m, "Content-Type", mt)
		require.Equal(t, http.StatusCreated, resp.StatusCode, "%s: %s", tag, body)
		for _, ref := range []string{tag, digestOf(m)} {
			resp, body = f.do(http.MethodGet, "/v2/test/img/manifests/"+ref, "", nil, "Accept", mt)
			require.Equal(t, http.StatusOK, resp.StatusCode, ref)
			require.Equal(t, m, body, "byte for byte")
			require.Equal(t, mt, resp.Header.Get("Content-Type"))
			require.Equal(t, digestOf(m), resp.Header.Get("Docker-Content-Digest"))
		}
	}
	resp, body := f.do(http.MethodGet, "/v2/test/img/tags/list", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.JSONEq(t, `{"name":"test/img","tags":["docker","oci"]}`, string(body))

	// No record of what the store does not hold; the pushed one recorded.
	for _, d := range []string{foreign1, foreign2} {
		resp, _ = f.do(http.MethodHead, "/v2/test/img/blobs/"+d, f.admin, nil)
		require.Equal(t, http.StatusNotFound, resp.StatusCode, d)
	}
	recs, err := f.st.List(f.ctx, "img")
	require.NoError(t, err)
	var blobs []string
	for _, r := range recs {
		if strings.HasPrefix(r.Path, container.BlobsDir) {
			blobs = append(blobs, "sha256:"+strings.TrimPrefix(r.Path, container.BlobsDir))
		}
	}
	require.ElementsMatch(t, []string{digestOf(cfg), digestOf(layer), digestOf(held)}, blobs)
	f.requireBlob("test/img", "", held)

	// A non-distributable layer the store holds must be what the manifest
	// says; a distributable one missing is still refused.
	bad := strings.Replace(string(oci), `"size":`+itoa(len(held)), `"size":`+itoa(len(held)+1), 1)
	resp, body = f.putManifest("test/img", "bad", []byte(bad), f.admin)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, "MANIFEST_INVALID", errCode(t, body))
	missing := strings.Replace(string(oci), "layer.nondistributable.v1.tar+gzip", "layer.v1.tar+gzip", 1)
	resp, body = f.putManifest("test/img", "bad", []byte(missing), f.admin)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, "MANIFEST_BLOB_UNKNOWN", errCode(t, body))

	// Deleting the manifests, gc and fsck cope.
	f.gc()
	f.fsckClean()
	for _, m := range [][]byte{oci, docker} {
		resp, body = f.do(http.MethodDelete, "/v2/test/img/manifests/"+digestOf(m), f.admin, nil)
		require.Equal(t, http.StatusAccepted, resp.StatusCode, string(body))
	}
	resp, body = f.do(http.MethodGet, "/v2/test/img/tags/list", "", nil)
	require.JSONEq(t, `{"name":"test/img","tags":[]}`, string(body))
	f.gc()
	f.fsckClean()
}
