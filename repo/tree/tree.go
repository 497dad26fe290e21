package tree

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

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

// Change sets (Entry non-nil) or removes (Entry nil) the record at Path.
type Change struct {
	Path  string
	Entry *Entry
}

// ErrPathConflict reports a set of records in which one path would be
// both a file and a directory: "a" and "a/b".
var ErrPathConflict = errors.New("path is both a file and a directory")

func conflict(file, under string) error {
	return fmt.Errorf("%w: %q is a file, so %q cannot lie under it", ErrPathConflict, file, under)
}

// reader reads version-2 nodes, remembering them when memo is set, so a
// run of seeks from the root reads each node once.
type reader struct {
	ctx  context.Context
	g    Getter
	memo map[objects.ID]*pnode
}

func newReader(ctx context.Context, g Getter, memo bool) *reader {
	r := &reader{ctx: ctx, g: g}
	if memo {
		r.memo = map[objects.ID]*pnode{}
	}
	return r
}

// loadAny reads one object of either version; the zero id is the empty
// tree.
func loadAny(ctx context.Context, g Getter, id objects.ID) (*node, *pnode, error) {
	if id.IsZero() {
		return nil, &pnode{}, nil
	}
	data, err := g.GetObject(ctx, id)
	if err != nil {
		return nil, nil, fmt.Errorf("read tree %s: %w", id, err)
	}
	if isV1(data) {
		n, err := decode(data)
		if err != nil {
			return nil, nil, fmt.Errorf("tree %s: %w", id, err)
		}
		return n, nil, nil
	}
	n, err := decode2(data)
	if err != nil {
		return nil, nil, fmt.Errorf("tree %s: %w", id, err)
	}
	return nil, n, nil
}

// node reads a version-2 node.
func (r *reader) node(id objects.ID) (*pnode, error) {
	if n, ok := r.memo[id]; ok {
		return n, nil
	}
	if err := r.ctx.Err(); err != nil {
		return nil, err
	}
	v1, n, err := loadAny(r.ctx, r.g, id)
	if err != nil {
		return nil, err
	}
	if v1 != nil {
		return nil, fmt.Errorf("tree %s: %w: a version-1 node inside a version-2 tree", id, ErrCorrupt)
	}
	if r.memo != nil {
		r.memo[id] = n
	}
	return n, nil
}

// child reads the i-th child of n and checks it against n's reference.
func (r *reader) child(n *pnode, i int) (*pnode, error) {
	k := n.Kids[i]
	c, err := r.node(k.ID)
	if err != nil {
		return nil, err
	}
	if c.Level != n.Level-1 || c.items() == 0 || c.firstKey() != k.First || c.key(c.items()-1) != k.Last || c.count() != k.Count {
		return nil, errNodeMismatch(k.ID)
	}
	return c, nil
}

// Format returns the encoding version of the tree at root: 1 for a
// hash trie (read only, unordered: ranges and listings sort it whole), 2
// for an ordered tree. The zero id, the empty tree, is version 2.
func Format(ctx context.Context, g Getter, root objects.ID) (int, error) {
	v1, _, err := loadAny(ctx, g, root)
	if err != nil {
		return 0, err
	}
	if v1 != nil {
		return version1, nil
	}
	return version2, nil
}

// Empty writes the tree with no records and returns its id.
func Empty(ctx context.Context, p Putter) (objects.ID, error) {
	return Build(ctx, p, nil)
}

// Get returns the record at path.
func Get(ctx context.Context, g Getter, root objects.ID, path string) (Entry, bool, error) {
	v1, n, err := loadAny(ctx, g, root)
	if err != nil {
		return Entry{}, false, err
	}
	if v1 != nil {
		return getTrie(ctx, g, root, path)
	}
	e, ok, err := newReader(ctx, g, false).get(n, path)
	return detach(e), ok, err
}

// detach copies a record's strings out of the node they were cut from,
// so that a caller keeping one record (a lookup cache) keeps its bytes,
// not its node's.
func detach(e Entry) Entry {
	e.Path = strings.Clone(e.Path)
	if e.Metadata != nil {
		m := make(map[string]string, len(e.Metadata))
		for k, v := range e.Metadata {
			m[strings.Clone(k)] = strings.Clone(v)
		}
		e.Metadata = m
	}
	return e
}

func (r *reader) get(n *pnode, path string) (Entry, bool, error) {
	for n.Level > 0 {
		i := sort.Search(len(n.Kids), func(i int) bool { return n.Kids[i].Last >= path })
		if i == len(n.Kids) || path < n.Kids[i].First {
			return Entry{}, false, nil
		}
		var err error
		if n, err = r.child(n, i); err != nil {
			return Entry{}, false, err
		}
	}
	i := sort.Search(len(n.Entries), func(i int) bool { return n.Entries[i].Path >= path })
	if i < len(n.Entries) && n.Entries[i].Path == path {
		return n.Entries[i], true, nil
	}
	return Entry{}, false, nil
}

// Count returns the number of records under root.
func Count(ctx context.Context, g Getter, root objects.ID) (int, error) {
	v1, n, err := loadAny(ctx, g, root)
	if err != nil {
		return 0, err
	}
	if v1 != nil {
		return v1.Count, nil
	}
	return n.count(), nil
}

// Walk calls fn for every record under root in path order.
func Walk(ctx context.Context, g Getter, root objects.ID, fn func(Entry) error) error {
	return Range(ctx, g, root, "", "", fn)
}

// Range calls fn, in path order, for every record whose path p has
// from <= p < to; an empty to has no upper bound. It reads O(log n) nodes
// besides those holding the records it yields.
func Range(ctx context.Context, g Getter, root objects.ID, from, to string, fn func(Entry) error) error {
	v1, n, err := loadAny(ctx, g, root)
	if err != nil {
		return err
	}
	if v1 != nil {
		// A version-1 trie is ordered by digest: sort it.
		all, err := sortedTrie(ctx, g, root)
		if err != nil {
			return err
		}
		for _, e := range all[sort.Search(len(all), func(i int) bool { return all[i].Path >= from }):] {
			if to != "" && e.Path >= to {
				break
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		return nil
	}
	return newReader(ctx, g, false).scan(n, from, to, fn)
}

func (r *reader) scan(n *pnode, from, to string, fn func(Entry) error) error {
	if n.Level == 0 {
		for _, e := range n.Entries[sort.Search(len(n.Entries), func(i int) bool { return n.Entries[i].Path >= from }):] {
			if to != "" && e.Path >= to {
				return nil
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		return nil
	}
	for i := sort.Search(len(n.Kids), func(i int) bool { return n.Kids[i].Last >= from }); i < len(n.Kids); i++ {
		if to != "" && n.Kids[i].First >= to {
			return nil
		}
		c, err := r.child(n, i)
		if err != nil {
			return err
		}
		if err := r.scan(c, from, to, fn); err != nil {
			return err
		}
	}
	return nil
}

// Prefix calls fn, in path order, for every record whose path starts with
// prefix.
func Prefix(ctx context.Context, g Getter, root objects.ID, prefix string, fn func(Entry) error) error {
	if prefix == "" {
		return Walk(ctx, g, root, fn)
	}
	end, ok := prefixEnd(prefix)
	if !ok {
		end = ""
	}
	return Range(ctx, g, root, prefix, end, fn)
}

// prefixEnd returns the least string greater than every string starting
// with prefix; false when there is none (prefix is all 0xff bytes).
func prefixEnd(prefix string) (string, bool) {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// List calls fn, in path order (a directory sorts as its name and '/'), for each immediate child of directory dir
// ("" is the root; a trailing '/' is ignored): a record in dir (isDir
// false, e set) or a subdirectory (isDir true, e nil), each once. It seeks
// past every subdirectory instead of reading it, so it reads
// O(children·log n) nodes, whatever the subdirectories hold.
func List(ctx context.Context, g Getter, root objects.ID, dir string, fn func(name string, isDir bool, e *Entry) error) error {
	prefix := strings.TrimSuffix(dir, "/")
	if prefix != "" {
		prefix += "/"
	}
	end, bounded := prefixEnd(prefix)
	if prefix == "" || !bounded {
		end = ""
	}
	v1, n, err := loadAny(ctx, g, root)
	if err != nil {
		return err
	}
	if v1 != nil {
		var last string
		return Range(ctx, g, root, prefix, end, func(e Entry) error {
			name, isDir := childName(prefix, e.Path)
			if isDir && name == last {
				return nil
			}
			last = name
			if isDir {
				return fn(name, true, nil)
			}
			return fn(name, false, &e)
		})
	}
	r := newReader(ctx, g, true)
	from := prefix
	for {
		e, ok, err := r.first(n, from, end)
		if err != nil || !ok {
			return err
		}
		name, isDir := childName(prefix, e.Path)
		if isDir {
			if err := fn(name, true, nil); err != nil {
				return err
			}
			// '0' follows '/': the first path after everything in name/.
			from = prefix + name + "0"
			continue
		}
		if err := fn(name, false, &e); err != nil {
			return err
		}
		from = e.Path + "\x00"
	}
}

// childName splits a path under prefix into the name of dir's child it lies
// in and whether that child is a directory.
func childName(prefix, p string) (string, bool) {
	rest := p[len(prefix):]
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[:i], true
	}
	return rest, false
}

// first returns the first record with from <= path < to ("" unbounded).
func (r *reader) first(n *pnode, from, to string) (Entry, bool, error) {
	if n.Level == 0 {
		i := sort.Search(len(n.Entries), func(i int) bool { return n.Entries[i].Path >= from })
		if i == len(n.Entries) || to != "" && n.Entries[i].Path >= to {
			return Entry{}, false, nil
		}
		return n.Entries[i], true, nil
	}
	// The first child whose last path is >= from holds the answer, if any.
	i := sort.Search(len(n.Kids), func(i int) bool { return n.Kids[i].Last >= from })
	if i == len(n.Kids) || to != "" && n.Kids[i].First >= to {
		return Entry{}, false, nil
	}
	c, err := r.child(n, i)
	if err != nil {
		return Entry{}, false, err
	}
	return r.first(c, from, to)
}

// Sorted returns every record under root sorted by path.
func Sorted(ctx context.Context, g Getter, root objects.ID) ([]Entry, error) {
	v1, n, err := loadAny(ctx, g, root)
	if err != nil {
		return nil, err
	}
	if v1 != nil {
		return sortedTrie(ctx, g, root)
	}
	out := make([]Entry, 0, n.count())
	if err := newReader(ctx, g, false).scan(n, "", "", func(e Entry) error {
		out = append(out, e)
		return nil
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// WalkNodes calls visit for every tree object under root, with the records of
// a leaf (nil for an inner node). It descends into an inner node's children
// only when visit returns true, so a mark phase can skip subtrees it has seen.
func WalkNodes(ctx context.Context, g Getter, root objects.ID, visit func(id objects.ID, leaf []Entry) (bool, error)) error {
	v1, n, err := loadAny(ctx, g, root)
	if err != nil {
		return err
	}
	if v1 != nil {
		return walkNodesTrie(ctx, g, root, visit)
	}
	return newReader(ctx, g, false).walkNodes(root, n, visit)
}

func (r *reader) walkNodes(id objects.ID, n *pnode, visit func(id objects.ID, leaf []Entry) (bool, error)) error {
	descend, err := visit(id, n.Entries)
	if err != nil || !descend || n.Level == 0 {
		return err
	}
	for i := range n.Kids {
		c, err := r.child(n, i)
		if err != nil {
			return err
		}
		if err := r.walkNodes(n.Kids[i].ID, c, visit); err != nil {
			return err
		}
	}
	return nil
}

// ReadNode reads one tree object: a leaf's records, or an inner node's
// children. Callers that must survive damaged subtrees (fsck) walk with it.
func ReadNode(ctx context.Context, g Getter, id objects.ID) (leaf []Entry, children []objects.ID, err error) {
	v1, n, err := loadAny(ctx, g, id)
	if err != nil {
		return nil, nil, err
	}
	if v1 != nil {
		if v1.Leaf {
			return v1.Entries, nil, nil
		}
		for _, c := range v1.Children {
			if c.Count > 0 {
				children = append(children, c.ID)
			}
		}
		return nil, children, nil
	}
	if n.Level == 0 {
		return n.Entries, nil, nil
	}
	for _, k := range n.Kids {
		children = append(children, k.ID)
	}
	return nil, children, nil
}
