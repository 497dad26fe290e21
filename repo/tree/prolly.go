package tree

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/pkgvc/pkgvc/objects"
)

// item is one entry of a level: a record at level 0, a child reference
// above, keyed by its (last) path.
type item struct {
	key string
	e   *Entry // level 0
	k   kid    // level > 0
}

// edit sets (it non-nil) or removes the item with key at one level.
type edit struct {
	key string
	it  *item
}

// chunker cuts a level's items, in key order, into nodes and writes them.
type chunker struct {
	ctx     context.Context
	p       Putter
	level   int
	entries []Entry
	kids    []kid
	out     []kid                     // the nodes written, in order
	single  map[objects.ID]objects.ID // written inner nodes with one child, if kept
}

func (c *chunker) add(it *item) error {
	var n int
	if c.level == 0 {
		c.entries = append(c.entries, *it.e)
		n = len(c.entries)
	} else {
		c.kids = append(c.kids, it.k)
		n = len(c.kids)
	}
	if n >= MaxItems || boundary(it.key, c.level) {
		return c.flush()
	}
	return nil
}

// fresh reports whether the next item starts a node.
func (c *chunker) fresh() bool { return len(c.entries) == 0 && len(c.kids) == 0 }

// flush writes the pending items as a node.
func (c *chunker) flush() error {
	if c.fresh() {
		return nil
	}
	var data []byte
	var k kid
	var err error
	if c.level == 0 {
		data, err = encodeLeaf2(c.entries)
		k = kid{Count: len(c.entries), First: c.entries[0].Path, Last: c.entries[len(c.entries)-1].Path}
		clear(c.entries)
		c.entries = c.entries[:0]
	} else {
		data, err = encodeInner2(c.level, c.kids)
		k = kid{First: c.kids[0].First, Last: c.kids[len(c.kids)-1].Last}
		for _, x := range c.kids {
			k.Count += x.Count
		}
		if c.single != nil && len(c.kids) == 1 {
			defer func(only objects.ID) { c.single[k.ID] = only }(c.kids[0].ID)
		}
		c.kids = c.kids[:0]
	}
	if err != nil {
		return err
	}
	res, err := c.p.PutObject(c.ctx, data)
	if err != nil {
		return fmt.Errorf("write tree object: %w", err)
	}
	k.ID = res.ID
	c.out = append(c.out, k)
	return nil
}

// Build writes a tree holding exactly entries. Paths must be unique, and
// none may be a directory of another ("a" and "a/b"): that is
// ErrPathConflict.
func Build(ctx context.Context, p Putter, entries []Entry) (objects.ID, error) {
	sorted := slices.IsSortedFunc(entries, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
	var order []int32
	if !sorted {
		order = make([]int32, len(entries))
		for i := range order {
			order[i] = int32(i)
		}
		slices.SortFunc(order, func(a, b int32) int { return strings.Compare(entries[a].Path, entries[b].Path) })
	}
	at := func(i int) *Entry {
		if sorted {
			return &entries[i]
		}
		return &entries[order[i]]
	}
	return build(ctx, p, len(entries), at, nil)
}

// build writes the tree of the n records at(0) < at(1) < ... . A pair of
// paths that clash as file and directory is refused when changed is nil
// or names one of them.
func build(ctx context.Context, p Putter, n int, at func(int) *Entry, changed map[string]bool) (objects.ID, error) {
	c := &chunker{ctx: ctx, p: p}
	var stack []string // paths each a prefix of the next: the possible directories of the next path
	for i := 0; i < n; i++ {
		e := at(i)
		if i > 0 && at(i-1).Path == e.Path {
			return objects.ID{}, fmt.Errorf("duplicate path %q", e.Path)
		}
		for len(stack) > 0 && !strings.HasPrefix(e.Path, stack[len(stack)-1]) {
			stack = stack[:len(stack)-1]
		}
		for _, d := range stack {
			if e.Path[len(d)] == '/' && (changed == nil || changed[d] || changed[e.Path]) {
				return objects.ID{}, conflict(d, e.Path)
			}
		}
		stack = append(stack, e.Path)
		if err := c.add(&item{key: e.Path, e: e}); err != nil {
			return objects.ID{}, err
		}
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return objects.ID{}, err
			}
		}
	}
	if err := c.flush(); err != nil {
		return objects.ID{}, err
	}
	if len(c.out) == 0 {
		return writeEmpty(ctx, p)
	}
	return buildLevels(ctx, p, c.out, 1, nil)
}

func writeEmpty(ctx context.Context, p Putter) (objects.ID, error) {
	data, err := encodeLeaf2(nil)
	if err != nil {
		return objects.ID{}, err
	}
	res, err := p.PutObject(ctx, data)
	if err != nil {
		return objects.ID{}, fmt.Errorf("write tree object: %w", err)
	}
	return res.ID, nil
}

// buildLevels chunks the complete list of nodes of level-1 into levels
// above it until one node, the root, remains.
func buildLevels(ctx context.Context, p Putter, refs []kid, level int, single map[objects.ID]objects.ID) (objects.ID, error) {
	for len(refs) > 1 {
		c := &chunker{ctx: ctx, p: p, level: level, single: single}
		for i := range refs {
			if err := c.add(&item{key: refs[i].Last, k: refs[i]}); err != nil {
				return objects.ID{}, err
			}
		}
		if err := c.flush(); err != nil {
			return objects.ID{}, err
		}
		refs, level = c.out, level+1
	}
	return refs[0].ID, nil
}

// Apply writes the tree that results from applying changes to root and
// returns its id. Only the nodes holding changed records, and their
// ancestors, are rewritten, plus the neighbours a moved boundary merges
// them with: O(k·log n) objects for k changes. Removing an absent path is
// not an error; callers that care look it up first. A record whose path
// would be a directory of another record, or lie under another record,
// is refused with ErrPathConflict unless the same changes remove the
// other. A version-1 root is read whole and written as version 2.
func Apply(ctx context.Context, s Store, root objects.ID, changes []Change) (objects.ID, error) {
	if len(changes) == 0 {
		return root, nil
	}
	cs := slices.Clone(changes)
	for _, c := range cs {
		if c.Entry != nil && c.Entry.Path != c.Path {
			return objects.ID{}, fmt.Errorf("change for %q carries record for %q", c.Path, c.Entry.Path)
		}
		if c.Path == "" {
			return objects.ID{}, fmt.Errorf("change for an empty path")
		}
	}
	slices.SortFunc(cs, func(a, b Change) int { return strings.Compare(a.Path, b.Path) })
	for i := 1; i < len(cs); i++ {
		if cs[i].Path == cs[i-1].Path {
			return objects.ID{}, fmt.Errorf("path %q changed twice", cs[i].Path)
		}
	}
	v1, n, err := loadAny(ctx, s, root)
	if err != nil {
		return objects.ID{}, err
	}
	if v1 != nil {
		return applyConvert(ctx, s, root, cs)
	}
	r := newReader(ctx, s, true)
	if err := r.checkConflicts(n, cs); err != nil {
		return objects.ID{}, err
	}
	edits := make([]edit, len(cs))
	for i, c := range cs {
		edits[i] = edit{key: c.Path}
		if c.Entry != nil {
			edits[i].it = &item{key: c.Path, e: c.Entry}
		}
	}
	a := &applier{r: r, p: s, root: root, top: n, single: map[objects.ID]objects.ID{}, fresh: map[objects.ID]struct{}{}}
	return a.run(edits)
}

// applyConvert applies sorted changes to a version-1 tree by writing the
// whole result as version 2. Clashes between records the changes leave
// alone are kept: they were accepted before.
func applyConvert(ctx context.Context, s Store, root objects.ID, cs []Change) (objects.ID, error) {
	old, err := sortedTrie(ctx, s, root)
	if err != nil {
		return objects.ID{}, err
	}
	merged := make([]*Entry, 0, len(old)+len(cs))
	changed := make(map[string]bool, len(cs))
	i := 0
	for j := range cs {
		for i < len(old) && old[i].Path < cs[j].Path {
			merged = append(merged, &old[i])
			i++
		}
		if i < len(old) && old[i].Path == cs[j].Path {
			i++
		}
		if cs[j].Entry != nil {
			merged = append(merged, cs[j].Entry)
			changed[cs[j].Path] = true
		}
	}
	for ; i < len(old); i++ {
		merged = append(merged, &old[i])
	}
	return build(ctx, s, len(merged), func(i int) *Entry { return merged[i] }, changed)
}

// checkConflicts refuses changes that set a path under a record, or a
// record over a directory, unless the clashing records are removed by
// the same changes (sorted by path). It reads O(log n) nodes a change.
func (r *reader) checkConflicts(root *pnode, cs []Change) error {
	set := make(map[string]bool, len(cs))
	removed := make(map[string]bool)
	for _, c := range cs {
		if c.Entry != nil {
			set[c.Path] = true
		} else {
			removed[c.Path] = true
		}
	}
	for i, c := range cs {
		if c.Entry == nil {
			continue
		}
		p := c.Path
		for j := strings.IndexByte(p, '/'); j >= 0; j = next(p, j) {
			d := p[:j]
			if set[d] {
				return conflict(d, p)
			}
			if removed[d] {
				continue
			}
			if _, ok, err := r.get(root, d); err != nil {
				return err
			} else if ok {
				return conflict(d, p)
			}
		}
		dir := p + "/"
		for _, u := range cs[i+1:] {
			if u.Path >= dir && !strings.HasPrefix(u.Path, dir) {
				break
			}
			if u.Entry != nil && strings.HasPrefix(u.Path, dir) {
				return conflict(p, u.Path)
			}
		}
		end, _ := prefixEnd(dir)
		err := r.scan(root, dir, end, func(e Entry) error {
			if removed[e.Path] {
				return nil
			}
			return conflict(p, e.Path)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// next returns the index of the '/' after the one at j, or -1.
func next(p string, j int) int {
	k := strings.IndexByte(p[j+1:], '/')
	if k < 0 {
		return -1
	}
	return j + 1 + k
}

// applier rewrites the levels of one tree, bottom up.
type applier struct {
	r      *reader
	p      Putter
	root   objects.ID
	top    *pnode
	single map[objects.ID]objects.ID // written nodes with a single child -> the child
	fresh  map[objects.ID]struct{}   // nodes written
}

func (a *applier) run(edits []edit) (objects.ID, error) {
	h := a.top.Level
	for level := 0; ; level++ {
		if len(edits) == 0 {
			return a.root, nil // nothing changed from here up
		}
		out, up, touched, err := a.level(level, edits)
		if err != nil {
			return objects.ID{}, err
		}
		if level < h {
			edits = up
			continue
		}
		if !touched {
			return a.root, nil
		}
		switch len(out) {
		case 0:
			return writeEmpty(a.r.ctx, a.p)
		case 1:
			return a.collapse(out[0].ID)
		}
		return buildLevels(a.r.ctx, a.p, out, h+1, nil)
	}
}

// collapse returns the canonical root for a top node: while it has a
// single child, that child is the root.
func (a *applier) collapse(id objects.ID) (objects.ID, error) {
	for {
		if only, ok := a.single[id]; ok {
			id = only
			continue
		}
		if _, ok := a.fresh[id]; ok {
			return id, nil // written here, with records or several children
		}
		n, err := a.r.node(id)
		if err != nil {
			return objects.ID{}, err
		}
		if n.Level == 0 || len(n.Kids) > 1 {
			return id, nil
		}
		id = n.Kids[0].ID
	}
}

// level applies edits (sorted by key) to the items of one level. It
// re-chunks each run of nodes the edits touch, starting where a node
// starts and going on into the next node until a node ends where a new
// one ends, after which the old nodes stand as they were. It returns the
// nodes written, the edits they make to the level above, and whether any
// node changed.
func (a *applier) level(level int, edits []edit) ([]kid, []edit, bool, error) {
	c := &chunker{ctx: a.r.ctx, p: a.p, level: level, single: a.single}
	var up []edit
	touched := false
	for j := 0; j < len(edits); {
		n, last, err := a.seek(level, edits[j].key, false)
		if err != nil {
			return nil, nil, false, err
		}
		for {
			merged, changed, used := mergeLevel(n, edits[j:], last)
			j += used
			if !changed && c.fresh() {
				break
			}
			touched = true
			if n.items() > 0 {
				up = append(up, edit{key: n.key(n.items() - 1)})
			}
			for i := range merged {
				if err := c.add(&merged[i]); err != nil {
					return nil, nil, false, err
				}
			}
			if c.fresh() || last {
				break
			}
			if n, last, err = a.seek(level, n.key(n.items()-1), true); err != nil {
				return nil, nil, false, err
			}
		}
		if last {
			if err := c.flush(); err != nil {
				return nil, nil, false, err
			}
		}
		for _, k := range c.out {
			a.fresh[k.ID] = struct{}{}
			up = append(up, edit{key: k.Last, it: &item{key: k.Last, k: k}})
		}
		c.out = c.out[:0]
	}
	// A node written in place of one with the same last path replaces it.
	slices.SortStableFunc(up, func(x, y edit) int { return cmp.Compare(x.key, y.key) })
	out := up[:0]
	for _, e := range up {
		if len(out) > 0 && out[len(out)-1].key == e.key {
			out[len(out)-1] = e
			continue
		}
		out = append(out, e)
	}
	var nodes []kid
	for _, e := range out {
		if e.it != nil {
			nodes = append(nodes, e.it.k)
		}
	}
	return nodes, out, touched, nil
}

// seek returns the node of level holding the first item with key >= key
// (> key when strict), the last node if none does and not strict, and
// whether it is the level's last node.
func (a *applier) seek(level int, key string, strict bool) (*pnode, bool, error) {
	n, last := a.top, true
	for n.Level > level {
		i := sort.Search(len(n.Kids), func(i int) bool {
			if strict {
				return n.Kids[i].Last > key
			}
			return n.Kids[i].Last >= key
		})
		if i == len(n.Kids) {
			if strict {
				return nil, false, fmt.Errorf("%w: no node after %q", ErrCorrupt, key)
			}
			i = len(n.Kids) - 1
		}
		if i < len(n.Kids)-1 {
			last = false
		}
		var err error
		if n, err = a.r.child(n, i); err != nil {
			return nil, false, err
		}
	}
	return n, last, nil
}

// mergeLevel merges the items of node n with the edits that fall in it:
// those up to its last key, or all when it is its level's last node. It
// returns the merged items, whether they differ from n's, and how many
// edits it used.
func mergeLevel(n *pnode, edits []edit, last bool) ([]item, bool, int) {
	items := n.items()
	used := len(edits)
	if !last {
		hi := n.key(items - 1)
		used = sort.Search(len(edits), func(i int) bool { return edits[i].key > hi })
	}
	out := make([]item, 0, items+used)
	changed := false
	at := func(i int) item {
		if n.Level == 0 {
			return item{key: n.Entries[i].Path, e: &n.Entries[i]}
		}
		return item{key: n.Kids[i].Last, k: n.Kids[i]}
	}
	i := 0
	for _, e := range edits[:used] {
		for i < items && n.key(i) < e.key {
			out = append(out, at(i))
			i++
		}
		had := i < items && n.key(i) == e.key
		switch {
		case e.it == nil:
			changed = changed || had
		case !had:
			out = append(out, *e.it)
			changed = true
		default:
			out = append(out, *e.it)
			if n.Level == 0 {
				changed = changed || !e.it.e.Equal(n.Entries[i])
			} else {
				changed = changed || e.it.k != n.Kids[i]
			}
		}
		if had {
			i++
		}
	}
	for ; i < items; i++ {
		out = append(out, at(i))
	}
	return out, changed, used
}
