package tree

import (
	"context"
	"fmt"
	"strings"

	"github.com/pkgvc/pkgvc/objects"
)

// ApplySorted writes the tree that results from applying a stream of
// changes to root, as Apply does, for change sets too large to hold:
// changes yields them in strictly increasing path order (an out of order
// or repeated path is an error), and they are merged with root's records
// as they come. It holds one leaf of root and one pending node per level,
// whatever the sizes. Leaves of root that no change falls in are kept as
// they are, not written again; every leaf of root is read. A record that
// would be a file over a directory, or lie under a file, is refused with
// ErrPathConflict unless the other side is removed by the same changes.
// With no change that alters a record, root is returned as it is.
func ApplySorted(ctx context.Context, s Store, root objects.ID, changes func(yield func(Change) error) error) (objects.ID, error) {
	old, err := newLeafCursor(ctx, s, root)
	if err != nil {
		return objects.ID{}, err
	}
	m := &merger{ctx: ctx, old: old, out: newLevels(ctx, s)}
	prev := ""
	first := true
	err = changes(func(c Change) error {
		if c.Path == "" {
			return fmt.Errorf("change for an empty path")
		}
		if c.Entry != nil && c.Entry.Path != c.Path {
			return fmt.Errorf("change for %q carries record for %q", c.Path, c.Entry.Path)
		}
		if !first && c.Path <= prev {
			return fmt.Errorf("changes out of order: %q after %q", c.Path, prev)
		}
		first, prev = false, c.Path
		return m.change(c)
	})
	if err != nil {
		return objects.ID{}, err
	}
	if err := m.copyOld(""); err != nil {
		return objects.ID{}, err
	}
	if !m.touched {
		return root, nil
	}
	return m.out.finish()
}

// merger merges a sorted stream of changes with the old tree's records.
type merger struct {
	ctx     context.Context
	old     *leafCursor
	out     *levels
	stack   []stacked // paths each a prefix of the next: possible directories of the next path
	touched bool      // a change altered a record
	n       int
}

type stacked struct {
	path    string
	changed bool
}

// change copies the old records before c, then applies c.
func (m *merger) change(c Change) error {
	if err := m.copyOld(c.Path); err != nil {
		return err
	}
	e, had, err := m.old.peek()
	if err != nil {
		return err
	}
	had = had && e.Path == c.Path
	if had {
		m.old.skip()
	}
	if c.Entry == nil {
		m.touched = m.touched || had
		return nil
	}
	m.touched = m.touched || !had || !e.Equal(*c.Entry)
	return m.add(c.Entry, true)
}

// copyOld copies the old records with paths before to ("" for all),
// reusing whole leaves when the output is at a node boundary.
func (m *merger) copyOld(to string) error {
	for {
		if err := m.old.settle(); err != nil {
			return err
		}
		if m.old.atLeafStart() && m.out.leafFresh() {
			leaf, k, ok, err := m.old.wholeLeaf()
			if err != nil {
				return err
			}
			if ok && (to == "" || k.Last < to) && reusable(leaf) {
				for i := range leaf.Entries {
					if err := m.check(&leaf.Entries[i], false); err != nil {
						return err
					}
				}
				m.old.nextLeaf()
				if err := m.out.addLeaf(k); err != nil {
					return err
				}
				continue
			}
		}
		e, ok, err := m.old.peek()
		if err != nil || !ok || (to != "" && e.Path >= to) {
			return err
		}
		m.old.skip()
		if err := m.add(&e, false); err != nil {
			return err
		}
	}
}

// reusable reports whether a leaf, started fresh, would be cut exactly
// where it ends: its last record is a boundary, or it is full. The last
// leaf of a tree may end without either, and is then chunked again.
func reusable(n *pnode) bool {
	l := len(n.Entries)
	return l > 0 && (l >= MaxItems || boundary(n.Entries[l-1].Path, 0))
}

// check refuses e if it clashes, as file and directory, with a record
// before it, unless neither was changed (clashes accepted before stay).
func (m *merger) check(e *Entry, changed bool) error {
	for len(m.stack) > 0 && !strings.HasPrefix(e.Path, m.stack[len(m.stack)-1].path) {
		m.stack = m.stack[:len(m.stack)-1]
	}
	for _, d := range m.stack {
		if e.Path[len(d.path)] == '/' && (changed || d.changed) {
			return conflict(d.path, e.Path)
		}
	}
	m.stack = append(m.stack, stacked{e.Path, changed})
	return nil
}

func (m *merger) add(e *Entry, changed bool) error {
	if err := m.check(e, changed); err != nil {
		return err
	}
	m.n++
	if m.n%4096 == 0 {
		if err := m.ctx.Err(); err != nil {
			return err
		}
	}
	return m.out.addEntry(e)
}

// levels builds a tree bottom up from its records in order, one chunker
// per level. Each level holds back the last node it wrote, so that the
// root is known at the end: the first level that wrote one node only.
type levels struct {
	ctx   context.Context
	p     Putter
	cs    []*chunker
	held  []*kid // per level: the last node written, not yet given to the level above
	wrote []int  // per level: nodes written (or reused)
}

func newLevels(ctx context.Context, p Putter) *levels {
	return &levels{ctx: ctx, p: p}
}

func (l *levels) chunker(level int) *chunker {
	for len(l.cs) <= level {
		l.cs = append(l.cs, &chunker{ctx: l.ctx, p: l.p, level: len(l.cs)})
		l.held = append(l.held, nil)
		l.wrote = append(l.wrote, 0)
	}
	return l.cs[level]
}

func (l *levels) leafFresh() bool { return l.chunker(0).fresh() }

func (l *levels) addEntry(e *Entry) error {
	c := l.chunker(0)
	if err := c.add(&item{key: e.Path, e: e}); err != nil {
		return err
	}
	return l.drain(0)
}

// addLeaf takes a leaf written before as the next node of level 0.
func (l *levels) addLeaf(k kid) error {
	c := l.chunker(0)
	c.out = append(c.out, k)
	return l.drain(0)
}

// drain passes the nodes level wrote to the level above, holding back the last.
func (l *levels) drain(level int) error {
	c := l.cs[level]
	if len(c.out) == 0 {
		return nil
	}
	// Only this level's chunker appends to c.out, and not while the
	// levels above take its nodes.
	out := c.out
	for i := range out {
		l.wrote[level]++
		if h := l.held[level]; h != nil {
			up := l.chunker(level + 1)
			if err := up.add(&item{key: h.Last, k: *h}); err != nil {
				return err
			}
			if err := l.drain(level + 1); err != nil {
				return err
			}
		}
		k := out[i]
		l.held[level] = &k
	}
	c.out = out[:0]
	return nil
}

// finish flushes every level and returns the root.
func (l *levels) finish() (objects.ID, error) {
	for level := 0; ; level++ {
		c := l.chunker(level)
		if err := c.flush(); err != nil {
			return objects.ID{}, err
		}
		if err := l.drain(level); err != nil {
			return objects.ID{}, err
		}
		switch {
		case l.wrote[level] == 0 && level == 0:
			return writeEmpty(l.ctx, l.p)
		case l.wrote[level] == 1:
			return l.held[level].ID, nil
		}
		// Several nodes: the last goes up, and the level above ends too.
		up := l.chunker(level + 1)
		h := l.held[level]
		if err := up.add(&item{key: h.Last, k: *h}); err != nil {
			return objects.ID{}, err
		}
		l.held[level] = nil
		if err := l.drain(level + 1); err != nil {
			return objects.ID{}, err
		}
	}
}

// leafCursor reads the records of a tree in order, a leaf at a time.
type leafCursor struct {
	r     *reader
	stack []cursorFrame // inner nodes from the root down, at the child being read
	leaf  *pnode
	kid   kid // the leaf's reference
	i     int // next record of leaf
	done  bool
	flat  []Entry // a version-1 tree, sorted whole
}

type cursorFrame struct {
	n *pnode
	i int
}

func newLeafCursor(ctx context.Context, g Getter, root objects.ID) (*leafCursor, error) {
	v1, n, err := loadAny(ctx, g, root)
	if err != nil {
		return nil, err
	}
	c := &leafCursor{r: newReader(ctx, g, false)}
	if v1 != nil {
		if c.flat, err = sortedTrie(ctx, g, root); err != nil {
			return nil, err
		}
		c.leaf = &pnode{Entries: c.flat}
		c.i = 0
		c.done = len(c.flat) == 0
		return c, nil
	}
	if n.Level == 0 {
		c.leaf = n
		c.kid = kid{ID: root, Count: len(n.Entries)}
		if len(n.Entries) > 0 {
			c.kid.First, c.kid.Last = n.Entries[0].Path, n.Entries[len(n.Entries)-1].Path
		}
		c.done = len(n.Entries) == 0
		return c, nil
	}
	c.stack = []cursorFrame{{n: n, i: -1}}
	return c, c.descend()
}

// descend moves to the next leaf after the current one.
func (c *leafCursor) descend() error {
	for len(c.stack) > 0 {
		top := &c.stack[len(c.stack)-1]
		top.i++
		if top.i >= len(top.n.Kids) {
			c.stack = c.stack[:len(c.stack)-1]
			continue
		}
		child, err := c.r.child(top.n, top.i)
		if err != nil {
			return err
		}
		if child.Level == 0 {
			c.leaf, c.kid, c.i = child, top.n.Kids[top.i], 0
			return nil
		}
		c.stack = append(c.stack, cursorFrame{n: child, i: -1})
	}
	c.leaf, c.done = nil, true
	return nil
}

func (c *leafCursor) atLeafStart() bool { return !c.done && c.i == 0 && c.flat == nil }

// wholeLeaf returns the current leaf and its reference.
func (c *leafCursor) wholeLeaf() (*pnode, kid, bool, error) {
	if c.done || c.flat != nil {
		return nil, kid{}, false, nil
	}
	return c.leaf, c.kid, true, nil
}

// nextLeaf moves past the whole current leaf.
func (c *leafCursor) nextLeaf() {
	c.i = len(c.leaf.Entries)
}

// settle moves past an exhausted leaf to the next one with records.
func (c *leafCursor) settle() error {
	for !c.done && c.i >= len(c.leaf.Entries) {
		if c.flat != nil || len(c.stack) == 0 {
			c.done = true
			break
		}
		if err := c.descend(); err != nil {
			return err
		}
	}
	return nil
}

// peek returns the next record, if any.
func (c *leafCursor) peek() (Entry, bool, error) {
	if err := c.settle(); err != nil {
		return Entry{}, false, err
	}
	if c.done {
		return Entry{}, false, nil
	}
	return c.leaf.Entries[c.i], true, nil
}

func (c *leafCursor) skip() { c.i++ }
