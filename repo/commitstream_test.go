package repo_test

import (
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/python/format/pythontest"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/tree"
)

func changeStream(cs ...tree.Change) func(yield func(tree.Change) error) error {
	return func(yield func(tree.Change) error) error {
		for _, c := range cs {
			if err := yield(c); err != nil {
				return err
			}
		}
		return nil
	}
}

// TestCommitChangesStream: streamed changes make the version that the
// same records and removals given whole make, checked and filled alike.
func TestCommitChangesStream(t *testing.T) {
	e := newMemEnv(t)
	e.create("whole", repo.CreateOptions{Kind: "python"})
	e.create("streamed", repo.CreateOptions{Kind: "python"})
	fn, data := pythontest.Spec{Name: "demo", Version: "1.0", RequiresPython: ">=3.9"}.Wheel()
	blob := e.putBytes(data)
	url := "https://up.example/"
	var recs []repo.Record
	for i := range 600 { // several chunks
		id := objects.ID(sha256.Sum256(fmt.Append(nil, i)))
		p := fmt.Sprintf("packages/p%04d/p%04d-1.0-py3-none-any.whl", i, i)
		recs = append(recs, repo.Record{Path: p, SHA256: id, Size: 10, Metadata: map[string]string{"name": fmt.Sprintf("p%04d", i), repo.MetaRemote: "up", repo.MetaURL: url + p}})
	}
	stored := repo.Record{Path: "packages/demo/" + fn, SHA256: blob.ID, Size: blob.Size, Metadata: map[string]string{"name": "demo"}}
	recs = append([]repo.Record{stored}, recs...) // keeps path order: "demo" < "p0000"
	for _, name := range []string{"whole", "streamed"} {
		var err error
		if name == "whole" {
			_, err = e.s.Commit(e.ctx, name, repo.CommitRequest{Records: recs, FillMetadata: true, FromUpstream: true})
		} else {
			var cs []tree.Change
			for i := range recs {
				cs = append(cs, tree.Change{Path: recs[i].Path, Entry: &recs[i]})
			}
			_, err = e.s.Commit(e.ctx, name, repo.CommitRequest{Changes: changeStream(cs...), FillMetadata: true, FromUpstream: true})
		}
		require.NoError(t, err)
	}
	require.Equal(t, e.resolve("whole").Tree, e.resolve("streamed").Tree)
	require.NotContains(t, recs[0].Metadata, "requires_python", "the caller's record is not changed")
	list, err := e.s.List(e.ctx, "streamed")
	require.NoError(t, err)
	require.Len(t, list, len(recs))
	require.Equal(t, ">=3.9", list[0].Metadata["requires_python"], "filled from the stored wheel")

	// Removals and a replacement; removing an absent path is no error.
	upd := recs[5]
	upd.Size = 11
	res, err := e.s.Commit(e.ctx, "streamed", repo.CommitRequest{Changes: changeStream(
		tree.Change{Path: recs[2].Path}, tree.Change{Path: upd.Path, Entry: &upd}, tree.Change{Path: "packages/zz/none.whl"}), FromUpstream: true})
	require.NoError(t, err)
	require.True(t, res.Changed)
	require.Equal(t, 2, res.Version)
	require.Equal(t, "add 1 package(s), remove 2 package(s)", e.resolve("streamed").Message)
	list, err = e.s.List(e.ctx, "streamed")
	require.NoError(t, err)
	require.Len(t, list, len(recs)-1)

	// Nothing changed: no version.
	res, err = e.s.Commit(e.ctx, "streamed", repo.CommitRequest{Changes: changeStream(tree.Change{Path: upd.Path, Entry: &upd}), FromUpstream: true})
	require.NoError(t, err)
	require.False(t, res.Changed)
	require.Equal(t, 2, res.Version)
}

// TestCommitChangesStreamRefuses: a streamed record is checked as a record
// given whole is, and the stream must be in order.
func TestCommitChangesStreamRefuses(t *testing.T) {
	e := newMemEnv(t)
	e.create("py", repo.CreateOptions{Kind: "python"})
	blob := e.putBlob("not a wheel")
	missing := objects.ID(sha256.Sum256([]byte("never stored")))
	rec := func(p string, id objects.ID, size int64) *repo.Record {
		return &repo.Record{Path: p, SHA256: id, Size: size}
	}
	for name, cs := range map[string][]tree.Change{
		"blob not stored": {{Path: "a.whl", Entry: rec("a.whl", missing, 3)}},
		"wrong size":      {{Path: "a.whl", Entry: rec("a.whl", blob.ID, blob.Size+1)}},
		"unsafe path":     {{Path: "../a.whl", Entry: rec("../a.whl", blob.ID, blob.Size)}},
		"out of order":    {{Path: "b.whl", Entry: rec("b.whl", blob.ID, blob.Size)}, {Path: "a.whl", Entry: rec("a.whl", blob.ID, blob.Size)}},
	} {
		_, err := e.s.Commit(e.ctx, "py", repo.CommitRequest{Changes: changeStream(cs...), FromUpstream: true})
		require.Error(t, err, name)
	}
	_, err := e.s.Commit(e.ctx, "py", repo.CommitRequest{Changes: changeStream(), Removes: []string{"x"}})
	require.ErrorIs(t, err, repo.ErrInvalid)
	// File keys need every record at once: only an upstream may stream.
	_, err = e.s.Commit(e.ctx, "py", repo.CommitRequest{Changes: changeStream(tree.Change{Path: "a.whl", Entry: rec("a.whl", blob.ID, blob.Size)})})
	require.ErrorIs(t, err, repo.ErrInvalid)
	require.Zero(t, e.head("py"))
}
