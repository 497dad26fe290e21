package objectstest

import (
	"context"
	"io"
	"strings"
	"sync/atomic"

	"github.com/pkgvc/pkgvc/objects"
)

// Counting is a Backend that counts the keys opened for reading, so that a
// test can tell what an operation costs in reads.
type Counting struct {
	objects.Backend
	Opens atomic.Int64
}

// Unwrap returns the counted backend.
func (c *Counting) Unwrap() objects.Backend { return c.Backend }

// Open implements objects.Backend.
func (c *Counting) Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	c.Opens.Add(1)
	return c.Backend.Open(ctx, key, offset, length)
}

// SweepHook is a Backend that runs a function once, at the first listing
// of small objects: in a garbage collection, after its mark and before
// it deletes anything.
type SweepHook struct {
	objects.Backend
	hook atomic.Pointer[func()]
}

// Unwrap returns the hooked backend.
func (b *SweepHook) Unwrap() objects.Backend { return b.Backend }

// Arm makes fn run at the next listing of small objects.
func (b *SweepHook) Arm(fn func()) { b.hook.Store(&fn) }

// Armed reports whether the function has not run yet.
func (b *SweepHook) Armed() bool { return b.hook.Load() != nil }

// List implements objects.Backend.
func (b *SweepHook) List(ctx context.Context, prefix string, fn func(objects.Info) error) error {
	if strings.HasPrefix(prefix, "objects") {
		if h := b.hook.Swap(nil); h != nil {
			(*h)()
		}
	}
	return b.Backend.List(ctx, prefix, fn)
}
