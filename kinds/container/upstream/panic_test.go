package upstream_test

import (
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/internal/parallel"
	"github.com/pkgvc/pkgvc/kinds/container/upstream"
	"github.com/pkgvc/pkgvc/kinds/container/upstream/ocitest"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/remote"
)

// buggy is the container syncer with a bug that panics in a worker
// goroutine: the tag walker's (reading what the store knows) or a
// download's (opening a blob).
type buggy struct {
	*upstream.Syncer
	inWalk bool
}

func (b buggy) Index(ctx context.Context, up remote.Upstream) ([]remote.Package, error) {
	if b.inWalk {
		up.KnownSize = func(context.Context, objects.ID) (int64, bool) { panic("bug in the walk") }
		up.OpenStored = func(context.Context, objects.ID) (io.ReadCloser, error) { panic("bug in the walk") }
	}
	return b.Syncer.Index(ctx, up)
}

func (b buggy) Open(ctx context.Context, up remote.Upstream, p remote.Package) (io.ReadCloser, error) {
	if !b.inWalk {
		var blobs map[string][]byte
		blobs[p.Path] = nil // a nil map write
	}
	return b.Syncer.Open(ctx, up, p)
}

// A panic in a worker goroutine of a sync or a pull-through, which no
// request or task recovers, fails that operation with an error carrying
// the stack; the process goes on, and the next sync works.
func TestWorkerPanicFailsTheOperation(t *testing.T) {
	up := ocitest.Start(t, "")
	up.Push("library/alpine", "3", ocitest.NewImage(t, "linux", "amd64", true, 100))
	up.Push("library/alpine", "4", ocitest.NewImage(t, "linux", "amd64", true, 100))
	e := newEnv(t)
	e.remote(up.URL(), "library/alpine", func(r *remote.Remote) { r.DownloadConcurrency = 2 })

	for name, inWalk := range map[string]bool{"walk": true, "download": false} {
		m := remote.New(e.st, remote.NewRegistry(buggy{upstream.New(), inWalk}))
		_, err := m.Sync(ctx(t), "up", "mirror", remote.SyncOptions{})
		var pe *parallel.PanicError
		require.ErrorAs(t, err, &pe, name)
		require.Contains(t, pe.Stack, "panic_test.go", "%s: the stack shows the bug", name)
		require.Equal(t, 0, e.versions(), name)
	}

	m := remote.New(e.st, remote.NewRegistry(buggy{upstream.New(), false}))
	_, err := m.PullRefs(ctx(t), "up", "mirror", []string{"3"})
	require.ErrorAs(t, err, new(*parallel.PanicError), "pull-through")
	require.Equal(t, 0, e.versions())

	// A progress callback that panics in a download's goroutine, while
	// the sync's lock is held: the sync fails, and nothing deadlocks.
	_, err = e.m.Sync(ctx(t), "up", "mirror", remote.SyncOptions{Progress: func(p remote.SyncProgress) {
		if p.Files > 0 {
			panic("bug in a progress bar")
		}
	}})
	require.ErrorAs(t, err, new(*parallel.PanicError), "progress")

	e.syncOK(false)
	require.Equal(t, 1, e.versions())
}
