package client_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/api/client"
	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/checkout"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/kinds/python/format/pythontest"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

// treeOf reads a checkout: every file's path and sha256.
func treeOf(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	root, err := filepath.EvalSymlinks(dir)
	require.NoError(t, err)
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		sum := sha256.Sum256(data)
		out[filepath.ToSlash(rel)] = hex.EncodeToString(sum[:])
		return nil
	}))
	return out
}

// countingTransport counts the requests for a package's bytes.
type countingTransport struct {
	http.RoundTripper
	content atomic.Int32
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/content") {
		c.content.Add(1)
	}
	return c.RoundTripper.RoundTrip(r)
}

// TestCheckoutThroughServer: a checkout through the API, with a token that
// may only read the distribution, writes the same files as a checkout on
// the server's store, and the next one downloads only what changed.
func TestCheckoutThroughServer(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx
	_, err := e.svc.CreateRepo(ctx, "web", repo.CreateOptions{})
	require.NoError(t, err)
	files := map[string][]byte{"index.html": []byte("<h1>hi</h1>"), "d/a.txt": []byte("a"), "d/b.txt": []byte("b"), "same.txt": []byte("a")}
	commitFiles(t, e.svc, "web", files)
	_, err = e.svc.CreateDist(ctx, "web", dist.DistSpec{BasePath: "web", Repo: "web", Private: new(bool)})
	require.NoError(t, err)

	counter := &countingTransport{RoundTripper: e.spec.transport(t, http.DefaultTransport)}
	c, err := client.New(e.ts.URL, e.token("reader", "dist:web:read"), client.WithHTTPClient(&http.Client{Transport: counter}), client.WithKinds(all.Kinds(), all.Publishers()))
	require.NoError(t, err)
	remoteDir, localDir := filepath.Join(t.TempDir(), "out"), filepath.Join(t.TempDir(), "out")
	res, err := c.Checkout(ctx, "web", remoteDir, api.CheckoutOptions{})
	require.NoError(t, err)
	require.Equal(t, "web", res.Dist)
	require.EqualValues(t, 3, counter.content.Load(), "one download per distinct package")
	_, err = e.svc.Checkout(ctx, "web", localDir, api.CheckoutOptions{})
	require.NoError(t, err)
	require.Equal(t, treeOf(t, localDir), treeOf(t, remoteDir))
	require.Contains(t, treeOf(t, remoteDir), "PULP_MANIFEST")

	// A change: one package added, one changed, one removed.
	commitFiles(t, e.svc, "web", map[string][]byte{"d/a.txt": []byte("a, changed"), "new.txt": []byte("new")})
	_, err = e.svc.Commit(ctx, "web", repo.CommitRequest{Removes: []string{"d/b.txt"}})
	require.NoError(t, err)
	counter.content.Store(0)
	res, err = c.Checkout(ctx, "web", remoteDir, api.CheckoutOptions{})
	require.NoError(t, err)
	require.Equal(t, 3, res.Version.Number)
	require.EqualValues(t, 2, counter.content.Load(), "only what changed is downloaded")
	_, err = e.svc.Checkout(ctx, "web", localDir, api.CheckoutOptions{})
	require.NoError(t, err)
	want := treeOf(t, localDir)
	require.Equal(t, want, treeOf(t, remoteDir))
	require.NotContains(t, want, "d/b.txt")
	var blobs int
	require.NoError(t, e.replicaBlobs(remoteDir, func(objects.ID) { blobs++ }))
	require.Equal(t, 4, blobs, "the copy keeps the served version's packages only")

	res, err = c.Checkout(ctx, "web", remoteDir, api.CheckoutOptions{})
	require.NoError(t, err)
	require.True(t, res.UpToDate)

	// The copy names the version it copies: once the distribution moved,
	// the server refuses, and a checkout starts again from the new one.
	head, err := e.svc.Log(ctx, "web", 2)
	require.NoError(t, err)
	_, err = c.ServedObject(ctx, "web", head[1].ID, head[1].Tree)
	require.ErrorIs(t, err, dist.ErrDistMoved)
	_, _, err = c.ServedContent(ctx, "web", head[1].ID, "new.txt")
	require.ErrorIs(t, err, dist.ErrDistMoved)
	// Only the served tree's objects are handed out.
	_, err = c.ServedObject(ctx, "web", head[0].ID, objects.Sum([]byte("not a tree object")))
	require.ErrorIs(t, err, objects.ErrNotFound)

	// Without the distribution's read scope, nothing.
	other, err := client.New(e.ts.URL, e.token("other", "dist:elsewhere:read"), client.WithKinds(all.Kinds(), all.Publishers()))
	require.NoError(t, err)
	_, err = other.Checkout(ctx, "web", filepath.Join(t.TempDir(), "x"), api.CheckoutOptions{})
	require.ErrorIs(t, err, auth.ErrForbidden)

	// A directory with files of its own is refused, and nothing is left.
	junk := filepath.Join(t.TempDir(), "junk")
	require.NoError(t, os.MkdirAll(junk, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(junk, "mine.txt"), []byte("mine"), 0o644))
	_, err = c.Checkout(ctx, "web", junk, api.CheckoutOptions{})
	require.ErrorIs(t, err, checkout.ErrNotCheckout)
	_, err = os.Stat(checkout.HomeDir(junk))
	require.ErrorIs(t, err, fs.ErrNotExist)
}

// TestCheckoutThroughServerPython: a python distribution's publication
// (the simple index, core metadata files) is generated from the copy as
// the server generates it.
func TestCheckoutThroughServerPython(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx
	_, err := e.svc.CreateRepo(ctx, "py", repo.CreateOptions{Kind: "python"})
	require.NoError(t, err)
	files := map[string][]byte{}
	for _, spec := range []pythontest.Spec{{Name: "demo", Version: "1.0"}, {Name: "demo", Version: "1.1", RequiresPython: ">=3.8"}, {Name: "other", Version: "2.0"}} {
		fn, data := spec.Wheel()
		files[fn] = data
	}
	commitFiles(t, e.svc, "py", files)
	_, err = e.svc.CreateDist(ctx, "pypi", dist.DistSpec{BasePath: "pypi", Repo: "py"})
	require.NoError(t, err)
	remoteDir, localDir := filepath.Join(t.TempDir(), "out"), filepath.Join(t.TempDir(), "out")
	_, err = e.client(e.token("reader", "dist:pypi:read")).Checkout(ctx, "pypi", remoteDir, api.CheckoutOptions{})
	require.NoError(t, err)
	_, err = e.svc.Checkout(ctx, "pypi", localDir, api.CheckoutOptions{})
	require.NoError(t, err)
	got := treeOf(t, remoteDir)
	require.Equal(t, treeOf(t, localDir), got)
	var metadata int
	for p := range got {
		if strings.HasSuffix(p, ".whl.metadata") {
			metadata++
		}
	}
	require.Equal(t, 3, metadata, "core metadata of each wheel: %v", got)
}

// replicaBlobs calls fn for each package in the copy of a checkout through
// the server into dir.
func (e *env) replicaBlobs(dir string, fn func(objects.ID)) error {
	return filepath.WalkDir(filepath.Join(checkout.ReplicaDir(dir), "data", "blobs"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		id, err := objects.ParseID(strings.TrimSuffix(d.Name(), ".zst"))
		if err == nil {
			fn(id)
		}
		return nil
	})
}
