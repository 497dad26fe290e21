package upstream_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/dist"
	puball "github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/kinds/container"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/uploads"
)

func sha512Of(b []byte) string {
	s := sha512.Sum512(b)
	return "sha512:" + hex.EncodeToString(s[:])
}

// registryOf serves a store's container distributions (pkgvc's own
// registry, which serves sha512 content; docker-registry 2.8 stores
// sha512 uploads under their sha256 and refuses sha512 manifests) and
// returns its URL and an admin token.
func registryOf(t *testing.T, st *repo.Store, dists *dist.Dists) (string, string) {
	t.Helper()
	tokens := auth.New(st)
	sc, err := auth.ParseScope("*:*:admin")
	require.NoError(t, err)
	_, secret, err := tokens.Create(context.Background(), auth.CreateOptions{Name: "admin", Scopes: []auth.Scope{sc}})
	require.NoError(t, err)
	s := content.NewServer(st, dists, publish.NewPublications(st, puball.Publishers(), 8), content.WithAuth(tokens), content.WithUploads(uploads.New(st)))
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv.URL, secret
}

// upstreamRegistry serves a store whose container repository src is
// distributed at lib/img, and returns the store, its URL and an admin
// token.
func upstreamRegistry(t *testing.T) (*repo.Store, string, string) {
	t.Helper()
	c := context.Background()
	ust, err := fsstore.OpenDir(c, filepath.Join(t.TempDir(), "up"), puball.Kinds())
	require.NoError(t, err)
	_, err = ust.CreateRepo(c, "src", repo.CreateOptions{Kind: "container"})
	require.NoError(t, err)
	udists := dist.NewDists(ust)
	_, err = udists.Create(c, "src", dist.DistSpec{BasePath: "lib/img", Repo: "src"})
	require.NoError(t, err)
	base, tok := registryOf(t, ust, udists)
	return ust, base, tok
}

func send(t *testing.T, method, u, token string, body []byte, ctype string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.SetBasicAuth("u", token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// TestSyncSHA512: an upstream whose images name their content by sha512
// digests is synced into alias records of the SHA-256 blobs, and the
// mirror serves them by the same digests. A re-sync reads no blob again.
func TestSyncSHA512(t *testing.T) {
	c := context.Background()
	_, base, tok := upstreamRegistry(t)
	v2 := base + "/v2/lib/img"

	cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	layer := bytes.Repeat([]byte("a sha512 layer "), 5000)
	for _, b := range [][]byte{cfg, layer} {
		resp := send(t, http.MethodPost, v2+"/blobs/uploads/?digest="+sha512Of(b), tok, b, "")
		require.Equal(t, http.StatusCreated, resp.StatusCode)
	}
	man := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + sha512Of(cfg) + `","size":` + strconv.Itoa(len(cfg)) + `},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"` + sha512Of(layer) + `","size":` + strconv.Itoa(len(layer)) + `}]}`)
	resp := send(t, http.MethodPut, v2+"/manifests/"+sha512Of(man), tok, man, "application/vnd.oci.image.manifest.v1+json")
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	idx := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + sha512Of(man) + `","size":` + strconv.Itoa(len(man)) + `,"platform":{"os":"linux","architecture":"amd64"}}]}`)
	resp = send(t, http.MethodPut, v2+"/manifests/multi", tok, idx, "application/vnd.oci.image.index.v1+json")
	require.Equal(t, http.StatusCreated, resp.StatusCode)

	cnt := newCounter(t, base)
	e := newEnv(t)
	e.remote(cnt.srv.URL, "lib/img")
	e.syncOK(false)
	recs := e.records()
	hx := func(d string) string { return d[len("sha512:"):] }
	mrec, ok := recs[container.Manifests512Dir+hx(sha512Of(man))]
	require.True(t, ok, "the manifest is recorded by its sha512 digest")
	require.Equal(t, man, e.stored(mrec.SHA256))
	require.Equal(t, "application/vnd.oci.image.manifest.v1+json", mrec.Metadata[container.MetaMediaType])
	for _, b := range [][]byte{cfg, layer} {
		rec, ok := recs[container.Blobs512Dir+hx(sha512Of(b))]
		require.True(t, ok, "blob recorded by its sha512 digest")
		require.Equal(t, objects.ID(sha256.Sum256(b)), rec.SHA256)
		require.Equal(t, b, e.stored(rec.SHA256))
	}
	_, ok = recs[container.TagPath("multi")]
	require.True(t, ok)
	_, err := e.st.Fsck(c)
	require.NoError(t, err, "fsck reads the aliases against their sha512")

	// A re-sync changes nothing and reads no blob again.
	cnt.reset()
	n := e.versions()
	e.syncOK(false)
	require.Equal(t, n, e.versions())
	require.Zero(t, cnt.reset()["GET blobs"])

	// The mirror serves them by the upstream's digests.
	mdists := dist.NewDists(e.st)
	_, err = mdists.Create(c, "mirror", dist.DistSpec{BasePath: "mirror/img", Repo: "mirror"})
	require.NoError(t, err)
	mbase, _ := registryOf(t, e.st, mdists)
	for _, d := range []string{sha512Of(cfg), sha512Of(layer)} {
		resp := send(t, http.MethodGet, mbase+"/v2/mirror/img/blobs/"+d, "", nil, "")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, d, resp.Header.Get("Docker-Content-Digest"))
		got, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, d, sha512Of(got))
	}
	resp = send(t, http.MethodGet, mbase+"/v2/mirror/img/manifests/"+sha512Of(man), "", nil, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, sha512Of(man), resp.Header.Get("Docker-Content-Digest"))
	resp = send(t, http.MethodGet, mbase+"/v2/mirror/img/manifests/multi", "", nil, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	got, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, idx, got)
}
