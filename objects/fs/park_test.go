package fs_test

import (
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/objects/fs"
)

// Another collector's CleanTemp, running beside a DeleteIfOlder, never
// removes the file it parked: a blob freshened after the epoch stays.
func TestCleanTempSparesParkedFiles(t *testing.T) {
	b, err := fs.New(t.TempDir())
	require.NoError(t, err)
	ctx := context.Background()
	const key = "blobs/ab/abcd"
	require.NoError(t, b.Put(ctx, key, strings.NewReader("x"), 1))
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			_, _ = b.CleanTemp(ctx, time.Now())
		}
	}()
	defer func() { stop.Store(true); wg.Wait() }()
	for i := 0; i < 5000; i++ {
		epoch := time.Now().Add(-2 * time.Second)
		require.NoError(t, b.Touch(ctx, key, time.Now().Add(-time.Second))) // freshened after the epoch
		deleted, err := b.DeleteIfOlder(ctx, key, epoch)
		require.NoError(t, err, "round %d", i)
		require.False(t, deleted, "round %d: a fresh file was deleted", i)
		_, err = b.Stat(ctx, key)
		require.NoError(t, err, "round %d: the freshened file is gone", i)
	}
}

// A file parked by a collector that stopped before it finished is put
// back when the store is next opened.
func TestParkedFileRestoredOnOpen(t *testing.T) {
	dir := t.TempDir()
	b, err := fs.New(dir)
	require.NoError(t, err)
	ctx := context.Background()
	const key = "blobs/cd/cdef"
	require.NoError(t, b.Put(ctx, key, strings.NewReader("y"), 1))
	// What DeleteIfOlder's rename leaves if its process dies next.
	park := filepath.Join(dir, "tmp", "gc")
	require.NoError(t, os.MkdirAll(park, 0o755))
	parked := filepath.Join(park, hex.EncodeToString([]byte(key))+".123")
	require.NoError(t, os.Rename(filepath.Join(dir, "blobs", "cd", "cdef"), parked))
	_, err = b.Stat(ctx, key)
	require.Error(t, err)
	// Just parked: a collector may be at work on it.
	b, err = fs.New(dir)
	require.NoError(t, err)
	_, err = b.Stat(ctx, key)
	require.Error(t, err, "a file parked a moment ago is left to its collector")
	// Once it is old enough, its collector is gone.
	defer fs.SetParkedStale(0)()
	b, err = fs.New(dir)
	require.NoError(t, err)
	_, err = b.Stat(ctx, key)
	require.NoError(t, err, "the parked file is back")
	ents, err := os.ReadDir(park)
	require.NoError(t, err)
	require.Empty(t, ents)
}
