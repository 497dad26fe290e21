package upstream_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/httpx/httpxtest"
	"github.com/pkgvc/pkgvc/kinds/python/format/pythontest"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
)

// projectIndex serves a PEP 503 index of one project holding files (name
// -> content, listed in order) with python3 -m http.server.
func projectIndex(t *testing.T, project string, names []string, files map[string][]byte) string {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "files"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "simple", project), 0o755))
	page := "<!DOCTYPE html><html><body>\n"
	for _, n := range names {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "files", n), files[n], 0o644))
		sum := sha256.Sum256(files[n])
		page += fmt.Sprintf("<a href=\"../../files/%s#sha256=%s\">%s</a><br>\n", n, hex.EncodeToString(sum[:]), n)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "simple", project, "index.html"), []byte(page), 0o644))
	root := fmt.Sprintf("<!DOCTYPE html><html><body><a href=\"%s/\">%s</a></body></html>\n", project, project)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "simple", "index.html"), []byte(root), 0o644))
	return httpxtest.StaticServer(t, dir) + "simple/"
}

// TestSyncUpstreamSpellings: the upstream is the authority for its own
// files. A project whose release has a .tar.gz and a .zip sdist, and two
// spellings of one wheel with other bytes (as old PyPI releases do), is
// mirrored as it is, by a sync and by a pull-through; a client committing
// another spelling to the mirror is still refused.
func TestSyncUpstreamSpellings(t *testing.T) {
	s := pythontest.Spec{Name: "racepkg", Version: "1.0"}
	tgzName, tgz := s.Sdist()
	zipName := "racepkg-1.0.zip"
	zipData := pythontest.Zip(pythontest.File{Name: "racepkg-1.0/PKG-INFO", Body: s.Metadata()})
	whlName, whl := s.Wheel()
	other := pythontest.Spec{Name: "Racepkg", Version: "1.0.0", Extra: []pythontest.File{{Name: "racepkg/extra.py", Body: []byte("x = 1\n")}}}
	otherName, otherData := other.Wheel()
	names := []string{tgzName, zipName, whlName, otherName}
	files := map[string][]byte{tgzName: tgz, zipName: zipData, whlName: whl, otherName: otherData}
	index := projectIndex(t, "racepkg", names, files)
	var want []string
	for _, n := range names {
		want = append(want, "packages/racepkg/"+n)
	}

	t.Run("sync", func(t *testing.T) {
		f := newFixture(t)
		got, err := f.sync(t, remote.Remote{URL: index})
		require.NoError(t, err)
		require.ElementsMatch(t, want, keys(got))
		// Synced again: nothing refused, nothing changed.
		res, err := f.m.Sync(f.ctx, "up", "py", remote.SyncOptions{})
		require.NoError(t, err)
		require.False(t, res.Changed)

		// A client's own spelling of a held wheel with other bytes is not
		// upstream's: refused.
		evil := pythontest.Spec{Name: "RacePkg", Version: "1", Extra: []pythontest.File{{Name: "racepkg/evil.py", Body: []byte("evil = True\n")}}}
		n, data := evil.Wheel()
		p := filepath.Join(t.TempDir(), n)
		require.NoError(t, os.WriteFile(p, data, 0o644))
		_, err = f.st.Commit(f.ctx, "py", repo.CommitRequest{Adds: []repo.Add{{Path: n, File: p}}})
		require.ErrorIs(t, err, repo.ErrExists)
	})
	t.Run("pull-through", func(t *testing.T) {
		f := newFixture(t)
		_, err := f.m.Create(f.ctx, remote.Remote{Name: "up", Kind: "python", URL: index})
		require.NoError(t, err)
		res, err := f.m.PullProjects(f.ctx, "up", "py", []string{"racepkg"})
		require.NoError(t, err)
		require.True(t, res.Changed)
		require.Equal(t, len(names), res.Added)
	})
}
