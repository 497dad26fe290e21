package objects_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/objects/mem"
)

func TestAdopt(t *testing.T) {
	ctx := context.Background()
	s := objects.New(mem.New())
	shared := s.NewBatch()

	one := s.NewBatch()
	a := adoptPut(t, one, []byte("verified a"))
	shared.Adopt(one)
	n, _ := one.Stats()
	require.Zero(t, n, "the adopted batch is left empty")

	bad := s.NewBatch()
	x := adoptPut(t, bad, []byte("not what we wanted"))
	bad.Abort()

	dup := s.NewBatch()
	adoptPut(t, dup, []byte("verified a")) // staged twice: adopted once
	shared.Adopt(dup)
	n, _ = shared.Stats()
	require.Equal(t, 1, n)

	has, err := s.HasBlob(ctx, a)
	require.NoError(t, err)
	require.False(t, has, "nothing visible before Flush")
	require.NoError(t, shared.Flush(ctx))
	has, err = s.HasBlob(ctx, a)
	require.NoError(t, err)
	require.True(t, has)
	has, err = s.HasBlob(ctx, x)
	require.NoError(t, err)
	require.False(t, has)

	// Abort on the shared batch discards adopted items too.
	other := s.NewBatch()
	c := adoptPut(t, other, []byte("c"))
	shared.Adopt(other)
	shared.Abort()
	require.NoError(t, shared.Flush(ctx))
	has, err = s.HasBlob(ctx, c)
	require.NoError(t, err)
	require.False(t, has)
	shared.Adopt(shared) // a no-op
}

func adoptPut(t *testing.T, b *objects.Batch, data []byte) objects.ID {
	t.Helper()
	res, err := b.PutBlob(context.Background(), bytes.NewReader(data))
	require.NoError(t, err)
	return res.ID
}
