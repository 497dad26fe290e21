package tree

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"sort"

	"github.com/pkgvc/pkgvc/objects"
)

// MaxLeaf is the most records a version-1 leaf holds; a larger subtree
// splits.
const MaxLeaf = 256

// fanout is the number of children of an inner node (one hex digit).
const fanout = 16

// maxDepth is where the trie stops branching: the key has 64 nibbles.
const maxDepth = 64

const (
	tagLeaf  = 'L'
	tagInner = 'N'
	version1 = 1
)

// ErrCorrupt reports an object that does not decode as a tree node.
var ErrCorrupt = errors.New("corrupt tree object")

// child is one slot of an inner node.
type child struct {
	ID    objects.ID
	Count int
}

// node is a decoded tree object: a leaf (Entries) or an inner node (Children).
type node struct {
	Leaf     bool
	Entries  []Entry // leaf: sorted by path
	Children [fanout]child
	Count    int // records in the subtree
}

// IsTreeObject reports whether data looks like an encoded tree node of
// either version.
func IsTreeObject(data []byte) bool { return isV1(data) || isV2(data) }

func isV1(data []byte) bool {
	return len(data) >= 2 && (data[0] == tagLeaf || data[0] == tagInner) && data[1] == version1
}

func encodeLeaf(entries []Entry) ([]byte, error) {
	buf := make([]byte, 0, recordsSize(entries))
	buf = append(buf, tagLeaf, version1)
	return appendRecords(buf, entries)
}

// recordsSize estimates the encoded size of entries.
func recordsSize(entries []Entry) int {
	size := 8
	for _, e := range entries {
		size += len(e.Path) + 48
		for k, v := range e.Metadata {
			size += len(k) + len(v) + 4
		}
	}
	return size
}

// appendRecords appends uvarint(n) and the records, which must be sorted
// by path and unique; both versions encode records alike.
func appendRecords(buf []byte, entries []Entry) ([]byte, error) {
	buf = binary.AppendUvarint(buf, uint64(len(entries)))
	keys := make([]string, 0, 8)
	for i, e := range entries {
		if i > 0 && entries[i-1].Path >= e.Path {
			return nil, fmt.Errorf("encode leaf: records not sorted or duplicate at %q", e.Path)
		}
		if e.Size < 0 {
			return nil, fmt.Errorf("encode leaf: negative size for %q", e.Path)
		}
		if e.Path == "" {
			return nil, fmt.Errorf("encode leaf: empty path")
		}
		buf = appendString(buf, e.Path)
		buf = append(buf, e.SHA256[:]...)
		buf = binary.AppendUvarint(buf, uint64(e.Size))
		keys = keys[:0]
		for k := range e.Metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		buf = binary.AppendUvarint(buf, uint64(len(keys)))
		for _, k := range keys {
			buf = appendString(buf, k)
			buf = appendString(buf, e.Metadata[k])
		}
	}
	return buf, nil
}

func encodeInner(n *node) []byte {
	buf := make([]byte, 0, 4+fanout*40)
	buf = append(buf, tagInner, version1)
	buf = binary.AppendUvarint(buf, uint64(n.Count))
	var bitmap uint16
	for i, c := range n.Children {
		if c.Count > 0 {
			bitmap |= 1 << i
		}
	}
	buf = binary.BigEndian.AppendUint16(buf, bitmap)
	for _, c := range n.Children {
		if c.Count > 0 {
			buf = append(buf, c.ID[:]...)
			buf = binary.AppendUvarint(buf, uint64(c.Count))
		}
	}
	return buf
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

// decoder reads the encoding, remembering the first error. Strings are
// cut from src, one copy of the whole object, when it is set: a node's
// records then cost one allocation, not one a string.
type decoder struct {
	b   []byte
	src string
	err error
}

func (d *decoder) fail(why string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrCorrupt, why)
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	if n > 1 && d.b[n-1] == 0 {
		d.fail("varint not in its shortest form") // one encoding per object
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail("truncated")
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.src == "" {
		return string(d.bytes(n))
	}
	off := len(d.src) - len(d.b)
	if d.bytes(n); d.err != nil {
		return ""
	}
	return d.src[off : off+int(n)]
}

// records reads uvarint(n) and n records sorted by path.
func (d *decoder) records() []Entry {
	count := d.uvarint()
	if count > uint64(len(d.b)) {
		d.fail("record count exceeds object size")
		return nil
	}
	entries := make([]Entry, 0, count)
	for i := uint64(0); i < count && d.err == nil; i++ {
		var e Entry
		e.Path = d.string()
		copy(e.SHA256[:], d.bytes(32))
		size := d.uvarint()
		if size > 1<<62 {
			d.fail("size out of range")
		}
		e.Size = int64(size)
		m := d.uvarint()
		if m > uint64(len(d.b)) {
			d.fail("metadata count exceeds object size")
			break
		}
		if m > 0 {
			e.Metadata = make(map[string]string, m)
			prev := ""
			for j := uint64(0); j < m && d.err == nil; j++ {
				k, v := d.string(), d.string()
				if j > 0 && k <= prev {
					d.fail("metadata keys not sorted")
				}
				prev = k
				e.Metadata[k] = v
			}
		}
		if len(entries) > 0 && entries[len(entries)-1].Path >= e.Path {
			d.fail("records not sorted")
		}
		entries = append(entries, e)
	}
	return entries
}

func decode(data []byte) (*node, error) {
	if !isV1(data) {
		return nil, fmt.Errorf("%w: unknown tag or version", ErrCorrupt)
	}
	d := &decoder{b: data[2:]}
	n := &node{Leaf: data[0] == tagLeaf}
	if n.Leaf {
		n.Entries = d.records()
		n.Count = len(n.Entries)
	} else {
		n.Count = int(d.uvarint())
		bm := d.bytes(2)
		if d.err == nil {
			bitmap := binary.BigEndian.Uint16(bm)
			sum := 0
			for i := 0; i < fanout; i++ {
				if bitmap&(1<<i) == 0 {
					continue
				}
				copy(n.Children[i].ID[:], d.bytes(32))
				c := d.uvarint()
				if c == 0 || c > 1<<40 {
					d.fail("bad child count")
				}
				n.Children[i].Count = int(c)
				sum += int(c)
			}
			if d.err == nil && (sum != n.Count || n.Count <= MaxLeaf || bits.OnesCount16(bitmap) == 0) {
				d.fail("inner node counts inconsistent")
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
