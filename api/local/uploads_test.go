package local_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/api/local"
	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/location/fsstore"
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

// TestGCWithoutUploads: a service given no upload engine collects
// garbage all the same, with nothing to sweep.
func TestGCWithoutUploads(t *testing.T) {
	ctx := t.Context()
	st, err := fsstore.OpenDir(ctx, filepath.Join(t.TempDir(), "store"), all.Kinds())
	require.NoError(t, err)
	s := local.New(local.Parts{Store: st, Dists: dist.NewDists(st), Tokens: auth.New(st)})
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	require.Nil(t, s.Uploads())
	_, err = s.GC(ctx, repo.GCOptions{})
	require.NoError(t, err)
}
