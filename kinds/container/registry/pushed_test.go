package registry_test

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/dist"
)

// uploadFlavours push b into name each as a client may, and return the
// answer to the request that finished the upload.
var uploadFlavours = map[string]func(f *fixture, name string, b []byte) *http.Response{
	"post": func(f *fixture, name string, b []byte) *http.Response {
		resp, _ := f.do(http.MethodPost, "/v2/"+name+"/blobs/uploads/?digest="+digestOf(b), f.admin, b)
		return resp
	},
	"post-put": func(f *fixture, name string, b []byte) *http.Response {
		loc := f.startUpload(name)
		resp, _ := f.do(http.MethodPut, loc+"?digest="+digestOf(b), f.admin, b, "Content-Type", "application/octet-stream")
		return resp
	},
	"chunked": func(f *fixture, name string, b []byte) *http.Response {
		loc := f.startUpload(name)
		half := len(b) / 2
		resp, _ := f.do(http.MethodPatch, loc, f.admin, b[:half], "Content-Range", "0-"+strconv.Itoa(half-1))
		require.Equal(f.t, http.StatusAccepted, resp.StatusCode)
		resp, _ = f.do(http.MethodPatch, loc, f.admin, b[half:], "Content-Range", strconv.Itoa(half)+"-"+strconv.Itoa(len(b)-1))
		require.Equal(f.t, http.StatusAccepted, resp.StatusCode)
		resp, _ = f.do(http.MethodPut, loc+"?digest="+digestOf(b), f.admin, nil)
		return resp
	},
	"stream": func(f *fixture, name string, b []byte) *http.Response {
		loc := f.startUpload(name)
		resp, _ := f.do(http.MethodPatch, loc, f.admin, b, "Content-Type", "application/octet-stream")
		require.Equal(f.t, http.StatusAccepted, resp.StatusCode)
		resp, _ = f.do(http.MethodPut, loc+"?digest="+digestOf(b), f.admin, nil)
		return resp
	},
	"mount": func(f *fixture, name string, b []byte) *http.Response {
		f.pushBlob("other", b) // pushed there, in no version yet
		q := url.Values{"mount": {digestOf(b)}, "from": {"other"}}
		resp, _ := f.do(http.MethodPost, "/v2/"+name+"/blobs/uploads/?"+q.Encode(), f.admin, nil)
		return resp
	},
	"anonymous mount": func(f *fixture, name string, b []byte) *http.Response {
		f.pushBlob("other", b)
		resp, _ := f.do(http.MethodPost, "/v2/"+name+"/blobs/uploads/?mount="+digestOf(b), f.admin, nil)
		return resp
	},
}

// startUpload opens an upload session and returns its location.
func (f *fixture) startUpload(name string) string {
	f.t.Helper()
	resp, body := f.do(http.MethodPost, "/v2/"+name+"/blobs/uploads/", f.admin, nil)
	require.Equal(f.t, http.StatusAccepted, resp.StatusCode, string(body))
	return resp.Header.Get("Location")
}

// requireBlob checks that token reads blob b from name, by HEAD and GET.
func (f *fixture) requireBlob(name, token string, b []byte) {
	f.t.Helper()
	d := digestOf(b)
	resp, body := f.do(http.MethodHead, "/v2/"+name+"/blobs/"+d, token, nil)
	require.Equal(f.t, http.StatusOK, resp.StatusCode, "HEAD %s", d)
	require.Empty(f.t, body)
	require.Equal(f.t, strconv.Itoa(len(b)), resp.Header.Get("Content-Length"))
	require.Equal(f.t, d, resp.Header.Get("Docker-Content-Digest"))
	resp, body = f.do(http.MethodGet, "/v2/"+name+"/blobs/"+d, token, nil)
	require.Equal(f.t, http.StatusOK, resp.StatusCode, "GET %s: %s", d, body)
	require.Equal(f.t, b, body)
}

// requireNoBlob checks that token finds no blob b in name.
func (f *fixture) requireNoBlob(name, token string, b []byte) {
	f.t.Helper()
	d := digestOf(b)
	resp, _ := f.do(http.MethodHead, "/v2/"+name+"/blobs/"+d, token, nil)
	require.Equal(f.t, http.StatusNotFound, resp.StatusCode, "HEAD %s", d)
	resp, body := f.do(http.MethodGet, "/v2/"+name+"/blobs/"+d, token, nil)
	require.Equal(f.t, http.StatusNotFound, resp.StatusCode, "GET %s", d)
	require.Equal(f.t, "BLOB_UNKNOWN", errCode(f.t, body))
}

// TestBlobReadableAfterUpload: a blob is readable from the repository it
// was pushed into as soon as the upload answers 201, however it was
// pushed, by anyone who may read the distribution; before any manifest
// names it.
func TestBlobReadableAfterUpload(t *testing.T) {
	f := newFixture(t)
	for flavour, push := range uploadFlavours {
		b := bytes.Repeat([]byte("blob pushed by "+flavour+" "), 300)
		f.requireNoBlob("test/img", f.admin, b)
		resp := push(f, "test/img", b)
		require.Equal(t, http.StatusCreated, resp.StatusCode, flavour)
		require.Equal(t, "/v2/test/img/blobs/"+digestOf(b), resp.Header.Get("Location"), flavour)
		require.Equal(t, digestOf(b), resp.Header.Get("Docker-Content-Digest"), flavour)
		for _, tok := range []string{f.admin, f.reader, "", f.other} {
			f.requireBlob("test/img", tok, b)
		}
	}
	require.Equal(t, 0, f.versions("img"), "uploads make no version")

	// Of a private distribution, only its readers.
	b := []byte("private blob")
	f.pushBlob("test/img", b)
	private := true
	_, err := f.dists.Update(f.ctx, "img", dist.DistSpec{Private: &private})
	require.NoError(t, err)
	f.requireBlob("test/img", f.reader, b)
	resp, _ := f.do(http.MethodHead, "/v2/test/img/blobs/"+digestOf(b), "", nil)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, _ = f.do(http.MethodHead, "/v2/test/img/blobs/"+digestOf(b), f.other, nil)
	require.Equal(t, http.StatusForbidden, resp.StatusCode)

	// A mount needs the blob where the token may read it: else an upload
	// starts (202), and nothing is mounted.
	for _, q := range []url.Values{
		{"mount": {digestOf(b)}, "from": {"test/img"}},
		{"mount": {digestOf(b)}},
		{"mount": {digestOf([]byte("stored nowhere"))}, "from": {"test/img"}},
	} {
		resp, body := f.do(http.MethodPost, "/v2/other/blobs/uploads/?"+q.Encode(), f.other, nil)
		require.Equal(t, http.StatusAccepted, resp.StatusCode, "%v: %s", q, body)
		f.requireNoBlob("other", f.other, b)
	}
	resp, _ = f.do(http.MethodPost, "/v2/other/blobs/uploads/?mount="+digestOf(b), f.admin, nil)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "the admin reads test/img")
	f.requireBlob("other", "", b)
}

// TestParallelManifestsShareAPushedBlob: manifests pushed at once that
// name one pushed layer all go in, though the first commit ends the
// layer's pushed mark while the others are being checked.
func TestParallelManifestsShareAPushedBlob(t *testing.T) {
	f := newFixture(t)
	layer := []byte("a layer every image shares")
	f.pushBlob("test/img", layer)
	const n = 16
	ms := make([][]byte, n)
	for i := range ms {
		cfg := []byte(`{"architecture":"amd64","os":"linux","x":"` + strconv.Itoa(i) + `"}`)
		f.pushBlob("test/img", cfg)
		ms[i] = []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
			`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + digestOf(cfg) + `","size":` + itoa(len(cfg)) + `},` +
			`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"` + digestOf(layer) + `","size":` + itoa(len(layer)) + `}]}`)
	}
	codes := make([]string, n)
	var wg sync.WaitGroup
	for i := range ms {
		wg.Go(func() {
			resp, body := f.putManifest("test/img", "t"+strconv.Itoa(i), ms[i], f.admin)
			codes[i] = strconv.Itoa(resp.StatusCode) + " " + string(body)
		})
	}
	wg.Wait()
	for i, c := range codes {
		require.Equal(t, "201 ", c, "manifest %d", i)
	}
	f.requireBlob("test/img", "", layer)
}
