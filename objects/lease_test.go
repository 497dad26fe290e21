package objects_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/objects"
	objectsfs "github.com/pkgvc/pkgvc/objects/fs"
	"github.com/pkgvc/pkgvc/objects/mem"
)

// leaseStores returns a store per locking kind: in-process (mem) and on
// the file system, opened twice as two processes would.
func leaseStores(t *testing.T) map[string][2]*objects.Store {
	t.Helper()
	dir := t.TempDir()
	open := func() *objects.Store {
		b, err := objectsfs.New(dir)
		require.NoError(t, err)
		return objects.New(b)
	}
	m := objects.New(mem.New())
	return map[string][2]*objects.Store{"mem": {m, m}, "fs": {open(), open()}}
}

// blocked reports whether ch stays empty for a while.
func blocked(ch <-chan error) bool {
	select {
	case <-ch:
		return false
	case <-time.After(100 * time.Millisecond):
		return true
	}
}

func TestLeaseAndCollect(t *testing.T) {
	for name, st := range leaseStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			a, b := st[0], st[1]

			// A mark waits for a short lease; a short lease waits while a
			// mark waits for short leases.
			lctx, release, err := a.Lease(ctx)
			require.NoError(t, err)
			require.True(t, a.HasLease(lctx))
			marked := make(chan error, 1)
			var end func()
			go func() {
				var err error
				_, end, err = b.Collect(ctx)
				marked <- err
			}()
			require.True(t, blocked(marked), "the mark ran beside a lease")
			short := make(chan error, 1)
			go func() {
				_, r, err := b.Lease(ctx)
				if err == nil {
					r()
				}
				short <- err
			}()
			require.True(t, blocked(short), "a new short lease went before the waiting mark")
			// Nested: the context's lease is reused, not waited for.
			_, nested, err := a.Lease(lctx)
			require.NoError(t, err)
			nested()
			release()
			require.NoError(t, <-marked)
			require.True(t, blocked(short), "a short lease ran beside the mark")
			end()
			require.NoError(t, <-short)

			// While a mark waits for a long lease, short ones come and go;
			// new long ones wait.
			_, releaseLong, err := a.LongLease(ctx)
			require.NoError(t, err)
			go func() {
				var err error
				_, end, err = b.Collect(ctx)
				marked <- err
			}()
			require.True(t, blocked(marked))
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, r, err := a.Lease(cctx)
			cancel()
			require.NoError(t, err, "a short lease waited behind a mark waiting for a long one")
			r()
			long := make(chan error, 1)
			go func() {
				_, r, err := b.LongLease(ctx)
				if err == nil {
					r()
				}
				long <- err
			}()
			require.True(t, blocked(long), "a new long lease went before the waiting mark")
			releaseLong()
			require.NoError(t, <-marked)
			end()
			require.NoError(t, <-long)

			// A canceled wait gives up with the context's error.
			_, end, err = b.Collect(ctx)
			require.NoError(t, err)
			cctx, cancel = context.WithTimeout(ctx, 20*time.Millisecond)
			_, _, err = a.Lease(cctx)
			cancel()
			require.ErrorIs(t, err, context.DeadlineExceeded)
			end()
		})
	}
}

// TestReferenceAfterMark: a blob referenced after a mark began is newer
// than the mark's epoch, so the sweep's delete keeps it; a blob the sweep
// took first is reported missing.
func TestReferenceAfterMark(t *testing.T) {
	for name, st := range leaseStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			a, b := st[0], st[1]
			put := func(content string) objects.ID {
				bt := a.NewBatch()
				res, err := bt.PutBlob(ctx, strings.NewReader(content))
				require.NoError(t, err)
				require.NoError(t, bt.Flush(ctx))
				return res.ID
			}
			kept, lost := put("referenced after the mark "+name), put("not referenced "+name)
			epoch, end, err := b.Collect(ctx)
			require.NoError(t, err)
			end() // returns once the store's clock is past the epoch
			lctx, release, err := a.Lease(ctx)
			require.NoError(t, err)
			require.NoError(t, a.Reference(lctx, kept))
			after := epoch.Add(time.Nanosecond)
			deleted, err := b.DeleteBlob(ctx, kept, after)
			require.NoError(t, err)
			require.False(t, deleted, "the sweep deleted a blob referenced after its mark")
			deleted, err = b.DeleteBlob(ctx, lost, after)
			require.NoError(t, err)
			require.True(t, deleted)
			require.ErrorIs(t, a.Reference(lctx, lost), objects.ErrNotFound)
			release()
			has, err := a.HasBlob(ctx, kept)
			require.NoError(t, err)
			require.True(t, has)
		})
	}
}
