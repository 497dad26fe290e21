package local_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/meta"
	"github.com/pkgvc/pkgvc/repo"
)

// TestGCSweepsUploads: gc removes expired upload sessions and their
// bytes; live ones stay.
func TestGCSweepsUploads(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	up := s.Uploads()
	require.Equal(t, filepath.Join(s.Store().Objects().TempDir(), "uploads"), up.Dir())
	old, err := up.Create(ctx, "ci", "api", time.Millisecond)
	require.NoError(t, err)
	live, err := up.Create(ctx, "ci", "api", 0)
	require.NoError(t, err)
	time.Sleep(5 * time.Millisecond)

	_, err = s.GC(ctx, repo.GCOptions{})
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(up.Dir(), old.ID+".part"))
	require.ErrorIs(t, err, os.ErrNotExist)
	docs := 0
	require.NoError(t, s.Store().Meta().List(ctx, "uploads/sessions/", func(string, []byte, meta.Rev) error { docs++; return nil }))
	require.Equal(t, 1, docs)
	_, err = up.Get(ctx, live.ID)
	require.NoError(t, err)
}
