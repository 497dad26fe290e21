package objects

import (
	"context"

	"github.com/pkgvc/pkgvc/internal/clockcache"
)

// Small objects are immutable and named by their digest, so a long-running
// process (serve, with its API and tasks) can keep those it has read and
// verified in memory: a diff or a log through the API then costs what
// decoding costs, not a file open per tree node and version.

// maxCachedObjects bounds the number of cached small objects.
const maxCachedObjects = 1 << 20

// cachedObjectOverhead is the weight of a cache entry beyond its bytes.
const cachedObjectOverhead = 64

// CacheObjects makes GetObject keep up to maxBytes of the small objects it
// has read and verified in memory. The first call sets the bound; later
// ones change nothing, so every part of a process that wants a cache can
// ask for one. Values GetObject returns are then shared: callers must not
// change them.
func (s *Store) CacheObjects(maxBytes int64) {
	if maxBytes <= 0 {
		return
	}
	s.cache.CompareAndSwap(nil, clockcache.New[ID, []byte](maxCachedObjects, maxBytes))
}

// ObjectCacheSize returns the number of cached small objects and their
// weight in bytes (zero without CacheObjects).
func (s *Store) ObjectCacheSize() (int, int64) {
	if c := s.cache.Load(); c != nil {
		return c.Size()
	}
	return 0, 0
}

type uncachedKey struct{}

// Uncached returns a context in which GetObject reads every object from
// the backend and verifies it, whatever the cache holds: what fsck needs
// to check the stored bytes rather than a copy in memory.
func Uncached(ctx context.Context) context.Context {
	return context.WithValue(ctx, uncachedKey{}, true)
}

// objectCache returns the cache GetObject may use in ctx, or nil.
func (s *Store) objectCache(ctx context.Context) *clockcache.Cache[ID, []byte] {
	c := s.cache.Load()
	if c == nil || ctx.Value(uncachedKey{}) != nil {
		return nil
	}
	return c
}
