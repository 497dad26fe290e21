package tree

import (
	"bytes"
	"context"
	"fmt"
	"sort"

	"github.com/pkgvc/pkgvc/objects"
)

// loadTrie reads and decodes one version-1 object; the zero id is the
// empty tree.
func loadTrie(ctx context.Context, g Getter, id objects.ID) (*node, error) {
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

// keyed pairs a record with its trie key.
type keyed struct {
	key   pathKey
	path  string
	entry *Entry // nil: remove
}

// buildTrie writes a version-1 tree holding exactly entries; paths must be
// unique. Only tests and benchmarks write version 1 now.
func buildTrie(ctx context.Context, p Putter, entries []Entry) (objects.ID, error) {
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
	id, _, err := buildTrieNode(ctx, p, ks, 0)
	return id, err
}

func sortKeyed(ks []keyed) {
	sort.Slice(ks, func(i, j int) bool {
		return string(ks[i].key[:]) < string(ks[j].key[:])
	})
}

// buildTrieNode writes the canonical subtree at depth for ks, which is sorted by key.
func buildTrieNode(ctx context.Context, p Putter, ks []keyed, depth int) (objects.ID, int, error) {
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
		id, c, err := buildTrieNode(ctx, p, ks[start:end], depth+1)
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

// applyTrie writes the version-1 tree that results from applying changes
// to root. Only the paths from the root to changed leaves are rewritten.
func applyTrie(ctx context.Context, s Store, root objects.ID, changes []Change) (objects.ID, error) {
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
	n, err := loadTrie(ctx, s, id)
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
		return buildTrieNode(ctx, s, merged, depth)
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
			if err := walkTrie(ctx, s, c.ID, func(e Entry) error {
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

// getTrie returns the record at path in a version-1 tree.
func getTrie(ctx context.Context, g Getter, root objects.ID, path string) (Entry, bool, error) {
	key := keyOf(path)
	id := root
	for depth := 0; ; depth++ {
		n, err := loadTrie(ctx, g, id)
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

// walkTrie calls fn for every record under a version-1 root, in trie
// order (not path order).
func walkTrie(ctx context.Context, g Getter, root objects.ID, fn func(Entry) error) error {
	return walkNodesTrie(ctx, g, root, func(_ objects.ID, entries []Entry) (bool, error) {
		for _, e := range entries {
			if err := fn(e); err != nil {
				return false, err
			}
		}
		return true, nil
	})
}

// walkNodesTrie visits the objects of a version-1 tree, as WalkNodes.
func walkNodesTrie(ctx context.Context, g Getter, root objects.ID, visit func(id objects.ID, leaf []Entry) (bool, error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	n, err := loadTrie(ctx, g, root)
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
		if err := walkNodesTrie(ctx, g, c.ID, visit); err != nil {
			return err
		}
	}
	return nil
}

// sortedTrie returns every record of a version-1 tree sorted by path.
func sortedTrie(ctx context.Context, g Getter, root objects.ID) ([]Entry, error) {
	var out []Entry
	if err := walkTrie(ctx, g, root, func(e Entry) error {
		out = append(out, e)
		return nil
	}); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}
