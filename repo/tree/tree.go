package tree

import (
	"bytes"
	"context"
	"fmt"
	"sort"

	"github.com/pkgvc/pkgvc/objects"
)

// Getter reads small objects by id.
type Getter interface {
	GetObject(ctx context.Context, id objects.ID) ([]byte, error)
}

// Putter writes small objects and names them by digest.
type Putter interface {
	PutObject(ctx context.Context, data []byte) (objects.PutResult, error)
}

// Store reads and writes tree objects.
type Store interface {
	Getter
	Putter
}

// load reads and decodes one tree object; the zero id is the empty tree.
func load(ctx context.Context, g Getter, id objects.ID) (*node, error) {
	if id.IsZero() {
		return &node{Leaf: true}, nil
	}
	data, err := g.GetObject(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("read tree %s: %w", id, err)
	}
	n, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("tree %s: %w", id, err)
	}
	return n, nil
}

// Empty writes the tree with no records and returns its id.
func Empty(ctx context.Context, p Putter) (objects.ID, error) {
	return Build(ctx, p, nil)
}

// keyed pairs a record with its trie key.
type keyed struct {
	key   pathKey
	path  string
	entry *Entry // nil: remove
}

// Build writes a tree holding exactly entries; paths must be unique.
func Build(ctx context.Context, p Putter, entries []Entry) (objects.ID, error) {
	ks := make([]keyed, len(entries))
	for i := range entries {
		ks[i] = keyed{keyOf(entries[i].Path), entries[i].Path, &entries[i]}
	}
	sortKeyed(ks)
	for i := 1; i < len(ks); i++ {
		if ks[i].entry.Path == ks[i-1].entry.Path {
			return objects.ID{}, fmt.Errorf("duplicate path %q", ks[i].entry.Path)
		}
	}
	id, _, err := build(ctx, p, ks, 0)
	return id, err
}

func sortKeyed(ks []keyed) {
	sort.Slice(ks, func(i, j int) bool {
		return string(ks[i].key[:]) < string(ks[j].key[:])
	})
}

// build writes the canonical subtree at depth for ks, which is sorted by key.
func build(ctx context.Context, p Putter, ks []keyed, depth int) (objects.ID, int, error) {
	if len(ks) <= MaxLeaf || depth == maxDepth {
		entries := make([]Entry, len(ks))
		for i, k := range ks {
			entries[i] = *k.entry
		}
		return writeLeaf(ctx, p, entries)
	}
	n := &node{Count: len(ks)}
	for start := 0; start < len(ks); {
		nib := ks[start].key.nibble(depth)
		end := start
		for end < len(ks) && ks[end].key.nibble(depth) == nib {
			end++
		}
		id, c, err := build(ctx, p, ks[start:end], depth+1)
		if err != nil {
			return objects.ID{}, 0, err
		}
		n.Children[nib] = child{id, c}
		start = end
	}
	return writeObject(ctx, p, encodeInner(n), n.Count)
}

func writeLeaf(ctx context.Context, p Putter, entries []Entry) (objects.ID, int, error) {
	sort.Slice(entries, func(i, j int) bool { return entries[i].Path < entries[j].Path })
	data, err := encodeLeaf(entries)
	if err != nil {
		return objects.ID{}, 0, err
	}
	return writeObject(ctx, p, data, len(entries))
}

func writeObject(ctx context.Context, p Putter, data []byte, count int) (objects.ID, int, error) {
	res, err := p.PutObject(ctx, data)
	if err != nil {
		return objects.ID{}, 0, fmt.Errorf("write tree object: %w", err)
	}
	return res.ID, count, nil
}

// Change sets (Entry non-nil) or removes (Entry nil) the record at Path.
type Change struct {
	Path  string
	Entry *Entry
}

// Apply writes the tree that results from applying changes to root and
// returns its id. Only the paths from the root to changed leaves are
// rewritten. Removing an absent path is not an error; callers that care look
// it up first.
func Apply(ctx context.Context, s Store, root objects.ID, changes []Change) (objects.ID, error) {
	if len(changes) == 0 {
		return root, nil
	}
	ks := make([]keyed, len(changes))
	for i, c := range changes {
		if c.Entry != nil && c.Entry.Path != c.Path {
			return objects.ID{}, fmt.Errorf("change for %q carries record for %q", c.Path, c.Entry.Path)
		}
		ks[i] = keyed{keyOf(c.Path), c.Path, c.Entry}
	}
	sortKeyed(ks)
	for i := 1; i < len(ks); i++ {
		if ks[i].key == ks[i-1].key {
			return objects.ID{}, fmt.Errorf("path %q changed twice", ks[i].path)
		}
	}
	id, _, err := apply(ctx, s, root, ks, 0)
	return id, err
}

func apply(ctx context.Context, s Store, id objects.ID, ks []keyed, depth int) (objects.ID, int, error) {
	n, err := load(ctx, s, id)
	if err != nil {
		return objects.ID{}, 0, err
	}
	if n.Leaf {
		merged, changed := mergeLeaf(n.Entries, ks)
		if !changed && !id.IsZero() {
			return id, n.Count, nil
		}
		if len(merged) <= MaxLeaf || depth == maxDepth {
			entries := make([]Entry, len(merged))
			for i, k := range merged {
				entries[i] = *k.entry
			}
			return writeLeaf(ctx, s, entries)
		}
		return build(ctx, s, merged, depth)
	}
	out := *n
	changed := false
	for start := 0; start < len(ks); {
		nib := ks[start].key.nibble(depth)
		end := start
		for end < len(ks) && ks[end].key.nibble(depth) == nib {
			end++
		}
		old := n.Children[nib]
		cid, c, err := apply(ctx, s, old.ID, ks[start:end], depth+1)
		if err != nil {
			return objects.ID{}, 0, err
		}
		if c == 0 {
			cid = objects.ID{}
		}
		if cid != old.ID || c != old.Count {
			changed = true
		}
		out.Count += c - old.Count
		out.Children[nib] = child{cid, c}
		start = end
	}
	if !changed {
		return id, n.Count, nil
	}
	if out.Count <= MaxLeaf {
		entries := make([]Entry, 0, out.Count)
		for _, c := range out.Children {
			if c.Count == 0 {
				continue
			}
			if err := Walk(ctx, s, c.ID, func(e Entry) error {
				entries = append(entries, e)
				return nil
			}); err != nil {
				return objects.ID{}, 0, err
			}
		}
		return writeLeaf(ctx, s, entries)
	}
	return writeObject(ctx, s, encodeInner(&out), out.Count)
}

// mergeLeaf applies changes (sorted by key) to a leaf's records and returns
// the result sorted by key, without building a map: an initial commit of a
// million records arrives here as one change list against the empty leaf.
func mergeLeaf(leaf []Entry, ks []keyed) ([]keyed, bool) {
	old := make([]keyed, len(leaf))
	for i := range leaf {
		old[i] = keyed{keyOf(leaf[i].Path), leaf[i].Path, &leaf[i]}
	}
	sortKeyed(old)
	out := make([]keyed, 0, len(old)+len(ks))
	changed := false
	i, j := 0, 0
	for i < len(old) || j < len(ks) {
		var c int
		switch {
		case i == len(old):
			c = 1
		case j == len(ks):
			c = -1
		default:
			c = bytes.Compare(old[i].key[:], ks[j].key[:])
		}
		switch {
		case c < 0: // untouched record
			out = append(out, old[i])
			i++
		case c > 0: // new path, or removal of an absent one
			if ks[j].entry != nil {
				out = append(out, ks[j])
				changed = true
			}
			j++
		default: // replaced or removed
			if ks[j].entry != nil {
				out = append(out, ks[j])
				changed = changed || !ks[j].entry.Equal(*old[i].entry)
			} else {
				changed = true
			}
			i++
			j++
		}
	}
	return out, changed
}

// Get returns the record at path.
func Get(ctx context.Context, g Getter, root objects.ID, path string) (Entry, bool, error) {
	key := keyOf(path)
	id := root
	for depth := 0; ; depth++ {
		n, err := load(ctx, g, id)
		if err != nil {
			return Entry{}, false, err
		}
		if n.Leaf {
			i := sort.Search(len(n.Entries), func(i int) bool { return n.Entries[i].Path >= path })
			if i < len(n.Entries) && n.Entries[i].Path == path {
				return n.Entries[i], true, nil
			}
			return Entry{}, false, nil
		}
		c := n.Children[key.nibble(depth)]
		if c.Count == 0 {
			return Entry{}, false, nil
		}
		id = c.ID
	}
}

// Count returns the number of records under root.
func Count(ctx context.Context, g Getter, root objects.ID) (int, error) {
	n, err := load(ctx, g, root)
	if err != nil {
		return 0, err
	}
	return n.Count, nil
}

// Walk calls fn for every record under root, in trie order (not path order).
func Walk(ctx context.Context, g Getter, root objects.ID, fn func(Entry) error) error {
	return WalkNodes(ctx, g, root, func(_ objects.ID, entries []Entry) (bool, error) {
		for _, e := range entries {
			if err := fn(e); err != nil {
				return false, err
			}
		}
		return true, nil
	})
}

// WalkNodes calls visit for every tree object under root, with the records of
// a leaf (nil for an inner node). It descends into an inner node's children
// only when visit returns true, so a mark phase can skip subtrees it has seen.
func WalkNodes(ctx context.Context, g Getter, root objects.ID, visit func(id objects.ID, leaf []Entry) (bool, error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	n, err := load(ctx, g, root)
	if err != nil {
		return err
	}
	descend, err := visit(root, n.Entries)
	if err != nil || !descend || n.Leaf {
		return err
	}
	for _, c := range n.Children {
		if c.Count == 0 {
			continue
		}
		if err := WalkNodes(ctx, g, c.ID, visit); err != nil {
			return err
		}
	}
	return nil
}

// Sorted returns every record under root sorted by path.
func Sorted(ctx context.Context, g Getter, root objects.ID) ([]Entry, error) {
	var out []Entry
	if err := Walk(ctx, g, root, func(e Entry) error {
		out = append(out, e)
		return nil
	}); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// ReadNode reads one tree object: a leaf's records, or an inner node's
// children. Callers that must survive damaged subtrees (fsck) walk with it.
func ReadNode(ctx context.Context, g Getter, id objects.ID) (leaf []Entry, children []objects.ID, err error) {
	n, err := load(ctx, g, id)
	if err != nil {
		return nil, nil, err
	}
	if n.Leaf {
		return n.Entries, nil, nil
	}
	for _, c := range n.Children {
		if c.Count > 0 {
			children = append(children, c.ID)
		}
	}
	return nil, children, nil
}
