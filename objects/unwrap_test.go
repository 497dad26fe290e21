package objects_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/objects"
	objectsfs "github.com/pkgvc/pkgvc/objects/fs"
	"github.com/pkgvc/pkgvc/objects/objectstest"
)

// TestDecoratorKeepsLocker: a store over a decorated file-system backend
// still takes the collector's lock on the medium, so a second process
// (a store over the same directory) cannot lease while it collects. Were
// the Locker hidden by the decorator, the lock would be process-local and
// the other store's writer would run during the mark.
func TestDecoratorKeepsLocker(t *testing.T) {
	dir := t.TempDir()
	b1, err := objectsfs.New(dir)
	require.NoError(t, err)
	b2, err := objectsfs.New(dir)
	require.NoError(t, err)
	wrapped := &objectstest.Counting{Backend: &objectstest.SweepHook{Backend: b1}}

	_, ok := objects.As[objects.Locker](wrapped)
	require.True(t, ok, "Locker found through two decorators")
	_, ok = objects.As[objects.Reaper](wrapped)
	require.True(t, ok, "Reaper found through two decorators")

	collector, other := objects.New(wrapped), objects.New(b2)
	_, end, err := collector.Collect(context.Background())
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, release, err := other.Lease(ctx)
	release()
	require.ErrorIs(t, err, context.DeadlineExceeded, "a lease in another process waits for the mark")
	end()

	_, release, err = other.Lease(context.Background())
	require.NoError(t, err)
	release()
}

// noUnwrap hides what it wraps.
type noUnwrap struct{ objects.Backend }

func TestAsStopsWithoutUnwrap(t *testing.T) {
	b, err := objectsfs.New(t.TempDir())
	require.NoError(t, err)
	_, ok := objects.As[objects.Locker](noUnwrap{b})
	require.False(t, ok)
	_, ok = objects.As[objects.Locker](objects.Backend(nil))
	require.False(t, ok)
}
