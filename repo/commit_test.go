package repo_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/tree"
)

func TestParseAdd(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, content string) string {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
		return p
	}
	file := write("pkg/a.whl", "aaaa")
	write("pkg/sub/b.whl", "bb")
	eq := write("odd=name.txt", "x")
	pkg := filepath.Join(dir, "pkg")

	for _, tc := range []struct {
		name    string
		spec    string
		want    []repo.Add
		wantErr error
	}{
		{name: "file at base name", spec: file,
			want: []repo.Add{{Path: "a.whl", File: file, Size: 4}}},
		{name: "file at path", spec: file + "=dist/x/a-1.whl",
			want: []repo.Add{{Path: "dist/x/a-1.whl", File: file, Size: 4}}},
		{name: "directory relative to itself", spec: pkg,
			want: []repo.Add{{Path: "a.whl", File: file, Size: 4}, {Path: "sub/b.whl", File: filepath.Join(pkg, "sub", "b.whl"), Size: 2}}},
		{name: "directory under a prefix", spec: pkg + "=simple/",
			want: []repo.Add{{Path: "simple/a.whl", File: file, Size: 4}, {Path: "simple/sub/b.whl", File: filepath.Join(pkg, "sub", "b.whl"), Size: 2}}},
		{name: "file name containing =", spec: eq,
			want: []repo.Add{{Path: "odd=name.txt", File: eq, Size: 1}}},
		{name: "missing file", spec: filepath.Join(dir, "nope"), wantErr: repo.ErrInvalid},
		{name: "missing file at path", spec: filepath.Join(dir, "nope") + "=x", wantErr: repo.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := repo.ParseAdd(tc.spec)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.ElementsMatch(t, tc.want, got)
		})
	}
}

// A symbolic link in an added directory may name a file inside it, but not
// one outside (a secret a build tree points at) unless links are followed.
func TestParseAddSymlinks(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "d")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "fine.txt"), []byte("ok"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(base, "secret.txt"), []byte("secret"), 0o644))
	require.NoError(t, os.Symlink("../fine.txt", filepath.Join(dir, "sub", "alias.txt")))

	paths := func(adds []repo.Add) []string {
		var out []string
		for _, a := range adds {
			out = append(out, a.Path)
		}
		return out
	}
	adds, err := repo.ParseAdd(dir)
	require.NoError(t, err, "a link inside the directory is fine")
	require.ElementsMatch(t, []string{"fine.txt", "sub/alias.txt"}, paths(adds))

	for _, target := range []string{filepath.Join(base, "secret.txt"), "../../secret.txt"} {
		link := filepath.Join(dir, "sub", "leak.txt")
		require.NoError(t, os.Symlink(target, link))
		_, err = repo.ParseAdd(dir)
		require.ErrorIs(t, err, repo.ErrInvalid, target)
		require.ErrorContains(t, err, link)
		require.ErrorContains(t, err, filepath.Join(base, "secret.txt"))

		adds, err = repo.ParseAdd(dir, repo.FollowSymlinks())
		require.NoError(t, err)
		require.ElementsMatch(t, []string{"fine.txt", "sub/alias.txt", "sub/leak.txt"}, paths(adds))
		require.NoError(t, os.Remove(link))
	}

	// Through a symbolic link to the directory itself, links inside stay fine.
	via := filepath.Join(base, "via")
	require.NoError(t, os.Symlink(dir, via))
	adds, err = repo.ParseAdd(via)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"fine.txt", "sub/alias.txt"}, paths(adds))
}

func TestCommitAdds(t *testing.T) {
	e := newFSEnv(t)
	e.create("dev", repo.CreateOptions{})
	src := t.TempDir()
	files := map[string]string{"a.txt": "alpha", "sub/b.txt": "beta", "sub/deep/c.bin": "gamma!"}
	for p, c := range files {
		full := filepath.Join(src, filepath.FromSlash(p))
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, []byte(c), 0o644))
	}
	single := e.file("single")

	var adds []repo.Add
	for _, spec := range []string{src + "=tree", single, single + "=renamed/one.txt"} {
		a, err := repo.ParseAdd(spec)
		require.NoError(t, err)
		adds = append(adds, a...)
	}
	// Progress is called from the ingest workers, possibly at once.
	var mu sync.Mutex
	var progressed, progressTotal int64
	res, err := e.s.Commit(e.ctx, "dev", repo.CommitRequest{Adds: adds, Message: "first\nbody", Progress: func(done, total int64) {
		mu.Lock()
		defer mu.Unlock()
		progressed, progressTotal = max(progressed, done), total
	}})
	require.NoError(t, err)
	require.Equal(t, progressTotal, progressed)
	require.True(t, res.Changed)
	require.Equal(t, "dev", res.Repo)
	require.Equal(t, 1, res.Version)
	require.Positive(t, res.NewObjects)
	require.Positive(t, res.NewBytes)
	require.Equal(t, int64(len("alphabetagamma!")+2*len("single")), progressed)

	require.Equal(t, map[string]string{
		"tree/a.txt":          "alpha",
		"tree/sub/b.txt":      "beta",
		"tree/sub/deep/c.bin": "gamma!",
		filepath.Base(single): "single",
		"renamed/one.txt":     "single",
	}, e.contents("dev"))
	v := e.resolve("dev")
	require.Equal(t, res.ID, v.ID)
	require.Equal(t, "first\nbody", v.Message)
	require.Equal(t, rtWho, v.Author)
	require.Empty(t, v.Parents)

	log, err := e.s.Reflog(e.ctx, "dev")
	require.NoError(t, err)
	require.Equal(t, "commit: first", log[0].Action, "reflog action uses the first line")
}

func TestCommitVersionNumbersAndAuthor(t *testing.T) {
	e := newMemEnv(t)
	e.create("dev", repo.CreateOptions{})
	var ids []objects.ID
	for i := 1; i <= 3; i++ {
		res := e.commit("dev", map[string]string{fmt.Sprintf("f%d", i): fmt.Sprint(i)})
		require.Equal(t, i, res.Version)
		require.True(t, res.Changed)
		ids = append(ids, res.ID)
	}
	for i := 1; i < 3; i++ {
		v := e.resolve(fmt.Sprintf("dev@%d", i+1))
		require.Equal(t, []objects.ID{ids[i-1]}, v.Parents)
	}
	res, err := e.s.Commit(e.ctx, "dev", repo.CommitRequest{Adds: e.adds(map[string]string{"g": "g"}), Author: "bob"})
	require.NoError(t, err)
	require.Equal(t, "bob", e.resolve("dev").Author)
	require.Equal(t, 4, res.Version)
	require.Equal(t, "add 1 package(s)", e.resolve("dev").Message)
}

func TestCommitRecords(t *testing.T) {
	e := newMemEnv(t)
	e.create("dev", repo.CreateOptions{})
	blob := e.putBlob("uploaded earlier")
	missing := objects.Sum([]byte("never uploaded"))

	for _, tc := range []struct {
		name    string
		rec     repo.Record
		wantErr error
	}{
		{name: "missing blob", rec: repo.Record{Path: "m.txt", SHA256: missing, Size: 14}, wantErr: repo.ErrInvalid},
		{name: "wrong size", rec: repo.Record{Path: "w.txt", SHA256: blob.ID, Size: blob.Size + 1}, wantErr: repo.ErrInvalid},
		{name: "existing blob", rec: repo.Record{Path: "dist/u.txt", SHA256: blob.ID, Size: blob.Size, Metadata: map[string]string{"k": "v"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.head("dev")
			res, err := e.s.Commit(e.ctx, "dev", repo.CommitRequest{Records: []repo.Record{tc.rec}})
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				require.Equal(t, before, e.head("dev"))
				return
			}
			require.NoError(t, err)
			require.True(t, res.Changed)
			require.Equal(t, "uploaded earlier", e.cat("dev", tc.rec.Path))
			got, err := e.s.Stat(e.ctx, "dev", tc.rec.Path)
			require.NoError(t, err)
			require.True(t, tc.rec.Equal(got), "%+v", got)
		})
	}

	// The same record again changes nothing.
	res, err := e.s.Commit(e.ctx, "dev", repo.CommitRequest{Records: []repo.Record{{Path: "dist/u.txt", SHA256: blob.ID, Size: blob.Size, Metadata: map[string]string{"k": "v"}}}})
	require.NoError(t, err)
	require.False(t, res.Changed)
	require.Equal(t, 1, res.Version)
}

func TestCommitRemoves(t *testing.T) {
	base := map[string]string{"a.txt": "a", "sub/b.txt": "b", "sub/c/d.txt": "d", "subway.txt": "s", "z/z.txt": "z"}
	for _, tc := range []struct {
		name    string
		removes []string
		adds    map[string]string
		want    []string
		wantErr error
	}{
		{name: "one path", removes: []string{"a.txt"}, want: []string{"sub/b.txt", "sub/c/d.txt", "subway.txt", "z/z.txt"}},
		{name: "directory prefix", removes: []string{"sub"}, want: []string{"a.txt", "subway.txt", "z/z.txt"}},
		{name: "directory with slash", removes: []string{"sub/"}, want: []string{"a.txt", "subway.txt", "z/z.txt"}},
		{name: "nested directory", removes: []string{"sub/c"}, want: []string{"a.txt", "sub/b.txt", "subway.txt", "z/z.txt"}},
		{name: "several", removes: []string{"a.txt", "z"}, want: []string{"sub/b.txt", "sub/c/d.txt", "subway.txt"}},
		{name: "remove and add", removes: []string{"sub"}, adds: map[string]string{"new.txt": "n"}, want: []string{"a.txt", "new.txt", "subway.txt", "z/z.txt"}},
		{name: "everything", removes: []string{"a.txt", "sub", "subway.txt", "z"}, want: []string{}},
		{name: "absent path", removes: []string{"nope.txt"}, wantErr: repo.ErrPathNotFound},
		{name: "absent directory", removes: []string{"su"}, wantErr: repo.ErrPathNotFound},
		{name: "one of several absent", removes: []string{"a.txt", "nope/"}, wantErr: repo.ErrPathNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newMemEnv(t)
			e.create("dev", repo.CreateOptions{})
			e.commit("dev", base)
			before := e.head("dev")
			res, err := e.s.Commit(e.ctx, "dev", repo.CommitRequest{Adds: e.adds(tc.adds), Removes: tc.removes})
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				require.ErrorIs(t, err, repo.ErrNotFound)
				require.Equal(t, before, e.head("dev"))
				require.Equal(t, 1, e.reflogLen("dev"))
				return
			}
			require.NoError(t, err)
			require.True(t, res.Changed)
			require.Equal(t, 2, res.Version)
			require.Equal(t, tc.want, e.paths("dev"))
			require.Len(t, e.paths("dev@1"), len(base), "the old version is unchanged")
		})
	}

	e := newMemEnv(t)
	e.create("empty", repo.CreateOptions{})
	_, err := e.s.Commit(e.ctx, "empty", repo.CommitRequest{Removes: []string{"a"}})
	require.ErrorIs(t, err, repo.ErrPathNotFound)
}

func TestCommitRejectsBadRequests(t *testing.T) {
	e := newFSEnv(t)
	e.create("dev", repo.CreateOptions{})
	e.commit("dev", map[string]string{"a.txt": "a"})
	blob := e.putBlob("blob")
	good := e.file("good")

	for _, tc := range []struct {
		name    string
		req     repo.CommitRequest
		wantErr error
	}{
		{name: "dot-dot", req: repo.CommitRequest{Adds: []repo.Add{{Path: "../evil", File: good}}}, wantErr: repo.ErrInvalid},
		{name: "absolute", req: repo.CommitRequest{Adds: []repo.Add{{Path: "/abs", File: good}}}, wantErr: repo.ErrInvalid},
		{name: "inner dot-dot", req: repo.CommitRequest{Adds: []repo.Add{{Path: "a/../b", File: good}}}, wantErr: repo.ErrInvalid},
		{name: "dot segment", req: repo.CommitRequest{Adds: []repo.Add{{Path: "a/./b", File: good}}}, wantErr: repo.ErrInvalid},
		{name: "NUL", req: repo.CommitRequest{Adds: []repo.Add{{Path: "a\x00b", File: good}}}, wantErr: repo.ErrInvalid},
		{name: "newline", req: repo.CommitRequest{Adds: []repo.Add{{Path: "a\nb", File: good}}}, wantErr: repo.ErrInvalid},
		{name: "at segment", req: repo.CommitRequest{Adds: []repo.Add{{Path: "@x", File: good}}}, wantErr: repo.ErrInvalid},
		{name: "inner at segment", req: repo.CommitRequest{Adds: []repo.Add{{Path: "a/@x/b", File: good}}}, wantErr: repo.ErrInvalid},
		{name: "empty path", req: repo.CommitRequest{Adds: []repo.Add{{Path: "", File: good}}}, wantErr: repo.ErrInvalid},
		{name: "empty segment", req: repo.CommitRequest{Adds: []repo.Add{{Path: "a//b", File: good}}}, wantErr: repo.ErrInvalid},
		{name: "trailing slash", req: repo.CommitRequest{Adds: []repo.Add{{Path: "a/", File: good}}}, wantErr: repo.ErrInvalid},
		{name: "backslash", req: repo.CommitRequest{Adds: []repo.Add{{Path: `a\b`, File: good}}}, wantErr: repo.ErrInvalid},
		{name: "bad path after good one", req: repo.CommitRequest{Adds: []repo.Add{{Path: "ok.txt", File: good}, {Path: "../evil", File: good}}}, wantErr: repo.ErrInvalid},
		{name: "bad record path", req: repo.CommitRequest{Records: []repo.Record{{Path: "/abs", SHA256: blob.ID, Size: blob.Size}}}, wantErr: repo.ErrInvalid},
		{name: "bad remove path", req: repo.CommitRequest{Removes: []string{"../a.txt"}}, wantErr: repo.ErrInvalid},
		{name: "empty remove path", req: repo.CommitRequest{Removes: []string{""}}, wantErr: repo.ErrInvalid},
		{name: "duplicate add", req: repo.CommitRequest{Adds: []repo.Add{{Path: "x", File: good}, {Path: "x", File: good}}}, wantErr: repo.ErrInvalid},
		{name: "add and remove same path", req: repo.CommitRequest{Adds: []repo.Add{{Path: "a.txt", File: good}}, Removes: []string{"a.txt"}}, wantErr: repo.ErrInvalid},
		{name: "add and record same path", req: repo.CommitRequest{Adds: []repo.Add{{Path: "x", File: good}}, Records: []repo.Record{{Path: "x", SHA256: blob.ID, Size: blob.Size}}}, wantErr: repo.ErrInvalid},
		{name: "remove twice", req: repo.CommitRequest{Removes: []string{"a.txt", "a.txt/"}}, wantErr: repo.ErrInvalid},
		{name: "missing file", req: repo.CommitRequest{Adds: []repo.Add{{Path: "ok.txt", File: good}, {Path: "gone.txt", File: filepath.Join(e.src, "does-not-exist")}}}, wantErr: fs.ErrNotExist},
		{name: "directory as file", req: repo.CommitRequest{Adds: []repo.Add{{Path: "d", File: e.src}}}, wantErr: repo.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			head := e.head("dev")
			reflog := e.reflogLen("dev")
			_, err := e.s.Commit(e.ctx, "dev", tc.req)
			require.ErrorIs(t, err, tc.wantErr)
			require.Equal(t, head, e.head("dev"), "head moved")
			require.Equal(t, reflog, e.reflogLen("dev"), "reflog grew")
			require.Equal(t, []string{"a.txt"}, e.paths("dev"))
		})
	}

	_, err := e.s.Commit(e.ctx, "nope", repo.CommitRequest{Adds: []repo.Add{{Path: "x", File: good}}})
	require.ErrorIs(t, err, repo.ErrRepoNotFound)
}

func TestCommitNoChange(t *testing.T) {
	e := newMemEnv(t)
	e.create("dev", repo.CreateOptions{})

	// Nothing at all into an empty repository: no version.
	res, err := e.s.Commit(e.ctx, "dev", repo.CommitRequest{})
	require.NoError(t, err)
	require.False(t, res.Changed)
	require.Zero(t, res.Version)
	require.True(t, e.head("dev").IsZero())

	first := e.commit("dev", map[string]string{"a.txt": "same"})
	for _, tc := range []struct {
		name string
		req  repo.CommitRequest
	}{
		{"no changes", repo.CommitRequest{}},
		{"same content again", repo.CommitRequest{Adds: e.adds(map[string]string{"a.txt": "same"})}},
		{"message only", repo.CommitRequest{Message: "nothing"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := e.s.Commit(e.ctx, "dev", tc.req)
			require.NoError(t, err)
			require.False(t, res.Changed)
			require.Equal(t, 1, res.Version)
			require.Equal(t, first.ID, res.ID)
			require.Equal(t, first.ID, e.head("dev"))
			require.Equal(t, 1, e.reflogLen("dev"))
		})
	}

	res, err = e.s.Commit(e.ctx, "dev", repo.CommitRequest{AllowEmpty: true, Message: "marker"})
	require.NoError(t, err)
	require.True(t, res.Changed)
	require.Equal(t, 2, res.Version)
	v := e.resolve("dev")
	require.Equal(t, "marker", v.Message)
	require.Equal(t, e.resolve("dev@1").Tree, v.Tree)
	require.Equal(t, []objects.ID{first.ID}, v.Parents)

	// AllowEmpty on an empty repository makes an empty version 1.
	e.create("blank", repo.CreateOptions{})
	res, err = e.s.Commit(e.ctx, "blank", repo.CommitRequest{AllowEmpty: true})
	require.NoError(t, err)
	require.True(t, res.Changed)
	require.Equal(t, 1, res.Version)
	require.Equal(t, []string{}, e.paths("blank"))
	require.Equal(t, "empty version", e.resolve("blank").Message)
}

func TestCommitNewObjectsSmallOnLargeVersion(t *testing.T) {
	e := newMemEnv(t)
	e.create("big", repo.CreateOptions{})
	// 3000 records over a few blobs: creating 3000 files is slow on some
	// file systems and adds nothing here.
	var blobs []objects.PutResult
	for i := range 16 {
		blobs = append(blobs, e.putBlob(fmt.Sprintf("package body %d", i)))
	}
	const n = 3000
	recs := make([]repo.Record, n)
	for i := range recs {
		b := blobs[i%len(blobs)]
		recs[i] = repo.Record{Path: fmt.Sprintf("d%02d/pkg-%04d.whl", i%50, i), SHA256: b.ID, Size: b.Size}
	}
	res, err := e.s.Commit(e.ctx, "big", repo.CommitRequest{Records: recs})
	require.NoError(t, err)
	require.True(t, res.Changed)
	require.Positive(t, res.NewObjects)
	require.Positive(t, res.NewBytes)

	one := e.commit("big", map[string]string{"extra/new.whl": strings.Repeat("new ", 100)})
	require.True(t, one.Changed)
	require.Equal(t, 2, one.Version)
	require.Positive(t, one.NewObjects)
	require.Less(t, one.NewObjects, 20)
	require.Positive(t, one.NewBytes)
	require.Less(t, one.NewBytes, int64(64<<10), "a one-package commit rewrote too much")

	info, err := e.s.ShowRepo(e.ctx, "big")
	require.NoError(t, err)
	require.Equal(t, n+1, info.Packages)
	d, err := e.s.Diff(e.ctx, "big@1", "big")
	require.NoError(t, err)
	require.Equal(t, []string{"extra/new.whl"}, d.Added)
}

// TestCommitOverlappingPaths covers requests whose paths collide only
// through directories: removals apply before additions, each path once.
func TestCommitOverlappingPaths(t *testing.T) {
	for _, tc := range []struct {
		name    string
		adds    map[string]string
		removes []string
		want    map[string]string
	}{
		{name: "remove a directory and a path under it", removes: []string{"sub", "sub/b.txt"},
			want: map[string]string{"a": "file a"}},
		{name: "add a path under a removed directory", adds: map[string]string{"sub/b.txt": "new"}, removes: []string{"sub"},
			want: map[string]string{"a": "file a", "sub/b.txt": "new"}},
		{name: "a file replaces the directory whose files it removes", adds: map[string]string{"sub": "now a file"}, removes: []string{"sub/b.txt", "sub/c.txt"},
			want: map[string]string{"a": "file a", "sub": "now a file"}},
		{name: "a directory replaces the file it removes", adds: map[string]string{"a/x": "under a"}, removes: []string{"a"},
			want: map[string]string{"a/x": "under a", "sub/b.txt": "b", "sub/c.txt": "c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newMemEnv(t)
			e.create("dev", repo.CreateOptions{})
			e.commit("dev", map[string]string{"a": "file a", "sub/b.txt": "b", "sub/c.txt": "c"})
			_, err := e.s.Commit(e.ctx, "dev", repo.CommitRequest{Adds: e.adds(tc.adds), Removes: tc.removes})
			require.NoError(t, err)
			require.Equal(t, tc.want, e.contents("dev"))
			require.Equal(t, 2, e.reflogLen("dev"))
		})
	}
}

// TestCommitFileAndDirectorySamePath: a version is published as a file
// tree (an fs.FS), where one path cannot be both a file and a directory.
func TestCommitFileAndDirectorySamePath(t *testing.T) {
	for _, tc := range []struct {
		name  string
		base  map[string]string
		add   map[string]string
		clash []string
	}{
		{"directory under a file", map[string]string{"a": "file"}, map[string]string{"a/b": "nested"}, []string{"a", "a/b"}},
		{"deep directory under a file", map[string]string{"a": "file"}, map[string]string{"a/b/c": "nested"}, []string{"a", "a/b/c"}},
		{"file over a directory", map[string]string{"sub/b.txt": "b"}, map[string]string{"sub": "file"}, []string{"sub", "sub/b.txt"}},
		{"file over a deep directory", map[string]string{"sub/d/b.txt": "b", "sub!": "x"}, map[string]string{"sub": "file"}, []string{"sub", "sub/d/b.txt"}},
		{"both in one request", nil, map[string]string{"x": "file", "x/y": "nested"}, []string{"x", "x/y"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newMemEnv(t)
			e.create("dev", repo.CreateOptions{})
			if tc.base != nil {
				e.commit("dev", tc.base)
			}
			head := e.head("dev")
			_, err := e.s.Commit(e.ctx, "dev", repo.CommitRequest{Adds: e.adds(tc.add)})
			require.ErrorIs(t, err, repo.ErrInvalid)
			require.ErrorIs(t, err, tree.ErrPathConflict)
			for _, p := range tc.clash {
				require.Contains(t, err.Error(), fmt.Sprintf("%q", p))
			}
			require.Equal(t, head, e.head("dev"))
		})
	}
}

// TestCommitNoReplace: with NoReplace a path the head holds may be added
// again only with the same content.
func TestCommitNoReplace(t *testing.T) {
	e := newMemEnv(t)
	e.create("dev", repo.CreateOptions{})
	e.commit("dev", map[string]string{"a.whl": "one"})
	head := e.head("dev")
	_, err := e.s.Commit(e.ctx, "dev", repo.CommitRequest{Adds: e.adds(map[string]string{"a.whl": "two"}), NoReplace: true})
	require.ErrorIs(t, err, repo.ErrExists)
	require.Equal(t, head, e.head("dev"))
	res, err := e.s.Commit(e.ctx, "dev", repo.CommitRequest{Adds: e.adds(map[string]string{"a.whl": "one", "b.whl": "new"}), NoReplace: true})
	require.NoError(t, err)
	require.True(t, res.Changed)
	require.Equal(t, map[string]string{"a.whl": "one", "b.whl": "new"}, e.contents("dev"))
}

// TestCommitUpdates: an update changes a package's metadata and keeps its
// content; one that changes nothing makes no version; a path the head
// lacks is not found.
func TestCommitUpdates(t *testing.T) {
	e := newMemEnv(t)
	e.create("r", repo.CreateOptions{})
	e.commit("r", map[string]string{"a.txt": "aaa", "b.txt": "bbb"})
	update := func(u ...repo.MetadataUpdate) (*repo.CommitResult, error) {
		return e.s.Commit(e.ctx, "r", repo.CommitRequest{Updates: u, Message: "label"})
	}
	res, err := update(repo.MetadataUpdate{Path: "a.txt", Set: map[string]string{"label": "x", "other": "y"}})
	require.NoError(t, err)
	require.True(t, res.Changed)
	require.Equal(t, 2, res.Version)
	rec, err := e.s.Stat(e.ctx, "r", "a.txt")
	require.NoError(t, err)
	require.Equal(t, map[string]string{"label": "x", "other": "y"}, rec.Metadata)
	require.Equal(t, "aaa", e.cat("r", "a.txt"))

	res, err = update(repo.MetadataUpdate{Path: "a.txt", Set: map[string]string{"label": "x"}})
	require.NoError(t, err)
	require.False(t, res.Changed, "nothing changed: no version")
	require.Equal(t, 2, res.Version)

	res, err = update(repo.MetadataUpdate{Path: "a.txt", Delete: []string{"other"}})
	require.NoError(t, err)
	require.Equal(t, 3, res.Version)
	rec, err = e.s.Stat(e.ctx, "r", "a.txt")
	require.NoError(t, err)
	require.Equal(t, map[string]string{"label": "x"}, rec.Metadata)

	_, err = update(repo.MetadataUpdate{Path: "nope.txt", Set: map[string]string{"label": "x"}})
	require.ErrorIs(t, err, repo.ErrPathNotFound)
	_, err = e.s.Commit(e.ctx, "r", repo.CommitRequest{Removes: []string{"a.txt"}, Updates: []repo.MetadataUpdate{{Path: "a.txt"}}})
	require.ErrorIs(t, err, repo.ErrInvalid, "a path removed and updated at once")
	require.Equal(t, 3, e.resolve("r").Number)
}
