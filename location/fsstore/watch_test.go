package fsstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/meta"
	metafs "github.com/pkgvc/pkgvc/meta/fs"
	"github.com/pkgvc/pkgvc/repo"
)

func TestRefsWatchAndHeadID(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "store")
	st, err := fsstore.OpenDir(ctx, dir, all.Kinds())
	require.NoError(t, err)
	w, err := fsstore.WatchRefs(dir)
	require.NoError(t, err)
	defer w.Close()

	s0, err := w.Stamp()
	require.NoError(t, err)
	_, err = st.CreateRepo(ctx, "r", repo.CreateOptions{})
	require.NoError(t, err)
	s1, err := w.Stamp()
	require.NoError(t, err)
	require.NotEqual(t, s0, s1, "a ref change changes the stamp")
	again, err := w.Stamp()
	require.NoError(t, err)
	require.Equal(t, s1, again, "no change, same stamp")

	head, err := st.HeadID(ctx, "r")
	require.NoError(t, err)
	require.True(t, head.IsZero(), "no version yet")
	head, err = st.HeadID(ctx, "nosuch")
	require.NoError(t, err)
	require.True(t, head.IsZero())

	f := filepath.Join(t.TempDir(), "a.txt")
	require.NoError(t, os.WriteFile(f, []byte("a"), 0o644))
	res, err := st.Commit(ctx, "r", repo.CommitRequest{Adds: []repo.Add{{Path: "a.txt", File: f}}})
	require.NoError(t, err)
	s2, err := w.Stamp()
	require.NoError(t, err)
	require.NotEqual(t, s1, s2)
	head, err = st.HeadID(ctx, "r")
	require.NoError(t, err)
	require.Equal(t, res.ID, head)

	// A change of a metadata document changes it too.
	_, err = meta.PutIf(ctx, st.Meta(), "dists/x", []byte("{}"), "")
	require.NoError(t, err)
	s3, err := w.Stamp()
	require.NoError(t, err)
	require.NotEqual(t, s2, s3, "a document change changes the stamp")

	_, err = fsstore.WatchRefs(filepath.Join(t.TempDir(), "nostore"))
	require.Error(t, err)
}

// Once the metadata sequence file is mapped, every document change still
// changes the stamp, including one made through another opening of the
// store (another process); a sequence file cut short by hand makes the
// watch fall back to reading it, never fault.
func TestRefsWatchMappedSequence(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "store")
	st, err := fsstore.OpenDir(ctx, dir, all.Kinds())
	require.NoError(t, err)
	other, err := fsstore.OpenDir(ctx, dir, all.Kinds())
	require.NoError(t, err)
	w, err := fsstore.WatchRefs(dir)
	require.NoError(t, err)
	defer w.Close()

	prev, err := w.Stamp()
	require.NoError(t, err)
	for i := range 20 {
		m := st.Meta()
		if i%2 == 1 {
			m = other.Meta()
		}
		_, err = meta.PutIf(ctx, m, fmt.Sprintf("dists/d%d", i), []byte("{}"), "")
		require.NoError(t, err)
		s, err := w.Stamp()
		require.NoError(t, err)
		require.NotEqual(t, prev, s, "change %d", i)
		prev = s
	}

	seq := filepath.Join(dir, "meta", metafs.SeqFile)
	require.NoError(t, os.Truncate(seq, 0))
	_, err = w.Stamp() // reads the cut file: faults, recovers
	require.NoError(t, err)
	_, err = meta.PutIf(ctx, st.Meta(), "dists/after", []byte("{}"), "")
	require.NoError(t, err)
	s, err := w.Stamp()
	require.NoError(t, err)
	require.NotEqual(t, prev, s)
}

// The watch stats the refs log it holds open; a log renamed over it (as a
// checkpoint does) is noticed, and so are the changes made after.
func TestRefsWatchLogReplaced(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "store")
	st, err := fsstore.OpenDir(ctx, dir, all.Kinds())
	require.NoError(t, err)
	_, err = st.CreateRepo(ctx, "a", repo.CreateOptions{})
	require.NoError(t, err)
	w, err := fsstore.WatchRefs(dir)
	require.NoError(t, err)
	defer w.Close()
	s1, err := w.Stamp()
	require.NoError(t, err)

	log := filepath.Join(dir, "refs", "log")
	data, err := os.ReadFile(log)
	require.NoError(t, err)
	tmp := log + ".new"
	require.NoError(t, os.WriteFile(tmp, data, 0o644))
	require.NoError(t, os.Rename(tmp, log))
	s2, err := w.Stamp()
	require.NoError(t, err)
	require.NotEqual(t, s1, s2, "a log renamed over the old one changes the stamp")

	_, err = st.CreateRepo(ctx, "b", repo.CreateOptions{})
	require.NoError(t, err)
	s3, err := w.Stamp()
	require.NoError(t, err)
	require.NotEqual(t, s2, s3, "a change after the replacement changes the stamp")
	again, err := w.Stamp()
	require.NoError(t, err)
	require.Equal(t, s3, again)
}
