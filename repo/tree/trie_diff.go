package tree

import (
	"context"

	"github.com/pkgvc/pkgvc/objects"
)

// diffTrie diffs two version-1 trees, in trie order.
func diffTrie(ctx context.Context, g Getter, a, b objects.ID, fn func(old, new *Entry) error) error {
	if a == b {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	na, err := loadTrie(ctx, g, a)
	if err != nil {
		return err
	}
	nb, err := loadTrie(ctx, g, b)
	if err != nil {
		return err
	}
	if !na.Leaf && !nb.Leaf {
		for i := 0; i < fanout; i++ {
			ca, cb := na.Children[i], nb.Children[i]
			if err := diffTrie(ctx, g, ca.ID, cb.ID, fn); err != nil {
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
		if err := walkTrie(ctx, g, c.ID, func(e Entry) error {
			out = append(out, e)
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return out, nil
}
