package registry_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/dist"
	puball "github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/uploads"
)

// fixture is a store with container repository img served at test/img by
// a server with tokens: admin (everything), reader (dist:*:read), other
// (repo:other:write).
type fixture struct {
	t      *testing.T
	ctx    context.Context
	st     *repo.Store
	dists  *dist.Dists
	srv    *httptest.Server
	host   string
	admin  string
	reader string
	other  string
	dir    string // the store's
	tokens *auth.Store
	reg    *publish.Registry
	upOpts []uploads.Option // of the engines the fixture's servers get
}

func newFixture(t *testing.T, opts ...content.ServerOption) *fixture {
	t.Helper()
	return newFixtureReg(t, puball.Publishers(), opts...)
}

// newFixtureReg serves with the publishers of reg.
func newFixtureReg(t *testing.T, reg *publish.Registry, opts ...content.ServerOption) *fixture {
	t.Helper()
	return newFixtureUp(t, reg, nil, opts...)
}

// newFixtureUp serves with the publishers of reg and an upload engine of
// upOpts over the store, as the composition root builds one for a
// process; content.WithUploads in opts replaces it.
func newFixtureUp(t *testing.T, reg *publish.Registry, upOpts []uploads.Option, opts ...content.ServerOption) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "store")
	st, err := fsstore.OpenDir(ctx, dir, puball.Kinds(), repo.WithWho("tester"))
	require.NoError(t, err)
	f := &fixture{t: t, ctx: ctx, st: st, dists: dist.NewDists(st), dir: dir, reg: reg, upOpts: upOpts}
	for _, r := range []string{"img", "other"} {
		_, err = st.CreateRepo(ctx, r, repo.CreateOptions{Kind: "container"})
		require.NoError(t, err)
	}
	_, err = f.dists.Create(ctx, "img", dist.DistSpec{BasePath: "test/img", Repo: "img"})
	require.NoError(t, err)
	_, err = f.dists.Create(ctx, "other", dist.DistSpec{BasePath: "other", Repo: "other"})
	require.NoError(t, err)
	tokens := auth.New(st)
	f.tokens = tokens
	mk := func(name string, scopes ...string) string {
		var sc []auth.Scope
		for _, s := range scopes {
			p, err := auth.ParseScope(s)
			require.NoError(t, err)
			sc = append(sc, p)
		}
		_, secret, err := tokens.Create(ctx, auth.CreateOptions{Name: name, Scopes: sc})
		require.NoError(t, err)
		return secret
	}
	f.admin = mk("ci", "*:*:admin")
	f.reader = mk("reader", "dist:*:read")
	f.other = mk("other", "repo:other:write")
	opts = append([]content.ServerOption{content.WithAuth(tokens), content.WithUploads(uploads.New(st, upOpts...))}, opts...)
	s := content.NewServer(st, f.dists, publish.NewPublications(st, reg, 8), opts...)
	f.srv = httptest.NewServer(s)
	t.Cleanup(f.srv.Close)
	f.host = strings.TrimPrefix(f.srv.URL, "http://")
	return f
}

// second serves the fixture's store from a second server that opened it
// afresh, with an upload engine of its own, as another process would:
// nothing in memory is shared.
func (f *fixture) second(opts ...content.ServerOption) *fixture {
	f.t.Helper()
	st, err := fsstore.OpenDir(f.ctx, f.dir, puball.Kinds(), repo.WithWho("tester"))
	require.NoError(f.t, err)
	g := *f
	g.st, g.dists = st, dist.NewDists(st)
	opts = append([]content.ServerOption{content.WithAuth(auth.New(st)), content.WithUploads(uploads.New(st, f.upOpts...))}, opts...)
	s := content.NewServer(st, g.dists, publish.NewPublications(st, f.reg, 8), opts...)
	g.srv = httptest.NewServer(s)
	f.t.Cleanup(g.srv.Close)
	g.host = strings.TrimPrefix(g.srv.URL, "http://")
	return &g
}

// do sends a request with the token as Basic password ("" for none).
func (f *fixture) do(method, path, token string, body []byte, hdr ...string) (*http.Response, []byte) {
	f.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	require.NoError(f.t, err)
	if token != "" {
		req.SetBasicAuth("u", token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(f.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(f.t, err)
	return resp, b
}

// errCode returns the first error code of a spec error document.
func errCode(t *testing.T, body []byte) string {
	t.Helper()
	var doc struct {
		Errors []struct{ Code string } `json:"errors"`
	}
	require.NoError(t, json.Unmarshal(body, &doc), string(body))
	require.NotEmpty(t, doc.Errors, string(body))
	return doc.Errors[0].Code
}

func digestOf(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// pushBlob uploads b monolithically.
func (f *fixture) pushBlob(name string, b []byte) string {
	f.t.Helper()
	d := digestOf(b)
	resp, body := f.do(http.MethodPost, "/v2/"+name+"/blobs/uploads/?digest="+d, f.admin, b)
	require.Equal(f.t, http.StatusCreated, resp.StatusCode, string(body))
	return d
}

// image pushes a config and a layer and returns an OCI manifest of them.
func (f *fixture) image(name, content string, extra string) []byte {
	f.t.Helper()
	cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"x":"` + content + `"}`)
	layer := []byte("layer " + content)
	cd, ld := f.pushBlob(name, cfg), f.pushBlob(name, layer)
	return []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + cd + `","size":` + itoa(len(cfg)) + `},` +
		`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"` + ld + `","size":` + itoa(len(layer)) + `}]` + extra + `}`)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// putManifest pushes m at ref and returns the response.
func (f *fixture) putManifest(name, ref string, m []byte, token string) (*http.Response, []byte) {
	return f.do(http.MethodPut, "/v2/"+name+"/manifests/"+ref, token, m, "Content-Type", "application/vnd.oci.image.manifest.v1+json")
}

func (f *fixture) versions(r string) int {
	f.t.Helper()
	info, err := f.st.ShowRepo(f.ctx, r)
	require.NoError(f.t, err)
	if info.Head == nil {
		return 0
	}
	return info.Head.Number
}

func mustID(t *testing.T, d string) objects.ID {
	id, err := objects.ParseID(strings.TrimPrefix(d, "sha256:"))
	require.NoError(t, err)
	return id
}
