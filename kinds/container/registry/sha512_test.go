package registry_test

import (
	"bytes"
	"crypto/sha512"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/container"
	"github.com/pkgvc/pkgvc/repo"
)

func digest512(b []byte) string {
	s := sha512.Sum512(b)
	return "sha512:" + hex.EncodeToString(s[:])
}

// push512 uploads b by its sha512 digest in one of the flavours clients
// use, and checks the answer names the digest the client used.
func (f *fixture) push512(name, flavour string, b []byte) string {
	f.t.Helper()
	t := f.t
	d := digest512(b)
	start := func() string {
		resp, body := f.do(http.MethodPost, "/v2/"+name+"/blobs/uploads/", f.admin, nil)
		require.Equal(t, http.StatusAccepted, resp.StatusCode, string(body))
		return resp.Header.Get("Location")
	}
	var resp *http.Response
	var body []byte
	switch flavour {
	case "monolithic":
		resp, body = f.do(http.MethodPost, "/v2/"+name+"/blobs/uploads/?digest="+d, f.admin, b)
	case "post+put":
		resp, body = f.do(http.MethodPut, start()+"?digest="+d, f.admin, b, "Content-Type", "application/octet-stream")
	case "chunked":
		loc := start()
		half := len(b) / 2
		r, _ := f.do(http.MethodPatch, loc, f.admin, b[:half], "Content-Range", "0-"+itoa(half-1))
		require.Equal(t, http.StatusAccepted, r.StatusCode)
		r, _ = f.do(http.MethodPatch, loc, f.admin, b[half:], "Content-Range", itoa(half)+"-"+itoa(len(b)-1))
		require.Equal(t, http.StatusAccepted, r.StatusCode)
		resp, body = f.do(http.MethodPut, loc+"?digest="+d, f.admin, nil)
	case "stream":
		loc := start()
		r, _ := f.do(http.MethodPatch, loc, f.admin, b)
		require.Equal(t, http.StatusAccepted, r.StatusCode)
		resp, body = f.do(http.MethodPut, loc+"?digest="+d, f.admin, nil)
	default:
		t.Fatalf("flavour %s", flavour)
	}
	require.Equal(t, http.StatusCreated, resp.StatusCode, flavour+": "+string(body))
	require.Equal(t, d, resp.Header.Get("Docker-Content-Digest"), flavour)
	require.Equal(t, "/v2/"+name+"/blobs/"+d, resp.Header.Get("Location"), flavour)
	return d
}

// TestSHA512Blobs: a blob pushed by its sha512 digest, in each flavour
// (and mounted, and empty), is readable by that digest at once by the
// distribution's readers, and stays so once a manifest pushed by its
// sha512 digest references it; the version holds alias records of the SHA-256 blobs.
func TestSHA512Blobs(t *testing.T) {
	f := newFixture(t)
	blobs := map[string][]byte{}
	var layers []string
	for _, fl := range []string{"monolithic", "post+put", "chunked", "stream"} {
		b := bytes.Repeat([]byte(fl), 3000)
		d := f.push512("test/img", fl, b)
		blobs[d] = b
		layers = append(layers, `{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"`+d+`","size":`+itoa(len(b))+`}`)
		resp, got := f.do(http.MethodGet, "/v2/test/img/blobs/"+d, f.admin, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, fl)
		require.Equal(t, b, got, fl)
		require.Equal(t, d, resp.Header.Get("Docker-Content-Digest"))
		resp, _ = f.do(http.MethodHead, "/v2/test/img/blobs/"+d, "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "an upload is readable at once by the distribution's readers")
		require.Equal(t, d, resp.Header.Get("Docker-Content-Digest"))
	}
	empty := f.push512("test/img", "post+put", nil)
	blobs[empty] = []byte{}
	layers = append(layers, `{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"`+empty+`","size":0}`)
	cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	cd := f.push512("test/img", "monolithic", cfg)
	blobs[cd] = cfg
	// Mounted from another repository by its sha512 digest.
	mounted := []byte("mounted by sha512")
	md := f.push512("other", "monolithic", mounted)
	om := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + md + `","size":` + itoa(len(mounted)) + `},"layers":[]}`)
	resp, body := f.putManifest("other", digest512(om), om, f.admin)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
	q := url.Values{"mount": {md}, "from": {"other"}}
	resp, body = f.do(http.MethodPost, "/v2/test/img/blobs/uploads/?"+q.Encode(), f.admin, nil)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
	require.Equal(t, md, resp.Header.Get("Docker-Content-Digest"))
	blobs[md] = mounted
	layers = append(layers, `{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"`+md+`","size":`+itoa(len(mounted))+`}`)

	man := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + cd + `","size":` + itoa(len(cfg)) + `},"layers":[` + strings.Join(layers, ",") + `]}`)
	mdig := digest512(man)
	resp, body = f.putManifest("test/img", mdig, man, f.admin)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
	require.Equal(t, mdig, resp.Header.Get("Docker-Content-Digest"))
	require.Equal(t, "/v2/test/img/manifests/"+mdig, resp.Header.Get("Location"))
	resp, body = f.putManifest("test/img", "v1", man, f.admin)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))

	for d, b := range blobs {
		resp, got := f.do(http.MethodGet, "/v2/test/img/blobs/"+d, "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, d)
		require.Equal(t, b, got)
		require.Equal(t, d, resp.Header.Get("Docker-Content-Digest"))
		rec, err := f.st.Stat(f.ctx, "img", container.Blobs512Dir+strings.TrimPrefix(d, "sha512:"))
		require.NoError(t, err, "the version holds the alias")
		require.Equal(t, mustID(t, digestOf(b)), rec.SHA256, "an alias's content is the SHA-256 blob")
	}
	for _, ref := range []string{mdig, "v1"} {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			resp, got := f.do(method, "/v2/test/img/manifests/"+ref, "", nil)
			require.Equal(t, http.StatusOK, resp.StatusCode, ref)
			require.Equal(t, "application/vnd.oci.image.manifest.v1+json", resp.Header.Get("Content-Type"))
			require.Equal(t, itoa(len(man)), resp.Header.Get("Content-Length"))
			if method == http.MethodGet {
				require.Equal(t, man, got)
			}
			if ref == mdig {
				require.Equal(t, mdig, resp.Header.Get("Docker-Content-Digest"))
			}
		}
	}
	_, err := f.st.Stat(f.ctx, "img", container.Manifests512Dir+strings.TrimPrefix(mdig, "sha512:"))
	require.NoError(t, err)
	_, err = f.st.Fsck(f.ctx)
	require.NoError(t, err)

	// A referrer of the sha512 manifest, itself pushed by sha512.
	ref := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/x-sig","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"` + cd + `","size":` + itoa(len(cfg)) + `},"layers":[],"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + mdig + `","size":` + itoa(len(man)) + `}}`)
	rdig := digest512(ref)
	resp, body = f.putManifest("test/img", rdig, ref, f.admin)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
	require.Equal(t, mdig, resp.Header.Get("OCI-Subject"))
	resp, body = f.do(http.MethodGet, "/v2/test/img/referrers/"+mdig, "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	require.Contains(t, string(body), `"digest":"`+rdig+`"`)

	// Deleting the manifest by its sha512 digest.
	resp, _ = f.do(http.MethodDelete, "/v2/test/img/manifests/"+rdig, f.admin, nil)
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	resp, _ = f.do(http.MethodGet, "/v2/test/img/manifests/"+rdig, "", nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

// TestSHA512Refused: content that is not the sha512 digest given keeps
// nothing, in one request or at the end of a session; a sha512 digest
// nobody pushed is unknown (404), a malformed one invalid (400).
func TestSHA512Refused(t *testing.T) {
	f := newFixture(t)
	b := []byte("the real content")
	wrong := digest512([]byte("other content"))
	for _, fl := range []string{"monolithic", "post+put", "stream"} {
		var resp *http.Response
		var body []byte
		switch fl {
		case "monolithic":
			resp, body = f.do(http.MethodPost, "/v2/test/img/blobs/uploads/?digest="+wrong, f.admin, b)
		case "post+put":
			r, _ := f.do(http.MethodPost, "/v2/test/img/blobs/uploads/", f.admin, nil)
			resp, body = f.do(http.MethodPut, r.Header.Get("Location")+"?digest="+wrong, f.admin, b)
		case "stream":
			r, _ := f.do(http.MethodPost, "/v2/test/img/blobs/uploads/", f.admin, nil)
			loc := r.Header.Get("Location")
			r, _ = f.do(http.MethodPatch, loc, f.admin, b)
			require.Equal(t, http.StatusAccepted, r.StatusCode)
			resp, body = f.do(http.MethodPut, loc+"?digest="+wrong, f.admin, nil)
			r, _ = f.do(http.MethodGet, loc, f.admin, nil)
			require.Equal(t, http.StatusNotFound, r.StatusCode, "the session is over")
		}
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, fl)
		require.Equal(t, "DIGEST_INVALID", errCode(t, body), fl)
		ok, err := f.st.Objects().HasBlob(f.ctx, mustID(t, digestOf(b)))
		require.NoError(t, err)
		require.False(t, ok, fl+": nothing was kept")
		resp, _ = f.do(http.MethodHead, "/v2/test/img/blobs/"+wrong, f.admin, nil)
		require.Equal(t, http.StatusNotFound, resp.StatusCode, fl)
	}
	resp, body := f.do(http.MethodGet, "/v2/test/img/blobs/"+wrong, f.admin, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Equal(t, "BLOB_UNKNOWN", errCode(t, body))
	resp, body = f.do(http.MethodGet, "/v2/test/img/blobs/sha512:abc", f.admin, nil)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, "DIGEST_INVALID", errCode(t, body))

	// A manifest whose sha512 is not its reference, or that names a
	// sha512 blob nobody pushed, is refused and commits nothing.
	cfg := []byte(`{"os":"linux"}`)
	cd := f.push512("test/img", "monolithic", cfg)
	man := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + cd + `","size":` + itoa(len(cfg)) + `},"layers":[]}`)
	resp, body = f.putManifest("test/img", wrong, man, f.admin)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, "DIGEST_INVALID", errCode(t, body))
	missing := bytes.Replace(man, []byte(cd), []byte(wrong), 1)
	resp, body = f.putManifest("test/img", digest512(missing), missing, f.admin)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, "MANIFEST_BLOB_UNKNOWN", errCode(t, body))
	require.Equal(t, 0, f.versions("img"))
	// The blob of another repository is not this one's by its sha512.
	resp, body = f.putManifest("other", digest512(man), man, f.other)
	require.Equal(t, "MANIFEST_BLOB_UNKNOWN", errCode(t, body))
	_, err := f.st.Stat(f.ctx, "other", container.Blobs512Dir+strings.TrimPrefix(cd, "sha512:"))
	require.ErrorIs(t, err, repo.ErrNotFound)
}

// TestSHA512BlobDelete: DELETE by a sha512 digest drops a blob pushed by
// it (404 after), and is refused (405) for one a manifest references.
func TestSHA512BlobDelete(t *testing.T) {
	f := newFixture(t)
	b := []byte("pushed by sha512, then deleted")
	d := f.push512("test/img", "post+put", b)
	resp, body := f.do(http.MethodDelete, "/v2/test/img/blobs/"+d, f.admin, nil)
	require.Equal(t, http.StatusAccepted, resp.StatusCode, string(body))
	resp, _ = f.do(http.MethodHead, "/v2/test/img/blobs/"+d, f.admin, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, _ = f.do(http.MethodDelete, "/v2/test/img/blobs/"+d, f.admin, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	kept := []byte("pushed by sha512, referenced")
	kd := f.push512("test/img", "monolithic", kept)
	m := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + kd + `","size":` + itoa(len(kept)) + `},"layers":[]}`)
	resp, body = f.putManifest("test/img", digest512(m), m, f.admin)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
	resp, body = f.do(http.MethodDelete, "/v2/test/img/blobs/"+kd, f.admin, nil)
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, string(body))
	require.Equal(t, "UNSUPPORTED", errCode(t, body))
	resp, got := f.do(http.MethodGet, "/v2/test/img/blobs/"+kd, f.admin, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, kept, got)
}
