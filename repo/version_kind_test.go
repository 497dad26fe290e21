package repo_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/refs"
	"github.com/pkgvc/pkgvc/repo"
)

// kindEnv has a file repository "files" whose version holds what looks
// like a python publication (simple/index.html), an empty python
// repository "pyempty", a python repository "py" with one version, and a
// container repository "img" with one version.
func kindEnv(t *testing.T) *rtEnv {
	e := newMemEnv(t)
	e.create("files", repo.CreateOptions{})
	e.create("pyempty", repo.CreateOptions{Kind: "python"})
	e.create("py", repo.CreateOptions{Kind: "python"})
	e.create("img", repo.CreateOptions{Kind: "container"})
	e.commit("files", map[string]string{"simple/index.html": "<html></html>", "a.txt": "a"})
	e.commitRecords("py", repo.Record{Path: "demo-1.0.tar.gz"})
	layer := e.putBlob("layer bytes")
	_, err := e.s.Commit(e.ctx, "img", repo.CommitRequest{Records: []repo.Record{{Path: "blobs/sha256/" + layer.ID.String(), SHA256: layer.ID, Size: layer.Size}}})
	require.NoError(t, err)
	return e
}

// commitRecords commits records by digest, storing a blob for each one
// that names none.
func (e *rtEnv) commitRecords(name string, recs ...repo.Record) *repo.CommitResult {
	e.t.Helper()
	for i := range recs {
		if recs[i].SHA256.IsZero() {
			b := e.putBlob("content of " + recs[i].Path)
			recs[i].SHA256, recs[i].Size = b.ID, b.Size
		}
	}
	res, err := e.s.Commit(e.ctx, name, repo.CommitRequest{Records: recs})
	require.NoError(e.t, err)
	return res
}

func (e *rtEnv) kindOf(id objects.ID) string {
	e.t.Helper()
	k, err := e.s.VersionKind(e.ctx, id)
	require.NoError(e.t, err, id)
	return k
}

// requireKindRefusal checks an error names both kinds as words.
func requireKindRefusal(t *testing.T, err error, kinds ...string) {
	t.Helper()
	require.ErrorIs(t, err, repo.ErrInvalid)
	require.ErrorIs(t, err, repo.ErrKindMismatch)
	for _, k := range kinds {
		require.Regexp(t, regexp.MustCompile(`\b`+k+`\b`), err.Error())
	}
}

func TestVersionsRecordTheirKind(t *testing.T) {
	e := kindEnv(t)
	require.Equal(t, "file", e.kindOf(e.head("files")))
	require.Equal(t, "python", e.kindOf(e.head("py")))
	require.Equal(t, "container", e.kindOf(e.head("img")))

	// Rollback and a promotion of single packages write versions too.
	e.commit("files", map[string]string{"b.txt": "b"})
	res, err := e.s.Rollback(e.ctx, "files", "files@1")
	require.NoError(t, err)
	require.True(t, res.Changed)
	require.Equal(t, "file", e.kindOf(res.ID))
	e.create("files2", repo.CreateOptions{})
	_, err = e.s.Promote(e.ctx, []repo.Pair{{Src: "files", Dst: "files2"}}, repo.PromoteOptions{Only: []string{"a.txt"}})
	require.NoError(t, err)
	require.Equal(t, "file", e.kindOf(e.head("files2")))

	// The kind is in the commit object itself.
	data, err := e.s.Objects().GetObject(e.ctx, e.head("py"))
	require.NoError(t, err)
	require.Contains(t, string(data), `"kind":"python"`)
}

// oldCommit writes a version as a pkgvc that recorded no kinds did, with
// tree as its content, and returns its id.
func (e *rtEnv) oldCommit(tree objects.ID, parents ...objects.ID) objects.ID {
	e.t.Helper()
	if parents == nil {
		parents = []objects.ID{}
	}
	doc, err := json.Marshal(map[string]any{"tree": tree, "parents": parents, "version": len(parents) + 1,
		"time": time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "author": "old", "message": "made before kinds"})
	require.NoError(e.t, err)
	// The stored form: a tag byte, the encoding version, the JSON and a
	// newline.
	data := append(append([]byte{'C', 1}, doc...), '\n')
	b := e.s.Objects().NewBatch()
	res, err := b.PutObject(e.ctx, data)
	require.NoError(e.t, err)
	require.NoError(e.t, b.Flush(e.ctx))
	return res.ID
}

// setHead points a repository's head at id through the ref store.
func (e *rtEnv) setHead(name string, id objects.ID) {
	e.t.Helper()
	e.moveHead(name, id, "test: set head")
}

// moveHead points a repository's head at id, logging action.
func (e *rtEnv) moveHead(name string, id objects.ID, action string) {
	e.t.Helper()
	old, err := e.s.Refs().Get(e.ctx, "repos/"+name)
	if err != nil {
		require.ErrorIs(e.t, err, refs.ErrNotFound)
	}
	require.NoError(e.t, e.s.Refs().Apply(e.ctx, refs.Txn{Updates: []refs.Update{{Name: "repos/" + name, Old: old, New: id}}, Who: "test", Action: action}))
}

func TestOldVersionsKeepTheirBytes(t *testing.T) {
	e := kindEnv(t)
	old := e.oldCommit(e.resolve("files").Tree)
	v := e.resolve(old.String())
	require.Equal(t, "made before kinds", v.Message)
	require.Equal(t, old, v.ID, "a commit without a kind is read as it is")

	// Without a recorded kind and a repository to ask, the store needs an
	// upgrade.
	_, err := e.s.VersionKind(e.ctx, old)
	require.ErrorIs(t, err, repo.ErrNeedsUpgrade)
	require.ErrorContains(t, err, "pkgvc upgrade")

	e.create("legacy", repo.CreateOptions{})
	e.setHead("legacy", old)
	n, err := e.s.RecordVersionKinds(e.ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n, "only the version without a kind is recorded")
	require.Equal(t, "file", e.kindOf(old))
	n, err = e.s.RecordVersionKinds(e.ctx)
	require.NoError(t, err)
	require.Zero(t, n, "a second run finds nothing to record")
	data, _, err := e.s.Meta().Get(e.ctx, "version-kinds/"+old.String())
	require.NoError(t, err)
	require.JSONEq(t, `"file"`, string(data))
}

func TestRecordVersionKindsWalksHistory(t *testing.T) {
	e := kindEnv(t)
	tree := e.resolve("py").Tree
	first := e.oldCommit(tree)
	second := e.oldCommit(tree, first)
	e.setHead("py", second)
	// A version only the reflog keeps.
	e.setHead("py", e.oldCommit(e.resolve("files").Tree))
	n, err := e.s.RecordVersionKinds(e.ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	for _, id := range []objects.ID{first, second} {
		require.Equal(t, "python", e.kindOf(id))
	}
}

// A version kept by repositories of two kinds (promoted before promotion
// checked kinds) takes the kind of the one that made it, and fsck then
// reports it in the other.
func TestRecordVersionKindsPrefersTheMaker(t *testing.T) {
	e := kindEnv(t)
	e.create("zfiles", repo.CreateOptions{})
	e.create("apy", repo.CreateOptions{Kind: "python"})
	old := e.oldCommit(e.resolve("files").Tree)
	e.moveHead("zfiles", old, "commit: made here")
	e.moveHead("apy", old, "promote: zfiles -> apy")
	n, err := e.s.RecordVersionKinds(e.ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, "file", e.kindOf(old))
	res, err := e.s.Fsck(e.ctx)
	require.ErrorIs(t, err, repo.ErrCorrupt)
	require.Len(t, res.Problems, 1, "%v", res.Problems)
	require.Contains(t, res.Problems[0], old.String())
	require.Contains(t, res.Problems[0], "apy")
}

func TestPromoteRefusesOtherKind(t *testing.T) {
	e := kindEnv(t)
	pyHead, imgHead := e.head("py"), e.head("img")
	for _, tc := range []struct {
		name  string
		pairs []repo.Pair
		o     repo.PromoteOptions
		kinds []string
	}{
		{"fast-forward into empty", []repo.Pair{{Src: "files", Dst: "pyempty"}}, repo.PromoteOptions{}, []string{"file", "python"}},
		{"by id", []repo.Pair{{Src: e.head("files").String(), Dst: "pyempty"}}, repo.PromoteOptions{}, []string{"file", "python"}},
		{"force over non-empty", []repo.Pair{{Src: "py", Dst: "img"}}, repo.PromoteOptions{Force: true}, []string{"python", "container"}},
		{"only", []repo.Pair{{Src: "files", Dst: "py"}}, repo.PromoteOptions{Only: []string{"a.txt"}}, []string{"file", "python"}},
		{"second pair", []repo.Pair{{Src: "py", Dst: "pyempty"}, {Src: "img", Dst: "files"}}, repo.PromoteOptions{}, []string{"container", "file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.s.Promote(e.ctx, tc.pairs, tc.o)
			requireKindRefusal(t, err, tc.kinds...)
			require.True(t, e.head("pyempty").IsZero(), "nothing moved")
			require.Equal(t, pyHead, e.head("py"))
			require.Equal(t, imgHead, e.head("img"))
		})
	}
	_, err := e.s.Promote(e.ctx, []repo.Pair{{Src: "files", Dst: "pyempty"}}, repo.PromoteOptions{})
	require.ErrorContains(t, err, `cannot promote a file version into python repository "pyempty"`)

	// The same kind still promotes.
	_, err = e.s.Promote(e.ctx, []repo.Pair{{Src: "py", Dst: "pyempty"}}, repo.PromoteOptions{})
	require.NoError(t, err)
	require.Equal(t, pyHead, e.head("pyempty"))
}

func TestPromoteOldVersionUsesRepoKind(t *testing.T) {
	e := kindEnv(t)
	// A version without a recorded kind takes its repository's.
	e.create("legacy", repo.CreateOptions{})
	e.setHead("legacy", e.oldCommit(e.resolve("files").Tree))
	_, err := e.s.Promote(e.ctx, []repo.Pair{{Src: "legacy", Dst: "pyempty"}}, repo.PromoteOptions{})
	requireKindRefusal(t, err, "file", "python")
	e.create("legacy2", repo.CreateOptions{})
	_, err = e.s.Promote(e.ctx, []repo.Pair{{Src: "legacy", Dst: "legacy2"}}, repo.PromoteOptions{})
	require.NoError(t, err)
}

func TestRollbackRefusesOtherKind(t *testing.T) {
	e := kindEnv(t)
	pyHead := e.head("py")
	_, err := e.s.Rollback(e.ctx, "py", "files")
	requireKindRefusal(t, err, "file", "python")
	require.Equal(t, pyHead, e.head("py"))
	_, err = e.s.Rollback(e.ctx, "pyempty", e.head("files").String())
	requireKindRefusal(t, err, "file", "python")
	require.True(t, e.head("pyempty").IsZero())
}

// A version of another kind in a repository, or holding records its kind
// refuses, is found by fsck, which names it.
func TestFsckFindsKindProblems(t *testing.T) {
	t.Run("version of another kind", func(t *testing.T) {
		e := kindEnv(t)
		e.fsckClean()
		bad := e.head("files")
		e.setHead("pyempty", bad)
		res, err := e.s.Fsck(e.ctx)
		require.ErrorIs(t, err, repo.ErrCorrupt)
		require.Len(t, res.Problems, 1, "%v", res.Problems)
		p := res.Problems[0]
		require.Contains(t, p, bad.String())
		require.Contains(t, p, "pyempty")
		require.Regexp(t, `\bfile\b`, p)
		require.Regexp(t, `\bpython\b`, p)
	})
	t.Run("records the kind refuses", func(t *testing.T) {
		e := kindEnv(t)
		old := e.oldCommit(e.resolve("files").Tree)
		e.setHead("pyempty", old)
		res, err := e.s.Fsck(e.ctx)
		require.ErrorIs(t, err, repo.ErrCorrupt)
		require.NotEmpty(t, res.Problems)
		joined := strings.Join(res.Problems, "\n")
		require.Contains(t, joined, old.String())
		require.Contains(t, joined, "simple/index.html")
	})
	t.Run("the same versions in repositories of their kind are clean", func(t *testing.T) {
		e := kindEnv(t)
		e.create("legacy", repo.CreateOptions{})
		e.setHead("legacy", e.oldCommit(e.resolve("files").Tree))
		e.fsckClean()
	})
}

// Python and container repositories refuse, at commit, records of paths
// their kind does not hold.
func TestCommitRefusesRecordsOfOtherKinds(t *testing.T) {
	e := kindEnv(t)
	for _, tc := range []struct{ repo, path string }{
		{"py", "simple/index.html"},
		{"py", "demo-1.0-py3-none-any.whl.metadata"},
		{"img", "a.txt"},
		{"img", "blobs/sha256/nothex"},
	} {
		b := e.putBlob("x")
		_, err := e.s.Commit(e.ctx, tc.repo, repo.CommitRequest{Records: []repo.Record{{Path: tc.path, SHA256: b.ID, Size: b.Size}}})
		require.ErrorIs(t, err, repo.ErrInvalid, "%s %s by digest", tc.repo, tc.path)
		_, err = e.s.Commit(e.ctx, tc.repo, repo.CommitRequest{Adds: e.adds(map[string]string{tc.path: "x"})})
		require.ErrorIs(t, err, repo.ErrInvalid, "%s %s from a file", tc.repo, tc.path)
	}
}

// A repository deleted and made again under its name with another kind:
// the old one's versions keep their kind (the reflog survives the
// deletion, and its entries before it are not the new repository's).
func TestRecordVersionKindsAcrossRecreatedRepo(t *testing.T) {
	e := kindEnv(t)
	e.create("x", repo.CreateOptions{}) // file
	old := e.oldCommit(e.resolve("files").Tree)
	e.moveHead("x", old, "commit: made in x")
	e.create("prod", repo.CreateOptions{})
	e.moveHead("prod", old, "promote: x -> prod")
	require.NoError(t, e.s.DeleteRepo(e.ctx, "x"))
	e.create("x", repo.CreateOptions{Kind: "python"})
	_, err := e.s.RecordVersionKinds(e.ctx)
	require.NoError(t, err)
	require.Equal(t, "file", e.kindOf(old))
	res, err := e.s.Fsck(e.ctx)
	require.NoError(t, err, "%v", res)
}

// A commit into an empty repository that is deleted and made again with
// another kind meanwhile does not land in the new one.
func TestCommitRacesDeleteAndRecreate(t *testing.T) {
	for _, recreate := range []bool{false, true} {
		var armed atomic.Bool
		var e *rtEnv
		hook := func() time.Time {
			if armed.CompareAndSwap(true, false) { // inside Commit, after it read "x"
				require.NoError(t, e.s.DeleteRepo(e.ctx, "x"))
				if recreate {
					_, err := e.s.CreateRepo(e.ctx, "x", repo.CreateOptions{Kind: "container"})
					require.NoError(t, err)
				}
			}
			return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		e = newMemEnv(t, repo.WithClock(hook))
		e.create("x", repo.CreateOptions{Kind: "python"})
		b := e.putBlob("sdist bytes")
		armed.Store(true)
		_, err := e.s.Commit(e.ctx, "x", repo.CommitRequest{Records: []repo.Record{{Path: "demo-1.0.tar.gz", SHA256: b.ID, Size: b.Size}}})
		require.False(t, armed.Load(), "the hook ran")
		require.Error(t, err, "recreate %v", recreate)
		head, herr := e.s.HeadID(e.ctx, "x")
		if recreate {
			require.NoError(t, herr)
		}
		require.True(t, head.IsZero(), "recreate %v: x has head %s", recreate, head)
	}
}
