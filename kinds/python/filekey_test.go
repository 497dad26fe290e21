package python_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	metamem "github.com/pkgvc/pkgvc/meta/mem"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/kinds/python"
	"github.com/pkgvc/pkgvc/kinds/python/format/pythontest"
	"github.com/pkgvc/pkgvc/objects"
	objectsmem "github.com/pkgvc/pkgvc/objects/mem"
	refsmem "github.com/pkgvc/pkgvc/refs/mem"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/tree"
)

func TestFileKey(t *testing.T) {
	key := func(p string) string {
		k, ok := python.Kind{}.FileKey(repo.Record{Path: p})
		require.True(t, ok, p)
		return k
	}
	same := [][]string{
		{"racepkg-1.0-py3-none-any.whl", "x/Racepkg-1.0-py3-none-any.whl", "racepkg-01.0-py3-none-any.whl",
			"racepkg-1.0.0-py3-none-any.whl", "RACEPKG-1-PY3-none-ANY.whl"},
		{"a-2.0-py2.py3-none-any.whl", "A-2-py3.py2-none-any.whl"},
		{"a-2.0.tar.gz", "A-2.0.0.tar.gz"},
		{"a-2.0.zip", "A-2.0.0.zip"},
		{"my.pkg-1.0rc1-py3-none-any.whl", "my_pkg-1.0.0rc1-py3-none-any.whl"},
	}
	for _, group := range same {
		for _, p := range group[1:] {
			require.Equal(t, key(group[0]), key(p), "%s and %s", group[0], p)
		}
	}
	distinct := []string{
		"racepkg-1.0-py3-none-any.whl", "racepkg-1.0.1-py3-none-any.whl", "racepkg-1.0-1-py3-none-any.whl",
		"racepkg-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", "racepkg-1.0-py2-none-any.whl", "racepkg-1.0.tar.gz", "racepkg-1.0.zip",
		"otherpkg-1.0-py3-none-any.whl", "racepkg-1.0.post1-py3-none-any.whl",
	}
	seen := map[string]string{}
	for _, p := range distinct {
		k := key(p)
		require.NotContains(t, seen, k, "%s and %s", p, seen[k])
		seen[k] = p
	}
	// Metadata wins over the file name; other files have no key.
	k, ok := python.Kind{}.FileKey(repo.Record{Path: "weird-name.tar.gz", Metadata: map[string]string{"name": "Race.Pkg", "version": "1.0"}})
	require.True(t, ok)
	require.Equal(t, key("race_pkg-1.tar.gz"), k)
	for _, p := range []string{"README.txt", "bad-name-py3.whl", "x.egg"} {
		_, ok := python.Kind{}.FileKey(repo.Record{Path: p})
		require.False(t, ok, p)
	}
}

// TestCommitSpellings: a python repository refuses another spelling of a
// file it holds (name, version, tags) with other bytes, as it would the
// same file name; the same bytes, or a replacement of the file itself, are
// taken.
func TestCommitSpellings(t *testing.T) {
	ctx := context.Background()
	st := pyStore(t)
	dir := t.TempDir()
	n := 0
	wheel := func(name, version, extra string) repo.Add {
		s := pythontest.Spec{Name: name, Version: version}
		if extra != "" {
			s.Extra = []pythontest.File{{Name: "racepkg/extra.py", Body: []byte(extra)}}
		}
		fn, data := s.Wheel()
		n++
		f := filepath.Join(dir, fn+"."+string(rune('a'+n)))
		require.NoError(t, os.WriteFile(f, data, 0o644))
		return repo.Add{Path: fn, File: f}
	}
	commit := func(adds ...repo.Add) (*repo.CommitResult, error) {
		return st.Commit(ctx, "py", repo.CommitRequest{Adds: adds})
	}
	_, err := commit(wheel("racepkg", "1.0", ""))
	require.NoError(t, err)
	for _, sp := range [][2]string{{"Racepkg", "1.0"}, {"racepkg", "01.0"}, {"racepkg", "1.0.0"}, {"RacePkg", "1"}} {
		add := wheel(sp[0], sp[1], "evil = True\n")
		_, err := commit(add)
		require.ErrorIs(t, err, repo.ErrExists, add.Path)
		require.ErrorContains(t, err, "racepkg-1.0-py3-none-any.whl", "names the file it would shadow")
		_, err = st.Commit(ctx, "py", repo.CommitRequest{Adds: []repo.Add{add}, NoReplace: true})
		require.ErrorIs(t, err, repo.ErrExists, "an upload: %s", add.Path)
	}
	// Two spellings with other bytes in one commit.
	_, err = commit(wheel("twopkg", "2.0", "a = 1\n"), wheel("Twopkg", "2.0.0", "b = 2\n"))
	require.ErrorIs(t, err, repo.ErrExists)
	// The same bytes under another spelling; another version; the file
	// itself replaced, or removed while its new spelling is added.
	same := wheel("racepkg", "1.0", "")
	same.Path = "mirror/Racepkg-1.0-py3-none-any.whl"
	_, err = commit(same)
	require.NoError(t, err)
	_, err = commit(wheel("racepkg", "1.0.1", "ok = 1\n"))
	require.NoError(t, err)
	res, err := st.Commit(ctx, "py", repo.CommitRequest{Adds: []repo.Add{wheel("racepkg", "1.0", "rebuilt = 1\n")}, Removes: []string{same.Path}})
	require.NoError(t, err, "the file itself may be replaced by a commit")
	require.True(t, res.Changed)
}

// TestCommitSdistFormats: a release's .tar.gz and .zip sdists are two
// files (PyPI holds old releases with both), so both are taken; another
// spelling of either with other bytes is still refused.
func TestCommitSdistFormats(t *testing.T) {
	ctx := context.Background()
	st := pyStore(t)
	dir := t.TempDir()
	s := pythontest.Spec{Name: "pyparsing", Version: "1.5.2"}
	tgzName, tgz := s.Sdist()
	top := "pyparsing-1.5.2/"
	zipData := pythontest.Zip(pythontest.File{Name: top + "PKG-INFO", Body: s.Metadata()},
		pythontest.File{Name: top + "setup.py", Body: []byte("from setuptools import setup\nsetup()\n")})
	add := func(name string, data []byte) repo.Add {
		f := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(f, data, 0o644))
		return repo.Add{Path: name, File: f}
	}
	_, err := st.Commit(ctx, "py", repo.CommitRequest{Adds: []repo.Add{add(tgzName, tgz)}})
	require.NoError(t, err)
	_, err = st.Commit(ctx, "py", repo.CommitRequest{Adds: []repo.Add{add("pyparsing-1.5.2.zip", zipData)}, NoReplace: true})
	require.NoError(t, err, "a .zip sdist beside the .tar.gz of the same release")
	_, err = st.Commit(ctx, "py", repo.CommitRequest{Adds: []repo.Add{add("PyParsing-1.5.2.0.zip", pythontest.Zip(
		pythontest.File{Name: "PyParsing-1.5.2.0/PKG-INFO", Body: pythontest.Spec{Name: "PyParsing", Version: "1.5.2.0"}.Metadata()}))}})
	require.ErrorIs(t, err, repo.ErrExists, "another spelling of the .zip")
}

// TestCommitHeldSpellings: a repository that already holds two spellings
// of one file with other bytes (mirrored from upstream, or committed before
// spellings were compared) takes later commits: yanking either, committing
// either again, other files. A new conflicting spelling is still refused.
func TestCommitHeldSpellings(t *testing.T) {
	ctx := context.Background()
	st := pyStore(t)
	dir := t.TempDir()
	held := []repo.Add{
		wheelAdd(t, dir, pythontest.Spec{Name: "racepkg", Version: "1.0"}),
		wheelAdd(t, dir, pythontest.Spec{Name: "Racepkg", Version: "1.0.0", Extra: []pythontest.File{{Name: "racepkg/extra.py", Body: []byte("x = 1\n")}}}),
	}
	_, err := st.Commit(ctx, "py", repo.CommitRequest{Adds: held})
	require.ErrorIs(t, err, repo.ErrExists, "from a client")
	_, err = st.Commit(ctx, "py", repo.CommitRequest{Adds: held, FromUpstream: true})
	require.NoError(t, err, "from upstream")

	for _, a := range held {
		res, err := python.Yank(ctx, st, "py", python.YankRequest{File: a.Path, Reason: "broken"})
		require.NoError(t, err, "yank %s", a.Path)
		require.True(t, res.Changed)
	}
	_, err = st.Commit(ctx, "py", repo.CommitRequest{Adds: held[1:], AllowEmpty: true})
	require.NoError(t, err, "the same bytes at the same path again")
	_, err = st.Commit(ctx, "py", repo.CommitRequest{Adds: []repo.Add{wheelAdd(t, dir, pythontest.Spec{Name: "otherpkg", Version: "2.0"})}})
	require.NoError(t, err, "an unrelated file")
	evil := wheelAdd(t, dir, pythontest.Spec{Name: "RACEPKG", Version: "1", Extra: []pythontest.File{{Name: "racepkg/evil.py", Body: []byte("evil = 1\n")}}})
	_, err = st.Commit(ctx, "py", repo.CommitRequest{Adds: []repo.Add{evil}})
	require.ErrorIs(t, err, repo.ErrExists, "a third spelling")
}

func wheelAdd(t *testing.T, dir string, s pythontest.Spec) repo.Add {
	n, data := s.Wheel()
	f := filepath.Join(dir, n)
	require.NoError(t, os.WriteFile(f, data, 0o644))
	return repo.Add{Path: n, File: f}
}

// opens counts the objects read from a backend.
type opens struct {
	objects.Backend
	n atomic.Int64
}

func (o *opens) Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	o.n.Add(1)
	return o.Backend.Open(ctx, key, offset, length)
}

// TestCommitSpellingsCost: the spelling check reads the head's tree only
// for commits that add or replace python files; a yank (metadata only) or
// a mirror's commit reads about what any commit does, not the whole tree.
func TestCommitSpellingsCost(t *testing.T) {
	ctx := context.Background()
	b := &opens{Backend: objectsmem.New()}
	st := repo.New(objects.New(b), refsmem.New(), all.Kinds(), repo.WithMeta(metamem.New()))
	_, err := st.CreateRepo(ctx, "py", repo.CreateOptions{Kind: "python"})
	require.NoError(t, err)
	dir := t.TempDir()
	first := wheelAdd(t, dir, pythontest.Spec{Name: "demo", Version: "1.0"})
	first.Path = "packages/demo/" + first.Path
	_, err = st.Commit(ctx, "py", repo.CommitRequest{Adds: []repo.Add{first}})
	require.NoError(t, err)
	blob := mustRecord(t, st, first.Path)
	recs := make([]repo.Record, 5000)
	for i := range recs {
		p := fmt.Sprintf("p%d", i)
		recs[i] = repo.Record{Path: fmt.Sprintf("packages/%s/%s-1.0-py3-none-any.whl", p, p), SHA256: blob.SHA256, Size: blob.Size,
			Metadata: map[string]string{"name": p, "version": "1.0", "packagetype": "bdist_wheel"}}
	}
	_, err = st.Commit(ctx, "py", repo.CommitRequest{Records: recs, FromUpstream: true})
	require.NoError(t, err)

	measure := func(f func()) int64 {
		before := b.n.Load()
		f()
		return b.n.Load() - before
	}
	walk := measure(func() {
		v, err := st.ShowRepo(ctx, "py")
		require.NoError(t, err)
		require.NoError(t, tree.Walk(ctx, st.Objects(), v.Head.Tree, func(tree.Entry) error { return nil }))
	})
	added := measure(func() {
		_, err := st.Commit(ctx, "py", repo.CommitRequest{Adds: []repo.Add{wheelAdd(t, dir, pythontest.Spec{Name: "demo", Version: "2.0"})}})
		require.NoError(t, err)
	})
	require.GreaterOrEqual(t, added, walk, "a commit adding a wheel compares it with the head's")
	yank := measure(func() {
		_, err := python.Yank(ctx, st, "py", python.YankRequest{File: recs[0].Path})
		require.NoError(t, err)
	})
	mirror := measure(func() {
		more := recs[0]
		more.Path = "packages/p0/P0-1.0.0-py3-none-any.whl"
		_, err := st.Commit(ctx, "py", repo.CommitRequest{Records: []repo.Record{more}, FromUpstream: true})
		require.NoError(t, err)
	})
	t.Logf("objects read: whole tree %d, commit of a wheel %d, yank %d, mirror commit %d", walk, added, yank, mirror)
	require.Less(t, yank*4, walk, "a yank does not read the whole tree")
	require.Less(t, mirror*4, walk, "a mirror's commit does not read the whole tree")
}

func mustRecord(t *testing.T, st *repo.Store, p string) repo.Record {
	v, err := st.ShowRepo(context.Background(), "py")
	require.NoError(t, err)
	e, ok, err := tree.Get(context.Background(), st.Objects(), v.Head.Tree, p)
	require.NoError(t, err)
	require.True(t, ok, p)
	return e
}
