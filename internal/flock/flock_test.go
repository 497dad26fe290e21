package flock_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/internal/flock"
)

func TestSharedAndExclusive(t *testing.T) {
	p := filepath.Join(t.TempDir(), "lock")
	open := func() *os.File {
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
		require.NoError(t, err)
		t.Cleanup(func() { f.Close() })
		return f
	}
	a, b, c := open(), open(), open()
	ctx := context.Background()
	require.NoError(t, flock.LockShared(ctx, a))
	require.NoError(t, flock.LockShared(ctx, b), "shared holders go together")
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, flock.Lock(short, c), context.DeadlineExceeded, "exclusive beside shared")
	require.NoError(t, flock.Unlock(a))
	require.NoError(t, flock.Unlock(b))
	require.NoError(t, flock.Lock(ctx, c))
	short2, cancel2 := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel2()
	require.ErrorIs(t, flock.LockShared(short2, a), context.DeadlineExceeded, "shared beside exclusive")
	require.NoError(t, flock.Unlock(c))
	require.NoError(t, flock.LockShared(ctx, a))
}
