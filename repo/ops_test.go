package repo_test

import (
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

func TestListSortedAndStat(t *testing.T) {
	e := newMemEnv(t)
	e.create("dev", repo.CreateOptions{})
	files := map[string]string{}
	for _, p := range []string{"z.txt", "a/b/c.txt", "a.txt", "m/n.bin", "a/a.txt", "B.txt", "_x"} {
		files[p] = "content of " + p
	}
	e.commit("dev", files)

	recs, err := e.s.List(e.ctx, "dev")
	require.NoError(t, err)
	var got []string
	for _, r := range recs {
		got = append(got, r.Path)
		require.Equal(t, int64(len(files[r.Path])), r.Size)
		require.Equal(t, objects.Sum([]byte(files[r.Path])), r.SHA256)
	}
	want := make([]string, 0, len(files))
	for p := range files {
		want = append(want, p)
	}
	sort.Strings(want)
	require.Equal(t, want, got)

	rec, err := e.s.Stat(e.ctx, "dev", "m/n.bin")
	require.NoError(t, err)
	require.Equal(t, "m/n.bin", rec.Path)
	for _, tc := range []struct {
		rev, path string
		wantErr   error
	}{
		{"dev", "nope", repo.ErrPathNotFound},
		{"dev", "a", repo.ErrPathNotFound}, // a directory is not a record
		{"dev@2", "a.txt", repo.ErrVersionNotFound},
		{"nope", "a.txt", repo.ErrRepoNotFound},
	} {
		_, err := e.s.Stat(e.ctx, tc.rev, tc.path)
		require.ErrorIs(t, err, tc.wantErr, "%s %s", tc.rev, tc.path)
		_, _, err = e.s.Cat(e.ctx, tc.rev, tc.path)
		require.ErrorIs(t, err, tc.wantErr, "cat %s %s", tc.rev, tc.path)
	}
	_, err = e.s.List(e.ctx, "nope")
	require.ErrorIs(t, err, repo.ErrRepoNotFound)
}

func TestCat(t *testing.T) {
	e := newFSEnv(t)
	e.create("dev", repo.CreateOptions{})
	big := randomText(1, 300<<10)
	text := strings.Repeat("compressible text ", 10000)
	e.commit("dev", map[string]string{"big.bin": big, "text.txt": text, "empty": ""})
	e.commit("dev", map[string]string{"big.bin": "small now"})

	require.Equal(t, big, e.cat("dev@1", "big.bin"))
	require.Equal(t, "small now", e.cat("dev", "big.bin"))
	require.Equal(t, text, e.cat("dev", "text.txt"))
	require.Equal(t, "", e.cat("dev", "empty"))
}

func TestCatCorruptBlob(t *testing.T) {
	e := newFSEnv(t)
	e.create("dev", repo.CreateOptions{})
	content := randomText(2, 200<<10) // incompressible: stored raw
	e.commit("dev", map[string]string{"pkg.bin": content})
	id := e.blob("dev", "pkg.bin")
	path := e.storedFile("blobs", id)
	require.False(t, strings.HasSuffix(path, ".zst"))
	flipByte(t, path, 100<<10)

	rc, rec, err := e.s.Cat(e.ctx, "dev", "pkg.bin")
	require.NoError(t, err)
	defer rc.Close()
	require.Equal(t, int64(len(content)), rec.Size)
	data, err := io.ReadAll(rc)
	require.ErrorIs(t, err, objects.ErrCorrupt)
	require.Less(t, len(data), len(content), "a corrupt blob must not be delivered in full")
}

func TestCatCorruptCompressedBlob(t *testing.T) {
	e := newFSEnv(t)
	e.create("dev", repo.CreateOptions{})
	content := strings.Repeat("zstd likes repetition ", 5000)
	e.commit("dev", map[string]string{"pkg.txt": content})
	path := e.storedFile("blobs", e.blob("dev", "pkg.txt"))
	require.True(t, strings.HasSuffix(path, ".zst"), "expected a compressed blob")
	flipByte(t, path, 40)

	rc, _, err := e.s.Cat(e.ctx, "dev", "pkg.txt")
	if err != nil {
		require.ErrorIs(t, err, objects.ErrCorrupt)
		return
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	require.ErrorIs(t, err, objects.ErrCorrupt)
	require.NotEqual(t, content, string(data))
}

func TestDiff(t *testing.T) {
	e := newMemEnv(t)
	e.create("dev", repo.CreateOptions{})
	e.create("other", repo.CreateOptions{})
	e.commit("dev", map[string]string{"keep": "k", "b-change": "1", "a-change": "1", "z-remove": "z", "c-remove": "c"})
	e.commit("dev", map[string]string{"b-change": "2", "a-change": "2", "y-add": "y", "d-add": "d", "sub/x-add": "x"}, "z-remove", "c-remove")
	e.commit("other", map[string]string{"keep": "k"})

	for _, tc := range []struct {
		name, from, to string
		want           repo.DiffResult
	}{
		{"forward", "dev@1", "dev@2", repo.DiffResult{
			Added: []string{"d-add", "sub/x-add", "y-add"}, Removed: []string{"c-remove", "z-remove"}, Changed: []string{"a-change", "b-change"}}},
		{"backward", "dev@2", "dev@1", repo.DiffResult{
			Added: []string{"c-remove", "z-remove"}, Removed: []string{"d-add", "sub/x-add", "y-add"}, Changed: []string{"a-change", "b-change"}}},
		{"same", "dev", "dev@2", repo.DiffResult{Added: []string{}, Removed: []string{}, Changed: []string{}}},
		{"across repositories", "other", "dev@1", repo.DiffResult{
			Added: []string{"a-change", "b-change", "c-remove", "z-remove"}, Removed: []string{}, Changed: []string{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := e.s.Diff(e.ctx, tc.from, tc.to)
			require.NoError(t, err)
			require.Equal(t, tc.want, *d)
			require.Equal(t, tc.name == "same", d.Empty())
		})
	}
	_, err := e.s.Diff(e.ctx, "dev", "nope")
	require.ErrorIs(t, err, repo.ErrRepoNotFound)
	_, err = e.s.Diff(e.ctx, "dev@7", "dev")
	require.ErrorIs(t, err, repo.ErrVersionNotFound)
}

func TestRollback(t *testing.T) {
	e := newMemEnv(t)
	e.create("dev", repo.CreateOptions{})
	e.commit("dev", map[string]string{"a": "1"})
	e.commit("dev", map[string]string{"a": "2", "b": "b"})
	head := e.commit("dev", map[string]string{"a": "3"}, "b")

	res, err := e.s.Rollback(e.ctx, "dev", "dev@1")
	require.NoError(t, err)
	require.True(t, res.Changed)
	require.Equal(t, 4, res.Version)
	v := e.resolve("dev")
	require.Equal(t, res.ID, v.ID)
	require.Equal(t, 4, v.Number)
	require.Equal(t, []objects.ID{head.ID}, v.Parents)
	require.Equal(t, e.resolve("dev@1").Tree, v.Tree)
	require.Equal(t, map[string]string{"a": "1"}, e.contents("dev"))
	require.Equal(t, "rollback to dev@1", v.Message)
	log, err := e.s.Reflog(e.ctx, "dev")
	require.NoError(t, err)
	require.Equal(t, "rollback: dev to dev@1", log[0].Action)

	// Rolling back to the content the head already has is a no-op.
	n := e.reflogLen("dev")
	for _, rev := range []string{"dev@1", "dev@4", "dev"} {
		res, err = e.s.Rollback(e.ctx, "dev", rev)
		require.NoError(t, err)
		require.False(t, res.Changed, rev)
		require.Equal(t, 4, res.Version)
		require.Equal(t, v.ID, res.ID)
	}
	require.Equal(t, n, e.reflogLen("dev"))

	// Rolling back to a revision reached otherwise (reflog, another repo).
	res, err = e.s.Rollback(e.ctx, "dev", "dev@2")
	require.NoError(t, err)
	require.Equal(t, 5, res.Version)
	require.Equal(t, map[string]string{"a": "2", "b": "b"}, e.contents("dev"))

	e.create("fresh", repo.CreateOptions{})
	res, err = e.s.Rollback(e.ctx, "fresh", "dev@3")
	require.NoError(t, err)
	require.True(t, res.Changed)
	require.Equal(t, 1, res.Version)
	require.Equal(t, map[string]string{"a": "3"}, e.contents("fresh"))
	require.Empty(t, e.resolve("fresh").Parents)

	_, err = e.s.Rollback(e.ctx, "dev", "dev@9")
	require.ErrorIs(t, err, repo.ErrVersionNotFound)
	_, err = e.s.Rollback(e.ctx, "nope", "dev@1")
	require.ErrorIs(t, err, repo.ErrRepoNotFound)
}

func TestLog(t *testing.T) {
	e := newMemEnv(t)
	e.create("dev", repo.CreateOptions{})
	e.create("empty", repo.CreateOptions{})
	var ids []objects.ID
	for i := 1; i <= 4; i++ {
		res, err := e.s.Commit(e.ctx, "dev", repo.CommitRequest{Adds: e.adds(map[string]string{"a": strings.Repeat("x", i)}), Message: "change " + string(rune('0'+i))})
		require.NoError(t, err)
		ids = append(ids, res.ID)
	}

	for _, tc := range []struct {
		rev   string
		limit int
		want  []int
	}{
		{"dev", 0, []int{4, 3, 2, 1}},
		{"dev", -1, []int{4, 3, 2, 1}},
		{"dev", 2, []int{4, 3}},
		{"dev", 10, []int{4, 3, 2, 1}},
		{"dev@2", 0, []int{2, 1}},
		{"dev~1", 0, []int{3, 2, 1}},
		{ids[2].String()[:10], 0, []int{3, 2, 1}},
	} {
		log, err := e.s.Log(e.ctx, tc.rev, tc.limit)
		require.NoError(t, err, tc.rev)
		require.Equal(t, tc.want, versionNumbers(log), "%s limit %d", tc.rev, tc.limit)
		for _, l := range log {
			require.Equal(t, ids[l.Number-1], l.ID)
			require.Equal(t, "change "+string(rune('0'+l.Number)), l.Message)
			require.Equal(t, rtWho, l.Author)
			require.False(t, l.Shallow)
		}
	}
	log, err := e.s.Log(e.ctx, "dev", 0)
	require.NoError(t, err)
	require.Equal(t, "dev", log[0].Repo)
	require.False(t, log[0].Time.Before(log[3].Time), "newest first")

	_, err = e.s.Log(e.ctx, "empty", 0)
	require.ErrorIs(t, err, repo.ErrVersionNotFound)
	_, err = e.s.Log(e.ctx, "nope", 0)
	require.ErrorIs(t, err, repo.ErrRepoNotFound)
}

func TestReflog(t *testing.T) {
	e := newMemEnv(t)
	e.create("dev", repo.CreateOptions{})
	e.create("test", repo.CreateOptions{})
	log, err := e.s.Reflog(e.ctx, "dev")
	require.NoError(t, err)
	require.Empty(t, log)

	c1 := e.commit("dev", map[string]string{"a": "1"})
	c2 := e.commit("dev", map[string]string{"a": "2"})
	_, err = e.s.Promote(e.ctx, []repo.Pair{{Src: "dev", Dst: "test"}}, repo.PromoteOptions{})
	require.NoError(t, err)
	r3, err := e.s.Rollback(e.ctx, "dev", "dev@1")
	require.NoError(t, err)

	log, err = e.s.Reflog(e.ctx, "dev")
	require.NoError(t, err)
	require.Len(t, log, 3)
	want := []repo.ReflogEntry{
		{Old: c2.ID, New: r3.ID, Action: "rollback: dev to dev@1"},
		{Old: c1.ID, New: c2.ID, Action: "commit: add 1 package(s)"},
		{New: c1.ID, Action: "commit: add 1 package(s)"},
	}
	for i, w := range want {
		require.Equal(t, w.Old, log[i].Old, i)
		require.Equal(t, w.New, log[i].New, i)
		require.Equal(t, w.Action, log[i].Action, i)
		require.Equal(t, rtWho, log[i].Who)
		require.False(t, log[i].Time.IsZero())
		if i > 0 {
			require.False(t, log[i].Time.After(log[i-1].Time), "newest first")
		}
	}

	log, err = e.s.Reflog(e.ctx, "test")
	require.NoError(t, err)
	require.Len(t, log, 1)
	require.Equal(t, "promote: dev -> test", log[0].Action)
	require.Equal(t, c2.ID, log[0].New)

	_, err = e.s.Reflog(e.ctx, "nope")
	require.ErrorIs(t, err, repo.ErrRepoNotFound)
	_, err = e.s.Reflog(e.ctx, "Bad")
	require.ErrorIs(t, err, repo.ErrInvalid)
}
