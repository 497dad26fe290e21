package registry_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/kinds/container/registry"
)

func TestAuthChallengeAndTokens(t *testing.T) {
	f := newFixture(t)
	resp, body := f.do(http.MethodGet, "/v2/", "", nil)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Equal(t, `Bearer realm="http://`+f.host+`/token",service="pkgvc"`, resp.Header.Get("WWW-Authenticate"))
	require.Equal(t, "UNAUTHORIZED", errCode(t, body))
	resp, _ = f.do(http.MethodGet, "/v2/", f.reader, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = f.do(http.MethodGet, "/v2/", "x"+f.admin, nil)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	// Pushing needs a token that may write the repository.
	resp, body = f.do(http.MethodPost, "/v2/test/img/blobs/uploads/", "", nil)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Contains(t, resp.Header.Get("WWW-Authenticate"), `scope="repository:test/img:pull,push"`)
	resp, body = f.do(http.MethodPost, "/v2/test/img/blobs/uploads/", f.reader, nil)
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	require.Equal(t, "DENIED", errCode(t, body))
	resp, _ = f.do(http.MethodPost, "/v2/test/img/blobs/uploads/", f.other, nil)
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, _ = f.do(http.MethodPost, "/v2/other/blobs/uploads/", f.other, nil)
	require.Equal(t, http.StatusAccepted, resp.StatusCode)

	// The token flow: credentials give the pkgvc token back, none an
	// anonymous token that pulls public content only, a bad one 401.
	var tr struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	resp, body = f.do(http.MethodGet, "/token?service=pkgvc&scope=repository:test/img:pull,push", f.admin, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	require.NoError(t, json.Unmarshal(body, &tr))
	require.Equal(t, f.admin, tr.Token)
	require.Equal(t, f.admin, tr.AccessToken)
	require.Positive(t, tr.ExpiresIn)
	resp, body = f.do(http.MethodGet, "/token?scope=repository:test/img:pull,push", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, json.Unmarshal(body, &tr))
	anon := tr.Token
	require.True(t, strings.HasPrefix(anon, "pkgvc-anon."))
	resp, _ = f.do(http.MethodGet, "/token", "bad", nil)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	bearer := func(method, path, tok string) *http.Response {
		resp, _ := f.do(method, path, "", nil, "Authorization", "Bearer "+tok)
		return resp
	}
	require.Equal(t, http.StatusAccepted, bearer(http.MethodPost, "/v2/test/img/blobs/uploads/", f.admin).StatusCode)
	require.Equal(t, http.StatusOK, bearer(http.MethodGet, "/v2/", anon).StatusCode)
	require.Equal(t, http.StatusOK, bearer(http.MethodGet, "/v2/test/img/tags/list", anon).StatusCode)
	require.Equal(t, http.StatusUnauthorized, bearer(http.MethodPost, "/v2/test/img/blobs/uploads/", anon).StatusCode)
	// An anonymous token another server process issued (or made up) is no
	// credential: public pulls work, pushes are challenged.
	foreign := "pkgvc-anon.1"
	require.Equal(t, http.StatusOK, bearer(http.MethodGet, "/v2/test/img/tags/list", foreign).StatusCode)
	require.Equal(t, http.StatusUnauthorized, bearer(http.MethodPost, "/v2/test/img/blobs/uploads/", foreign).StatusCode)

	// A private distribution needs dist read.
	private := true
	_, err := f.dists.Update(f.ctx, "img", dist.DistSpec{Private: &private})
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, bearer(http.MethodGet, "/v2/test/img/tags/list", anon).StatusCode)
	resp, _ = f.do(http.MethodGet, "/v2/test/img/tags/list", f.other, nil)
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, _ = f.do(http.MethodGet, "/v2/test/img/tags/list", f.reader, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestPushPullDelete(t *testing.T) {
	f := newFixture(t)
	m := f.image("test/img", "one", "")
	d := digestOf(m)

	// A manifest is refused while a blob it references is missing.
	missing := bytes.Replace(m, []byte(`"layers":[{`), []byte(`"layers":[{"mediaType":"x","digest":"sha256:`+strings.Repeat("0", 64)+`","size":1},{`), 1)
	resp, body := f.putManifest("test/img", "bad", missing, f.admin)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, "MANIFEST_BLOB_UNKNOWN", errCode(t, body))
	require.Equal(t, 0, f.versions("img"))

	// Bad input: wrong digest reference, invalid tags, broken JSON,
	// sha512, oversize.
	resp, body = f.putManifest("test/img", "sha256:"+strings.Repeat("1", 64), m, f.admin)
	require.Equal(t, "DIGEST_INVALID", errCode(t, body), resp.Status)
	for _, tag := range []string{"-bad", ".bad", strings.Repeat("a", 129)} {
		resp, body = f.putManifest("test/img", tag, m, f.admin)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, tag)
		require.Equal(t, "TAG_INVALID", errCode(t, body))
	}
	resp, body = f.putManifest("test/img", "v1", []byte(`{"schemaVersion":2`), f.admin)
	require.Equal(t, "MANIFEST_INVALID", errCode(t, body))
	resp, body = f.putManifest("test/img", "v1", bytes.Replace(m, []byte("sha256:"), []byte("sha512:"), 1), f.admin)
	require.Equal(t, "MANIFEST_INVALID", errCode(t, body))
	require.Contains(t, string(body), "128 lower-case hex digits")
	resp, body = f.putManifest("test/img", "v1", bytes.Replace(m, []byte("sha256:"), []byte("sha384:"), 1), f.admin)
	require.Equal(t, "MANIFEST_INVALID", errCode(t, body))
	require.Contains(t, string(body), "only sha256 and sha512")
	resp, _ = f.putManifest("test/img", "v1", bytes.Repeat([]byte(" "), 4<<20+1), f.admin)
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	resp, body = f.do(http.MethodGet, "/v2/test/img/manifests/sha512:"+strings.Repeat("ab", 64), f.admin, nil)
	require.Equal(t, "MANIFEST_UNKNOWN", errCode(t, body))
	resp, body = f.do(http.MethodGet, "/v2/test/img/manifests/sha384:"+strings.Repeat("ab", 48), f.admin, nil)
	require.Equal(t, "DIGEST_INVALID", errCode(t, body))
	resp, body = f.do(http.MethodGet, "/v2/Test/img/manifests/v1", f.admin, nil)
	require.Equal(t, "NAME_INVALID", errCode(t, body))
	resp, body = f.do(http.MethodGet, "/v2/test/nope/manifests/v1", f.admin, nil)
	require.Equal(t, "NAME_UNKNOWN", errCode(t, body))
	require.Equal(t, 0, f.versions("img"))

	// A push makes a version; pulling gives the same bytes and headers.
	resp, body = f.putManifest("test/img", "v1", m, f.admin)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
	require.Equal(t, d, resp.Header.Get("Docker-Content-Digest"))
	require.Equal(t, 1, f.versions("img"))
	log, err := f.st.Reflog(f.ctx, "img")
	require.NoError(t, err)
	require.Equal(t, "token ci", log[0].Who)
	for _, ref := range []string{"v1", d} {
		resp, body = f.do(http.MethodGet, "/v2/test/img/manifests/"+ref, "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, m, body)
		require.Equal(t, "application/vnd.oci.image.manifest.v1+json", resp.Header.Get("Content-Type"))
		require.Equal(t, d, resp.Header.Get("Docker-Content-Digest"))
		require.Equal(t, `"`+d[7:]+`"`, resp.Header.Get("Etag"))
		resp, body = f.do(http.MethodHead, "/v2/test/img/manifests/"+ref, "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, itoa(len(m)), resp.Header.Get("Content-Length"))
		require.Empty(t, body)
	}
	var mm struct {
		Layers []struct{ Digest string }
	}
	require.NoError(t, json.Unmarshal(m, &mm))
	resp, body = f.do(http.MethodGet, "/v2/test/img/blobs/"+mm.Layers[0].Digest, "", nil, "Range", "bytes=0-4")
	require.Equal(t, http.StatusPartialContent, resp.StatusCode)
	require.Equal(t, "layer", string(body))

	// Tags page with n and last; a second tag of the same manifest.
	for _, tag := range []string{"a", "b", "c"} {
		resp, _ = f.putManifest("test/img", tag, m, f.admin)
		require.Equal(t, http.StatusCreated, resp.StatusCode)
	}
	resp, body = f.do(http.MethodGet, "/v2/test/img/tags/list?n=2", "", nil)
	require.JSONEq(t, `{"name":"test/img","tags":["a","b"]}`, string(body))
	require.Equal(t, `</v2/test/img/tags/list?last=b&n=2>; rel="next"`, resp.Header.Get("Link"))
	resp, body = f.do(http.MethodGet, "/v2/test/img/tags/list?n=2&last=b", "", nil)
	require.JSONEq(t, `{"name":"test/img","tags":["c","v1"]}`, string(body))
	require.Empty(t, resp.Header.Get("Link"))

	// Referrers: an artifact whose subject is the image.
	art := f.image("test/img", "sbom", `,"artifactType":"application/x-sbom","subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"`+d+`","size":`+itoa(len(m))+`},"annotations":{"k":"v"}`)
	resp, _ = f.putManifest("test/img", digestOf(art), art, f.admin)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	require.Equal(t, d, resp.Header.Get("OCI-Subject"))
	resp, body = f.do(http.MethodGet, "/v2/test/img/referrers/"+d, "", nil)
	require.Equal(t, "application/vnd.oci.image.index.v1+json", resp.Header.Get("Content-Type"))
	require.JSONEq(t, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"`+digestOf(art)+`","size":`+itoa(len(art))+`,"artifactType":"application/x-sbom","annotations":{"k":"v"}}]}`, string(body))
	resp, body = f.do(http.MethodGet, "/v2/test/img/referrers/"+d+"?artifactType=other", "", nil)
	require.Equal(t, "artifactType", resp.Header.Get("OCI-Filters-Applied"))
	require.JSONEq(t, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`, string(body))

	// Deleting a tag keeps the manifest; deleting the manifest removes its
	// tags and the blobs only it referenced.
	n := f.versions("img")
	resp, _ = f.do(http.MethodDelete, "/v2/test/img/manifests/a", f.admin, nil)
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	require.Equal(t, n+1, f.versions("img"))
	resp, _ = f.do(http.MethodGet, "/v2/test/img/manifests/a", "", nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, _ = f.do(http.MethodDelete, "/v2/test/img/manifests/"+d, f.reader, nil)
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, _ = f.do(http.MethodDelete, "/v2/test/img/manifests/"+d, f.admin, nil)
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	for _, p := range []string{"manifests/" + d, "manifests/v1", "manifests/b", "blobs/" + mm.Layers[0].Digest} {
		resp, body = f.do(http.MethodGet, "/v2/test/img/"+p, "", nil)
		require.Equal(t, http.StatusNotFound, resp.StatusCode, p)
	}
	resp, body = f.do(http.MethodGet, "/v2/test/img/manifests/"+digestOf(art), "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "the referrer stays")

	// A pinned distribution takes no pushes.
	_, err = f.dists.Create(f.ctx, "pinned", dist.DistSpec{BasePath: "pinned/img", Version: "img@1"})
	require.NoError(t, err)
	resp, body = f.putManifest("pinned/img", "v9", m, f.admin)
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	require.Equal(t, "UNSUPPORTED", errCode(t, body))
	resp, body = f.do(http.MethodGet, "/v2/pinned/img/manifests/v1", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestChunkedUpload(t *testing.T) {
	f := newFixture(t)
	blob := bytes.Repeat([]byte("0123456789"), 10000)
	d := digestOf(blob)
	start := func() string {
		resp, body := f.do(http.MethodPost, "/v2/test/img/blobs/uploads/", f.admin, nil)
		require.Equal(t, http.StatusAccepted, resp.StatusCode, string(body))
		require.NotEmpty(t, resp.Header.Get("Docker-Upload-UUID"))
		loc := resp.Header.Get("Location")
		require.True(t, strings.HasPrefix(loc, "/v2/test/img/blobs/uploads/"), loc)
		return loc
	}
	loc := start()
	resp, _ := f.do(http.MethodPatch, loc, f.admin, blob[:40000], "Content-Range", "0-39999", "Content-Type", "application/octet-stream")
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	require.Equal(t, "0-39999", resp.Header.Get("Range"))
	// Out of order: refused, nothing changes.
	resp, body := f.do(http.MethodPatch, loc, f.admin, blob[50000:60000], "Content-Range", "50000-59999")
	require.Equal(t, http.StatusRequestedRangeNotSatisfiable, resp.StatusCode)
	require.Equal(t, "BLOB_UPLOAD_INVALID", errCode(t, body))
	resp, _ = f.do(http.MethodGet, loc, f.admin, nil)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.Equal(t, "0-39999", resp.Header.Get("Range"))
	// Blob is not there until the upload finishes.
	resp, _ = f.do(http.MethodHead, "/v2/test/img/blobs/"+d, f.admin, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, _ = f.do(http.MethodPatch, loc, f.admin, blob[40000:], "Content-Range", "40000-99999")
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	resp, body = f.do(http.MethodPut, loc+"?digest="+d, f.admin, nil)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
	require.Equal(t, d, resp.Header.Get("Docker-Content-Digest"))
	// Readable at once, before any manifest, by whoever may read the
	// distribution.
	for _, tok := range []string{f.admin, ""} {
		resp, _ = f.do(http.MethodHead, "/v2/test/img/blobs/"+d, tok, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "100000", resp.Header.Get("Content-Length"))
	}
	resp, _ = f.do(http.MethodHead, "/v2/other/blobs/"+d, f.admin, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "pushed into img, not other")
	resp, _ = f.do(http.MethodPut, loc+"?digest="+d, f.admin, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "the session is over")

	// A wrong digest keeps nothing.
	other := append([]byte("x"), blob...)
	loc = start()
	resp, body = f.do(http.MethodPut, loc+"?digest="+d, f.admin, other)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, "DIGEST_INVALID", errCode(t, body))
	ok, err := f.st.Objects().HasBlob(f.ctx, mustID(t, digestOf(other)))
	require.NoError(t, err)
	require.False(t, ok)
	resp, _ = f.do(http.MethodPost, "/v2/test/img/blobs/uploads/?digest="+d, f.admin, other)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)

	// DELETE cancels; its file goes.
	loc = start()
	resp, _ = f.do(http.MethodPatch, loc, f.admin, []byte("abc"))
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	files, _ := filepath.Glob(filepath.Join(f.st.Objects().TempDir(), "uploads", "*.part"))
	require.Len(t, files, 1)
	resp, _ = f.do(http.MethodDelete, loc, f.admin, nil)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	files, _ = filepath.Glob(filepath.Join(f.st.Objects().TempDir(), "uploads", "*.part"))
	require.Empty(t, files)
	_, err = os.Stat(f.st.Objects().TempDir())
	require.NoError(t, err)

	// Cross-repository mount: from a distribution the token can read.
	m := f.image("test/img", "mnt", "")
	resp, _ = f.putManifest("test/img", "v1", m, f.admin)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	var mm struct {
		Config struct{ Digest string }
		Layers []struct{ Digest string }
	}
	require.NoError(t, json.Unmarshal(m, &mm))
	resp, body = f.putManifest("other", "v1", m, f.other)
	require.Equal(t, "MANIFEST_BLOB_UNKNOWN", errCode(t, body), "blobs of another repository are not there before a mount")
	for _, d := range []string{mm.Config.Digest, mm.Layers[0].Digest} {
		q := url.Values{"mount": {d}, "from": {"test/img"}}
		resp, _ = f.do(http.MethodPost, "/v2/other/blobs/uploads/?"+q.Encode(), f.other, nil)
		require.Equal(t, http.StatusCreated, resp.StatusCode)
		require.Equal(t, "/v2/other/blobs/"+d, resp.Header.Get("Location"))
	}
	resp, body = f.putManifest("other", "v1", m, f.other)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
	// Mounting from a source the token cannot read starts an upload.
	private := true
	_, err = f.dists.Update(f.ctx, "img", dist.DistSpec{Private: &private})
	require.NoError(t, err)
	q := url.Values{"mount": {mm.Layers[0].Digest}, "from": {"test/img"}}
	resp, _ = f.do(http.MethodPost, "/v2/other/blobs/uploads/?"+q.Encode(), f.other, nil)
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
}

// TestUploadLimits: a blob over the server's body limit is refused with 413
// whether it comes in one request or in chunks, and nothing is kept; open
// sessions per repository are bounded.
func TestUploadLimits(t *testing.T) {
	f := newFixture(t, content.WithMaxBodyBytes(1000))
	big := bytes.Repeat([]byte("x"), 1500)
	d := digestOf(big)
	resp, body := f.do(http.MethodPost, "/v2/test/img/blobs/uploads/?digest="+d, f.admin, big)
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, string(body))
	require.Equal(t, "SIZE_INVALID", errCode(t, body))

	resp, _ = f.do(http.MethodPost, "/v2/test/img/blobs/uploads/", f.admin, nil)
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	loc := resp.Header.Get("Location")
	resp, _ = f.do(http.MethodPatch, loc, f.admin, big[:800], "Content-Range", "0-799")
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	resp, body = f.do(http.MethodPatch, loc, f.admin, big[800:], "Content-Range", "800-1499")
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, string(body))
	resp, _ = f.do(http.MethodGet, loc, f.admin, nil)
	require.Equal(t, "0-799", resp.Header.Get("Range"), "a refused chunk leaves the session as it was")
	// A last chunk sent with the digest is held to the limit too.
	resp, body = f.do(http.MethodPut, loc+"?digest="+d, f.admin, big[800:])
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, string(body))
	resp, _ = f.do(http.MethodHead, "/v2/test/img/blobs/"+d, f.admin, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	for i := 1; i < registry.MaxUploadsPerRepo; i++ {
		resp, _ = f.do(http.MethodPost, "/v2/test/img/blobs/uploads/", f.admin, nil)
		require.Equal(t, http.StatusAccepted, resp.StatusCode, "session %d", i)
	}
	resp, body = f.do(http.MethodPost, "/v2/test/img/blobs/uploads/", f.admin, nil)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, string(body))
}
