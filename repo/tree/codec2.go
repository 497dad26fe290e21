package tree

import (
	"encoding/binary"
	"fmt"
	"math/bits"

	"github.com/pkgvc/pkgvc/objects"
)

const (
	tagLeaf2  = 'R'
	tagInner2 = 'I'
	version2  = 2
)

// chunkBits sets the average node: an item ends its node with probability
// 2^-chunkBits, so nodes hold 32 items on average, about 4 KiB of records
// or of child references.
const chunkBits = 5

// MaxItems is the most items (records or children) a version-2 node holds:
// a run of items none of which is a boundary is cut after MaxItems, so no
// choice of paths makes a node unbounded.
const MaxItems = 1024

// maxLevel bounds the height of a version-2 tree; 32^40 records is far
// beyond any store.
const maxLevel = 40

// maxCount bounds the record count of one subtree.
const maxCount = 1 << 40

// kid is one child of a version-2 inner node: the subtree's id, its record
// count and the paths of its first and last records.
type kid struct {
	ID          objects.ID
	Count       int
	First, Last string
}

// pnode is a decoded version-2 node: at level 0 a leaf of records, above
// it an inner node whose children are nodes of the level below.
type pnode struct {
	Level   int
	Entries []Entry // level 0, sorted by path
	Kids    []kid   // level > 0, sorted by key range
}

func (n *pnode) count() int {
	if n.Level == 0 {
		return len(n.Entries)
	}
	c := 0
	for _, k := range n.Kids {
		c += k.Count
	}
	return c
}

func (n *pnode) items() int {
	if n.Level == 0 {
		return len(n.Entries)
	}
	return len(n.Kids)
}

func (n *pnode) firstKey() string {
	if n.Level == 0 {
		return n.Entries[0].Path
	}
	return n.Kids[0].First
}

func (n *pnode) key(i int) string {
	if n.Level == 0 {
		return n.Entries[i].Path
	}
	return n.Kids[i].Last
}

// boundary reports whether an item with key ends its node at level. It
// depends on nothing but the key and the level, which makes the tree's
// shape a function of its set of records.
func boundary(key string, level int) bool {
	return boundaryHash(key, level)>>(64-chunkBits) == 0
}

// boundaryHash mixes key eight bytes at a time, then the length, and
// ends with splitmix64's finalizer; the level seeds it. The hash is part
// of the format: changing it changes every tree's shape.
func boundaryHash(key string, level int) uint64 {
	const m = 0x9e3779b97f4a7c15
	h := uint64(level+1) * 0xbf58476d1ce4e5b9
	for len(key) >= 8 {
		w := binary.LittleEndian.Uint64([]byte(key[:8]))
		h = bits.RotateLeft64((h^w)*m, 29)
		key = key[8:]
	}
	var tail uint64
	for i := len(key) - 1; i >= 0; i-- {
		tail = tail<<8 | uint64(key[i])
	}
	h = bits.RotateLeft64((h^tail^uint64(len(key))<<56)*m, 29)
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

func isV2(data []byte) bool {
	return len(data) >= 2 && (data[0] == tagLeaf2 || data[0] == tagInner2) && data[1] == version2
}

func encodeLeaf2(entries []Entry) ([]byte, error) {
	if err := checkItems(len(entries), func(i int) string { return entries[i].Path }, 0); err != nil {
		return nil, err
	}
	buf := make([]byte, 0, recordsSize(entries))
	buf = append(buf, tagLeaf2, version2)
	return appendRecords(buf, entries)
}

func encodeInner2(level int, kids []kid) ([]byte, error) {
	if level < 1 || level > maxLevel {
		return nil, fmt.Errorf("encode node: level %d out of range", level)
	}
	if len(kids) == 0 {
		return nil, fmt.Errorf("encode node: no children")
	}
	if err := checkItems(len(kids), func(i int) string { return kids[i].Last }, level); err != nil {
		return nil, err
	}
	size := 8
	for _, k := range kids {
		size += 32 + 8 + len(k.First) + len(k.Last) + 4
	}
	buf := make([]byte, 0, size)
	buf = append(buf, tagInner2, version2)
	buf = binary.AppendUvarint(buf, uint64(level))
	buf = binary.AppendUvarint(buf, uint64(len(kids)))
	for i, k := range kids {
		if why := checkKid(k); why != "" {
			return nil, fmt.Errorf("encode node: child %d: %s", i, why)
		}
		if i > 0 && kids[i-1].Last >= k.First {
			return nil, fmt.Errorf("encode node: children overlap at %q", k.First)
		}
		buf = append(buf, k.ID[:]...)
		buf = binary.AppendUvarint(buf, uint64(k.Count))
		buf = appendString(buf, k.First)
		buf = appendString(buf, k.Last)
	}
	return buf, nil
}

// checkItems enforces the chunking rule inside one node: at most MaxItems,
// and no item but the last is a boundary.
func checkItems(n int, key func(int) string, level int) error {
	if n > MaxItems {
		return fmt.Errorf("%w: %d items in one node", ErrCorrupt, n)
	}
	for i := 0; i < n-1; i++ {
		if boundary(key(i), level) {
			return fmt.Errorf("%w: a boundary inside a node at %q", ErrCorrupt, key(i))
		}
	}
	return nil
}

func checkKid(k kid) string {
	switch {
	case k.Count < 1 || k.Count > maxCount:
		return "bad record count"
	case k.First == "" || k.First > k.Last:
		return "bad key range"
	case (k.First == k.Last) != (k.Count == 1):
		return "key range does not match record count"
	}
	return ""
}

func decode2(data []byte) (*pnode, error) {
	if !isV2(data) {
		return nil, fmt.Errorf("%w: unknown tag or version", ErrCorrupt)
	}
	src := string(data[2:])
	d := &decoder{b: data[2:], src: src}
	n := &pnode{}
	if data[0] == tagLeaf2 {
		n.Entries = d.records()
		if d.err == nil && len(n.Entries) > 0 && n.Entries[0].Path == "" {
			d.fail("empty path")
		}
		if d.err == nil {
			if err := checkItems(len(n.Entries), func(i int) string { return n.Entries[i].Path }, 0); err != nil {
				return nil, err
			}
		}
	} else {
		level := d.uvarint()
		if d.err == nil && (level < 1 || level > maxLevel) {
			d.fail("level out of range")
		}
		n.Level = int(level)
		count := d.uvarint()
		if d.err == nil && (count < 1 || count > MaxItems || count > uint64(len(d.b))/34) {
			d.fail("bad child count")
		}
		if d.err == nil {
			n.Kids = make([]kid, 0, count)
		}
		for i := uint64(0); i < count && d.err == nil; i++ {
			var k kid
			copy(k.ID[:], d.bytes(32))
			c := d.uvarint()
			if c > maxCount {
				d.fail("bad record count")
			}
			k.Count = int(c)
			k.First = d.string()
			k.Last = d.string()
			if d.err != nil {
				break
			}
			if why := checkKid(k); why != "" {
				d.fail(why)
			}
			if len(n.Kids) > 0 && n.Kids[len(n.Kids)-1].Last >= k.First {
				d.fail("children not sorted")
			}
			n.Kids = append(n.Kids, k)
		}
		if d.err == nil {
			if err := checkItems(len(n.Kids), func(i int) string { return n.Kids[i].Last }, n.Level); err != nil {
				return nil, err
			}
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return nil, d.err
	}
	return n, nil
}
