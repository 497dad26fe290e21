package publication

import (
	"sync"

	"github.com/pkgvc/pkgvc/objects"
)

// DefaultCacheBytes bounds the metadata files New's publisher remembers.
const DefaultCacheBytes = 64 << 20

// metaKey names what a wheel's METADATA depends on: its content and its
// file name (which the metadata must agree with).
type metaKey struct {
	blob     objects.ID
	filename string
}

// metaCache remembers the METADATA read from stored wheels, so that
// publishing a new version reads only the wheels it adds. Blobs never
// change, so entries never go stale; the oldest go first when the cache is
// over its size.
type metaCache struct {
	mu    sync.Mutex
	max   int64
	size  int64
	m     map[metaKey][]byte // nil value: the wheel has no usable METADATA
	order []metaKey          // oldest first
}

func newMetaCache(maxBytes int64) *metaCache {
	return &metaCache{max: maxBytes, m: map[metaKey][]byte{}}
}

func (c *metaCache) get(k metaKey) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok
}

func (c *metaCache) add(k metaKey, v []byte) {
	if c == nil || int64(len(v)) > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; ok {
		return
	}
	c.m[k] = v
	c.order = append(c.order, k)
	c.size += int64(len(v)) + entryOverhead
	for c.size > c.max && len(c.order) > 0 {
		old := c.order[0]
		c.order = c.order[1:]
		c.size -= int64(len(c.m[old])) + entryOverhead
		delete(c.m, old)
	}
}

// entryOverhead approximates an entry's memory beyond its bytes.
const entryOverhead = 128
