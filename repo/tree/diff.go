package tree

import (
	"context"
	"fmt"

	"github.com/pkgvc/pkgvc/objects"
)

// Diff calls fn for every path whose record differs between trees a and b:
// old is nil for an added path, new is nil for a removed one. Subtrees with
// equal ids are skipped without being read, so the cost follows the size of
// the difference. Paths come in path order, except between two version-1
// trees (digest order). A version-1 tree against a version-2 one is
// compared record by record.
func Diff(ctx context.Context, g Getter, a, b objects.ID, fn func(old, new *Entry) error) error {
	if a == b {
		return nil
	}
	a1, na, err := loadAny(ctx, g, a)
	if err != nil {
		return err
	}
	b1, nb, err := loadAny(ctx, g, b)
	if err != nil {
		return err
	}
	switch {
	case a1 != nil && b1 != nil:
		return diffTrie(ctx, g, a, b, fn)
	case a1 != nil || b1 != nil:
		ea, err := Sorted(ctx, g, a)
		if err != nil {
			return err
		}
		eb, err := Sorted(ctx, g, b)
		if err != nil {
			return err
		}
		return diffSorted(ea, eb, fn)
	}
	r := newReader(ctx, g, false)
	sa := &stream{r: r, items: []sitem{rootItem(a, na)}}
	sb := &stream{r: r, items: []sitem{rootItem(b, nb)}}
	return diffStreams(sa, sb, fn)
}

// diffSorted compares two record lists sorted by path.
func diffSorted(a, b []Entry, fn func(old, new *Entry) error) error {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i].Path < b[j].Path:
			if err := fn(&a[i], nil); err != nil {
				return err
			}
			i++
		case i == len(a) || b[j].Path < a[i].Path:
			if err := fn(nil, &b[j]); err != nil {
				return err
			}
			j++
		default:
			if !a[i].Equal(b[j]) {
				if err := fn(&a[i], &b[j]); err != nil {
					return err
				}
			}
			i++
			j++
		}
	}
	return nil
}

// sitem is a subtree (level >= 0) or a record (level -1) still to compare.
type sitem struct {
	level       int
	id          objects.ID
	first, last string
	node        *pnode // set for a root already read
	e           *Entry
}

func rootItem(id objects.ID, n *pnode) sitem {
	it := sitem{level: n.Level, id: id, node: n}
	if n.items() > 0 {
		it.first, it.last = n.firstKey(), n.key(n.items()-1)
	}
	return it
}

// stream is what is left of one tree, in path order: a stack whose top
// (the end) comes first.
type stream struct {
	r     *reader
	items []sitem
}

func (s *stream) head() (sitem, bool) {
	if len(s.items) == 0 {
		return sitem{}, false
	}
	return s.items[len(s.items)-1], true
}

func (s *stream) pop() { s.items = s.items[:len(s.items)-1] }

// expand replaces the head subtree with its children or records.
func (s *stream) expand() error {
	it := s.items[len(s.items)-1]
	s.pop()
	n := it.node
	if n == nil {
		var err error
		if n, err = s.r.node(it.id); err != nil {
			return err
		}
		if n.Level != it.level || n.items() == 0 || n.firstKey() != it.first || n.key(n.items()-1) != it.last {
			return errNodeMismatch(it.id)
		}
	}
	if n.Level == 0 {
		for i := len(n.Entries) - 1; i >= 0; i-- {
			s.items = append(s.items, sitem{level: -1, first: n.Entries[i].Path, last: n.Entries[i].Path, e: &n.Entries[i]})
		}
		return nil
	}
	for i := len(n.Kids) - 1; i >= 0; i-- {
		k := n.Kids[i]
		s.items = append(s.items, sitem{level: n.Level - 1, id: k.ID, first: k.First, last: k.Last})
	}
	return nil
}

func errNodeMismatch(id objects.ID) error {
	return fmt.Errorf("tree %s: %w: node does not match its parent's reference", id, ErrCorrupt)
}

// diffStreams walks two trees side by side. Equal subtrees at the head of
// both are skipped unread; a subtree whose range lies wholly before the
// other's head is all added or removed; otherwise the taller head is
// opened (both when they stand at one level), until records meet.
func diffStreams(a, b *stream, fn func(old, new *Entry) error) error {
	for {
		if err := a.r.ctx.Err(); err != nil {
			return err
		}
		ha, okA := a.head()
		hb, okB := b.head()
		switch {
		case !okA && !okB:
			return nil
		case okA && okB && ha.level >= 0 && hb.level >= 0 && ha.id == hb.id:
			a.pop()
			b.pop()
			continue
		case okA && ha.level >= 0 && ha.last == "": // an empty tree
			a.pop()
			continue
		case okB && hb.level >= 0 && hb.last == "":
			b.pop()
			continue
		}
		// The side whose head lies wholly before the other's goes alone.
		aOnly := !okB || okA && ha.last < hb.first
		bOnly := !okA || okB && hb.last < ha.first
		switch {
		case aOnly && ha.level < 0:
			if err := fn(ha.e, nil); err != nil {
				return err
			}
			a.pop()
		case bOnly && hb.level < 0:
			if err := fn(nil, hb.e); err != nil {
				return err
			}
			b.pop()
		case aOnly:
			if err := a.expand(); err != nil {
				return err
			}
		case bOnly:
			if err := b.expand(); err != nil {
				return err
			}
		case ha.level < 0 && hb.level < 0: // one path on both sides
			if !ha.e.Equal(*hb.e) {
				if err := fn(ha.e, hb.e); err != nil {
					return err
				}
			}
			a.pop()
			b.pop()
		default:
			la, lb := ha.level, hb.level
			if la >= lb {
				if err := a.expand(); err != nil {
					return err
				}
			}
			if lb >= la {
				if err := b.expand(); err != nil {
					return err
				}
			}
		}
	}
}
