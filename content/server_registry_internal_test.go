package content

import (
	"bytes"
	"context"
	"crypto/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/kinds/container"
	"github.com/pkgvc/pkgvc/kinds/file"
	"github.com/pkgvc/pkgvc/kinds/python"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

// TestBlobWritten checks that a large blob just written is recorded as
// verified, so that its first GET does not hash it, and a small one is
// left to its first GET, which keeps it in memory.
func TestBlobWritten(t *testing.T) {
	ctx := context.Background()
	st, err := fsstore.OpenDir(ctx, t.TempDir(), repo.NewKinds(file.Kind{}, python.Kind{}, container.Kind{}))
	require.NoError(t, err)
	s := NewServer(st, dist.NewDists(st), nil)
	put := func(n int) objects.ID {
		data := make([]byte, n)
		_, _ = rand.Read(data)
		b := st.Objects().NewBatch()
		res, err := b.PutBlob(ctx, bytes.NewReader(data))
		require.NoError(t, err)
		require.True(t, res.New)
		require.NoError(t, b.Flush(ctx))
		return res.ID
	}
	big, small := put(maxSmallBlob+1), put(1000)
	s.BlobWritten(big)
	s.BlobWritten(small)
	be, ok := s.blobs.Get(big)
	require.True(t, ok, "a large blob just written is verified")
	p, _ := st.Objects().BlobPath(big)
	require.Equal(t, p, be.path)
	require.Nil(t, be.data)
	_, ok = s.blobs.Get(small)
	require.False(t, ok, "a small blob is left to its first GET")
}
