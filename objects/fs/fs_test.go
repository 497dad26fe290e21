package fs_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/objects/fs"
	"github.com/pkgvc/pkgvc/objects/objectstest"
)

func TestConformance(t *testing.T) {
	objectstest.Run(t, func(t *testing.T) objects.Backend {
		b, err := fs.New(t.TempDir())
		require.NoError(t, err)
		return b
	})
}

func TestLayoutAndReadOnly(t *testing.T) {
	dir := t.TempDir()
	b, err := fs.New(dir)
	require.NoError(t, err)
	ctx := t.Context()
	require.NoError(t, b.Put(ctx, "blobs/ab/abcd", strings.NewReader("x"), 1))
	fi, err := os.Stat(filepath.Join(dir, "blobs", "ab", "abcd"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o444), fi.Mode().Perm())
	// Delete works on read-only files.
	require.NoError(t, b.Delete(ctx, "blobs/ab/abcd"))
	// Keys under the reserved tmp directory are refused, and tmp is not listed.
	require.ErrorIs(t, b.Put(ctx, "tmp/x", strings.NewReader("x"), 1), fs.ErrInvalidKey)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tmp", "junk"), []byte("x"), 0o600))
	require.NoError(t, b.List(ctx, "", func(info objects.Info) error {
		t.Errorf("unexpected key %s", info.Key)
		return nil
	}))
}
