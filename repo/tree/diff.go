package tree

import (
	"context"

	"github.com/pkgvc/pkgvc/objects"
)

// Diff calls fn for every path whose record differs between trees a and b:
// old is nil for an added path, new is nil for a removed one. Subtrees with
// equal ids are skipped without being read, so the cost follows the size of
// the difference. Paths come in trie order.
func Diff(ctx context.Context, g Getter, a, b objects.ID, fn func(old, new *Entry) error) error {
	if a == b {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	na, err := load(ctx, g, a)
	if err != nil {
		return err
	}
	nb, err := load(ctx, g, b)
	if err != nil {
		return err
	}
	if !na.Leaf && !nb.Leaf {
		for i := 0; i < fanout; i++ {
			ca, cb := na.Children[i], nb.Children[i]
			if err := Diff(ctx, g, ca.ID, cb.ID, fn); err != nil {
				return err
			}
		}
		return nil
	}
	ea, err := entriesOf(ctx, g, na)
	if err != nil {
		return err
	}
	eb, err := entriesOf(ctx, g, nb)
	if err != nil {
		return err
	}
	old := make(map[string]*Entry, len(ea))
	for i := range ea {
		old[ea[i].Path] = &ea[i]
	}
	for i := range eb {
		e := &eb[i]
		o, ok := old[e.Path]
		delete(old, e.Path)
		if ok && o.Equal(*e) {
			continue
		}
		if err := fn(o, e); err != nil {
			return err
		}
	}
	for _, o := range ea {
		if _, ok := old[o.Path]; ok {
			if err := fn(old[o.Path], nil); err != nil {
				return err
			}
		}
	}
	return nil
}

func entriesOf(ctx context.Context, g Getter, n *node) ([]Entry, error) {
	if n.Leaf {
		return n.Entries, nil
	}
	var out []Entry
	for _, c := range n.Children {
		if c.Count == 0 {
			continue
		}
		if err := Walk(ctx, g, c.ID, func(e Entry) error {
			out = append(out, e)
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return out, nil
}
