package remote_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/httpx/httpxtest"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
)

// TestSyncStaticServer syncs from a real static server (python3 -m
// http.server) serving a directory with a PULP_MANIFEST.
func TestSyncStaticServer(t *testing.T) {
	e := newEnv(t)
	dir := filepath.Join(t.TempDir(), "up")
	files := map[string][]byte{
		"a/one.bin":             content("one", 5000),
		"a/two.bin":             content("two", 300<<10),
		"b/deep/three.txt":      []byte("three\n"),
		"odd name #1?&+%.txt":   []byte("escaped\n"),
		"same/as-one.bin":       content("one", 5000), // same blob, two paths
		"empty.txt":             {},
		"c/compressible.txt":    bytes.Repeat([]byte("pkgvc "), 50000),
		"d/ünïcødé/файл.tar.gz": content("unicode", 777),
	}
	writeTree(t, dir, files)
	base := httpxtest.StaticServer(t, dir)
	e.remote(base + "PULP_MANIFEST")

	res := e.syncOK(false)
	require.True(t, res.Changed)
	require.Equal(t, 1, res.Version)
	require.Equal(t, len(files), res.Added)
	require.Equal(t, 7, res.Downloaded, "the shared blob is downloaded once")
	e.requireContent(files)
	head := e.head()
	require.Equal(t, head, res.ID)
	kind, err := e.st.VersionKind(e.ctx, head)
	require.NoError(t, err)
	require.Equal(t, "file", kind, "a synced version records its repository's kind")

	// Nothing changed upstream: no new version.
	res = e.syncOK(false)
	require.False(t, res.Changed)
	require.Equal(t, 1, res.Version)
	require.Equal(t, head, res.ID)
	require.Equal(t, len(files), res.Unchanged)
	require.Zero(t, res.Downloaded)
	require.Equal(t, head, e.head())

	// Upstream adds, changes and removes files.
	next := map[string][]byte{}
	for p, d := range files {
		next[p] = d
	}
	delete(next, "a/two.bin")
	next["a/one.bin"] = content("one v2", 6000)
	next["new/file.bin"] = content("new", 1234)
	writeTree(t, dir, next)

	res = e.syncOK(false) // additive
	require.True(t, res.Changed)
	require.Equal(t, 2, res.Version)
	require.Equal(t, 1, res.Added)
	require.Equal(t, 1, res.Updated)
	require.Zero(t, res.Removed)
	additive := map[string][]byte{"a/two.bin": files["a/two.bin"]}
	for p, d := range next {
		additive[p] = d
	}
	e.requireContent(additive)

	res = e.syncOK(true) // mirror
	require.True(t, res.Changed)
	require.Equal(t, 3, res.Version)
	require.Equal(t, 1, res.Removed)
	require.Zero(t, res.Added+res.Updated)
	e.requireContent(next)

	res = e.syncOK(true)
	require.False(t, res.Changed)
	require.Equal(t, 3, res.Version)
}

func TestSyncFilters(t *testing.T) {
	e := newEnv(t)
	dir := filepath.Join(t.TempDir(), "up")
	files := map[string][]byte{
		"keep/a.bin":      []byte("a"),
		"keep/sub/b.bin":  []byte("b"),
		"keep/skip.tmp":   []byte("tmp"),
		"other/c.bin":     []byte("c"),
		"top.bin":         []byte("top"),
		"keep/sub/x.tmp":  []byte("x"),
		"keep/sub/y.conf": []byte("y"),
	}
	writeTree(t, dir, files)
	e.remote(httpxtest.StaticServer(t, dir)+"PULP_MANIFEST", func(r *remote.Remote) {
		r.Include = []string{"keep/**"}
		r.Exclude = []string{"*.tmp"}
	})
	// A local file outside the filters: a mirror sync must leave it.
	_, err := e.st.Commit(e.ctx, "mirror", repo.CommitRequest{Adds: []repo.Add{{Path: "other/local.txt", File: writeFile(t, "local")}}})
	require.NoError(t, err)

	res := e.syncOK(true)
	require.Equal(t, 3, res.Added)
	require.Equal(t, 4, res.Filtered)
	require.Zero(t, res.Removed)
	e.requireContent(map[string][]byte{
		"keep/a.bin": []byte("a"), "keep/sub/b.bin": []byte("b"), "keep/sub/y.conf": []byte("y"),
		"other/local.txt": []byte("local"),
	})
	require.False(t, e.hasBlob([]byte("c")), "filtered files are not downloaded")

	// Upstream drops keep/a.bin and other/c.bin; only the former goes.
	delete(files, "keep/a.bin")
	delete(files, "other/c.bin")
	writeTree(t, dir, files)
	res = e.syncOK(true)
	require.Equal(t, 1, res.Removed)
	e.requireContent(map[string][]byte{
		"keep/sub/b.bin": []byte("b"), "keep/sub/y.conf": []byte("y"), "other/local.txt": []byte("local"),
	})
}

func writeFile(t *testing.T, data string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "f")
	require.NoError(t, writeBytes(f, []byte(data)))
	return f
}

func TestSyncKindMismatchAndUnknowns(t *testing.T) {
	e := newEnv(t)
	u := newUpstream(t, map[string][]byte{"a": []byte("a")})
	e.remote(u.url())
	_, err := e.m.Sync(e.ctx, "nosuch", "mirror", remote.SyncOptions{})
	require.ErrorIs(t, err, remote.ErrRemoteNotFound)
	require.ErrorIs(t, err, repo.ErrNotFound)
	_, err = e.m.Sync(e.ctx, "up", "nosuch", remote.SyncOptions{})
	require.ErrorIs(t, err, repo.ErrRepoNotFound)
	require.Zero(t, u.count("PULP_MANIFEST"))
}

func TestSyncEmptyUpstream(t *testing.T) {
	e := newEnv(t)
	u := newUpstream(t, map[string][]byte{})
	e.remote(u.url())
	res := e.syncOK(true)
	require.False(t, res.Changed)
	require.Zero(t, res.Version)
	require.True(t, e.head().IsZero())
}
