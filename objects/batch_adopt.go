package objects

import "strings"

// Adopt moves everything other has staged and not yet flushed into b, so
// that b's Flush or Abort covers it; other is left empty and usable.
//
// It lets a caller verify one blob in a batch of its own (and Abort just
// that batch if the content is not what it expected) and then hand the
// verified blob to a shared batch that is flushed once for many blobs.
// An item b already holds is discarded from other rather than staged twice.
func (b *Batch) Adopt(other *Batch) {
	if b == other {
		return
	}
	other.mu.Lock()
	items := other.pending
	blobs, objs := other.blobs, other.objects
	other.pending = nil
	other.blobs = make(map[ID]PutResult)
	other.objects = make(map[ID]PutResult)
	other.newObjects, other.newBytes = 0, 0
	other.mu.Unlock()

	var discard []Staged
	b.mu.Lock()
	for _, it := range items {
		m := b.objects
		if strings.HasPrefix(it.key, "blobs/") {
			m = b.blobs
		}
		res := it.m[it.id]
		if _, ok := m[it.id]; ok {
			discard = append(discard, it.st)
			continue
		}
		m[it.id] = res
		b.pending = append(b.pending, pendingItem{m: m, id: it.id, key: it.key, st: it.st, damaged: it.damaged})
		b.newObjects++
		b.newBytes += res.Stored
	}
	// Remember deduplicated results too, so later puts find them.
	for id, res := range blobs {
		if _, ok := b.blobs[id]; !ok {
			b.blobs[id] = res
		}
	}
	for id, res := range objs {
		if _, ok := b.objects[id]; !ok {
			b.objects[id] = res
		}
	}
	b.mu.Unlock()
	for _, st := range discard {
		_ = st.Abort() // a leftover temporary is harmless; gc removes it
	}
}
