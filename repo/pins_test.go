package repo_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/meta"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/refs"
	"github.com/pkgvc/pkgvc/repo"
)

func TestPins(t *testing.T) {
	for _, env := range []func(*testing.T, ...repo.Option) *rtEnv{newMemEnv, newFSEnv} {
		e := env(t)
		pinned := e.putBlob("awaiting its commit")
		other := e.putBlob("awaiting its commit too")
		loose := e.putBlob("kept by nothing")

		_, err := e.s.Pin(e.ctx, pinned.ID, "upload", 0)
		require.ErrorIs(t, err, repo.ErrInvalid)
		_, err = e.s.Pin(e.ctx, objects.Sum([]byte("never stored")), "upload", time.Hour)
		require.ErrorIs(t, err, objects.ErrNotFound)

		id, err := e.s.Pin(e.ctx, pinned.ID, "upload", time.Hour)
		require.NoError(t, err)
		otherID, err := e.s.Pin(e.ctx, other.ID, "oci push", 2*time.Hour)
		require.NoError(t, err)
		// Stored where the metadata store says, with its expiry.
		var doc struct {
			Expires time.Time `json:"expires"`
			Reason  string    `json:"reason"`
		}
		_, err = meta.GetJSON(e.ctx, e.s.Meta(), "blob-pins/"+pinned.ID.String()+"/"+id, &doc)
		require.NoError(t, err)
		require.Equal(t, "upload", doc.Reason)
		require.WithinDuration(t, e.clock.Now().Add(time.Hour), doc.Expires, time.Minute)

		// Pins are roots whatever the grace.
		res, err := e.s.GC(e.ctx, repo.GCOptions{Grace: -1})
		require.NoError(t, err)
		require.Equal(t, 2, res.PinnedBlobs)
		require.Equal(t, 1, res.DeletedBlobs)
		require.True(t, e.hasBlob(pinned.ID))
		require.True(t, e.hasBlob(other.ID))
		require.False(t, e.hasBlob(loose.ID))

		// Unpinned: collected.
		require.NoError(t, e.s.Unpin(e.ctx, other.ID, otherID))
		require.NoError(t, e.s.Unpin(e.ctx, other.ID, otherID), "a pin that is gone is no error")
		ok, err := e.s.Pinned(e.ctx, other.ID)
		require.NoError(t, err)
		require.False(t, ok)
		_, err = e.s.GC(e.ctx, repo.GCOptions{Grace: -1})
		require.NoError(t, err)
		require.False(t, e.hasBlob(other.ID))

		// Expired: the pin goes, then the blob.
		ok, err = e.s.Pinned(e.ctx, pinned.ID)
		require.NoError(t, err)
		require.True(t, ok)
		e.clock.Advance(2 * time.Hour)
		ok, err = e.s.Pinned(e.ctx, pinned.ID)
		require.NoError(t, err)
		require.False(t, ok)
		dry, err := e.s.GC(e.ctx, repo.GCOptions{Grace: -1, DryRun: true})
		require.NoError(t, err)
		require.Equal(t, 1, dry.ExpiredPins)
		res, err = e.s.GC(e.ctx, repo.GCOptions{Grace: -1})
		require.NoError(t, err)
		require.Equal(t, 1, res.ExpiredPins)
		require.Zero(t, res.PinnedBlobs)
		require.False(t, e.hasBlob(pinned.ID))
		n := 0
		require.NoError(t, e.s.Meta().List(e.ctx, "blob-pins/", func(string, []byte, meta.Rev) error { n++; return nil }))
		require.Zero(t, n, "expired pins are deleted")
		e.fsckClean()
	}
}

// TestUnpinReason: the pins of a blob given for one reason go; those
// given for another stay, and keep the blob.
func TestUnpinReason(t *testing.T) {
	e := newMemEnv(t)
	b := e.putBlob("pushed into two repositories")
	for _, reason := range []string{"push into a", "push into a", "push into b"} {
		_, err := e.s.Pin(e.ctx, b.ID, reason, time.Hour)
		require.NoError(t, err)
	}
	n, err := e.s.UnpinReason(e.ctx, b.ID, "push into a")
	require.NoError(t, err)
	require.Equal(t, 2, n)
	_, err = e.s.GC(e.ctx, repo.GCOptions{Grace: -1})
	require.NoError(t, err)
	require.True(t, e.hasBlob(b.ID), "kept by the other pin")
	n, err = e.s.UnpinReason(e.ctx, b.ID, "push into b")
	require.NoError(t, err)
	require.Equal(t, 1, n)
	_, err = e.s.GC(e.ctx, repo.GCOptions{Grace: -1})
	require.NoError(t, err)
	require.False(t, e.hasBlob(b.ID))
}

// TestApplyRefsReferencesDocuments: a document a ref is to name is
// referenced first; one gc took meanwhile fails the update instead of
// leaving the ref dangling.
func TestApplyRefsReferencesDocuments(t *testing.T) {
	for _, env := range []func(*testing.T, ...repo.Option) *rtEnv{newMemEnv, newFSEnv} {
		e := env(t)
		gone := putDoc(t, e, map[string]string{"name": "gone"})
		_, err := e.s.GC(e.ctx, repo.GCOptions{Grace: -1})
		require.NoError(t, err)
		err = e.s.ApplyRefs(e.ctx, "test", refs.Update{Name: "config/test/gone", New: gone})
		require.ErrorIs(t, err, objects.ErrNotFound)
		_, err = e.s.Refs().Get(e.ctx, "config/test/gone")
		require.Error(t, err, "no ref was made")

		kept := putDoc(t, e, map[string]string{"name": "kept"})
		require.NoError(t, e.s.ApplyRefs(e.ctx, "test", refs.Update{Name: "config/test/kept", New: kept}))
		_, err = e.s.GC(e.ctx, repo.GCOptions{Grace: -1})
		require.NoError(t, err)
		_, err = e.s.Objects().GetObject(e.ctx, kept)
		require.NoError(t, err, "the document a ref names stays")
		e.fsckClean()
	}
}

// putDoc writes v as a document object, as store format 1 kept them.
func putDoc(t *testing.T, e *rtEnv, v any) objects.ID {
	t.Helper()
	data, err := repo.EncodeDoc(v)
	require.NoError(t, err)
	b := e.s.Objects().NewBatch()
	res, err := b.PutObject(e.ctx, data)
	require.NoError(t, err)
	require.NoError(t, b.Flush(e.ctx))
	return res.ID
}
