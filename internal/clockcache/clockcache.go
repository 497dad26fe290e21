// Package clockcache is a bounded in-memory cache of immutable values,
// evicting with the CLOCK algorithm: what the content server keeps of
// versions, listings and blobs, and what a store keeps of small objects.
package clockcache

import (
	"sync"
	"sync/atomic"
)

// Cache is a bounded map for immutable values, tuned for read-mostly use by
// many goroutines: Get is a lock-free sync.Map load, Add takes a mutex and evicts
// with the CLOCK algorithm (an entry read since the hand last passed it
// gets a second chance) until both the entry count and the total weight
// are within bounds.
type Cache[K comparable, V any] struct {
	m         sync.Map // K -> *item[V]
	maxCount  int
	maxWeight int64

	mu     sync.Mutex
	ring   []K
	hand   int
	weight int64
}

type item[V any] struct {
	v      V
	weight int64
	ref    atomic.Bool
}

// New returns a Cache of at most maxCount entries and, if maxWeight > 0,
// at most maxWeight in total weight.
func New[K comparable, V any](maxCount int, maxWeight int64) *Cache[K, V] {
	return &Cache[K, V]{maxCount: max(maxCount, 1), maxWeight: maxWeight}
}

// Get returns the value cached under k.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	x, ok := c.m.Load(k)
	if !ok {
		var zero V
		return zero, false
	}
	it := x.(*item[V])
	if !it.ref.Load() { // avoid writing a shared cache line on every hit
		it.ref.Store(true)
	}
	return it.v, true
}

// Add caches v under k with the given weight, replacing any previous value,
// and evicts other entries as needed. A value heavier than the whole
// budget is not cached.
func (c *Cache[K, V]) Add(k K, v V, weight int64) {
	if c.maxWeight > 0 && weight > c.maxWeight {
		c.Remove(k)
		return
	}
	it := &item[V]{v: v, weight: weight}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, loaded := c.m.Swap(k, it); loaded {
		c.weight -= old.(*item[V]).weight
	} else {
		c.ring = append(c.ring, k)
	}
	c.weight += weight
	for len(c.ring) > c.maxCount || (c.maxWeight > 0 && c.weight > c.maxWeight) {
		if c.hand >= len(c.ring) {
			c.hand = 0
		}
		key := c.ring[c.hand]
		x, ok := c.m.Load(key)
		if ok && key != k && x.(*item[V]).ref.Swap(false) {
			c.hand++
			continue
		}
		if ok && key == k && len(c.ring) > 1 {
			c.hand++ // never evict what is being added, unless alone
			continue
		}
		if ok {
			c.weight -= x.(*item[V]).weight
			c.m.Delete(key)
		}
		last := len(c.ring) - 1
		c.ring[c.hand] = c.ring[last]
		c.ring = c.ring[:last]
	}
}

// Remove drops k.
func (c *Cache[K, V]) Remove(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	x, ok := c.m.LoadAndDelete(k)
	if !ok {
		return
	}
	c.weight -= x.(*item[V]).weight
	for i, key := range c.ring {
		if key == k {
			last := len(c.ring) - 1
			c.ring[i] = c.ring[last]
			c.ring = c.ring[:last]
			break
		}
	}
}

// Len returns the number of cached entries.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.ring)
}

// Size returns the number of cached entries and their total weight.
func (c *Cache[K, V]) Size() (int, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.ring), c.weight
}
