package tree

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/objects"
)

// randPath makes paths whose directories are never records: every record
// ends in ".whl", no directory does. Names around '/' in byte order ('!'
// and '.' before it, '0' after it) test the seeks.
func randPath(rng *rand.Rand) string {
	dirs := []string{"a", "a!", "a.b", "a0", "b", "lib", "lib-x", "zz"}
	var b strings.Builder
	for d := rng.IntN(4); d > 0; d-- {
		b.WriteString(dirs[rng.IntN(len(dirs))])
		b.WriteByte('/')
	}
	fmt.Fprintf(&b, "f%d.whl", rng.IntN(1<<20))
	return b.String()
}

func randEntry(rng *rand.Rand, p string) Entry {
	e := Entry{Path: p, Size: rng.Int64N(1 << 30)}
	e.SHA256 = objects.Sum([]byte(fmt.Sprint(p, e.Size)))
	if rng.IntN(2) == 0 {
		e.Metadata = map[string]string{"name": p[:1], "v": fmt.Sprint(rng.IntN(9))}
	}
	return e
}

// randSet makes n records with distinct paths.
func randSet(rng *rand.Rand, n int) map[string]Entry {
	m := make(map[string]Entry, n)
	for len(m) < n {
		p := randPath(rng)
		m[p] = randEntry(rng, p)
	}
	return m
}

func sortedOf(m map[string]Entry) []Entry {
	out := make([]Entry, 0, len(m))
	for _, e := range m {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func collect(t *testing.T, f func(fn func(Entry) error) error) []Entry {
	t.Helper()
	out := []Entry{}
	require.NoError(t, f(func(e Entry) error { out = append(out, e); return nil }))
	return out
}

// checkShape reads every node of a version-2 tree (the decoder checks the
// chunking rule inside nodes) and checks that the root is canonical.
func checkShape(t *testing.T, s *memStore, root objects.ID) {
	t.Helper()
	ctx := context.Background()
	_, n, err := loadAny(ctx, s, root)
	require.NoError(t, err)
	require.NotNil(t, n, "version 2")
	if n.Level > 0 {
		require.Greater(t, len(n.Kids), 1, "a root with one child is not canonical")
	}
	require.NoError(t, WalkNodes(ctx, s, root, func(objects.ID, []Entry) (bool, error) { return true, nil }))
}

func TestPropertyHistoryIndependent(t *testing.T) {
	ctx := context.Background()
	for seed := uint64(0); seed < 12; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		n := []int{0, 1, 5, 40, 300, 2000, 6000}[seed%7]
		t.Run(fmt.Sprint(seed, "-", n), func(t *testing.T) {
			s := newMem()
			final := randSet(rng, n)
			want, err := Build(ctx, s, sortedOf(final))
			require.NoError(t, err)
			checkShape(t, s, want)

			// The same set from records given in random order.
			shuffled := sortedOf(final)
			rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			got, err := Build(ctx, s, shuffled)
			require.NoError(t, err)
			require.Equal(t, want, got)

			// And from random batches of changes through extra records,
			// some set twice with other content, removed again.
			extra := randSet(rng, n/3+20)
			for p := range final {
				delete(extra, p)
			}
			var steps, redo []Change
			for p, e := range final {
				if rng.IntN(4) == 0 {
					other := randEntry(rng, p)
					steps = append(steps, Change{Path: p, Entry: &other})
					redo = append(redo, Change{Path: p, Entry: &e})
				}
				steps = append(steps, Change{Path: p, Entry: &e})
			}
			for p, e := range extra {
				steps = append(steps, Change{Path: p, Entry: &e})
			}
			rng.Shuffle(len(steps), func(i, j int) { steps[i], steps[j] = steps[j], steps[i] })
			for p := range extra {
				redo = append(redo, Change{Path: p})
			}
			rng.Shuffle(len(redo), func(i, j int) { redo[i], redo[j] = redo[j], redo[i] })
			steps = append(steps, redo...)
			// Keep each path's last change in order: a batch holds a
			// path once, so batches end before a repeated path.
			root, err := Empty(ctx, s)
			require.NoError(t, err)
			var batch []Change
			inBatch := map[string]bool{}
			flush := func() {
				root, err = Apply(ctx, s, root, batch)
				require.NoError(t, err)
				checkShape(t, s, root)
				batch, inBatch = nil, map[string]bool{}
			}
			for _, c := range steps {
				if inBatch[c.Path] || len(batch) >= 1+rng.IntN(200) {
					flush()
				}
				batch = append(batch, c)
				inBatch[c.Path] = true
			}
			flush()
			require.Equal(t, want, root, "same set, same root id")
			cnt, err := Count(ctx, s, root)
			require.NoError(t, err)
			require.Equal(t, n, cnt)
			require.Equal(t, sortedOf(final), collect(t, func(fn func(Entry) error) error { return Walk(ctx, s, root, fn) }))
		})
	}
}

func TestPropertyDiff(t *testing.T) {
	ctx := context.Background()
	for seed := uint64(0); seed < 10; seed++ {
		rng := rand.New(rand.NewPCG(seed, 11))
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			s := newMem()
			a := randSet(rng, []int{0, 3, 100, 3000, 8000}[seed%5])
			var b map[string]Entry
			if seed%3 == 0 {
				b = randSet(rng, rng.IntN(3000)) // unrelated
			} else {
				b = map[string]Entry{}
				for p, e := range a {
					if rng.IntN(50) != 0 {
						b[p] = e
					}
				}
				for p := range a {
					if rng.IntN(60) == 0 {
						b[p] = randEntry(rng, p)
					}
				}
				for p, e := range randSet(rng, rng.IntN(100)) {
					b[p] = e
				}
			}
			ra, err := Build(ctx, s, sortedOf(a))
			require.NoError(t, err)
			rb, err := Build(ctx, s, sortedOf(b))
			require.NoError(t, err)

			type change struct {
				path     string
				old, new *Entry
			}
			var want []change
			for _, e := range sortedOf(a) {
				if o, ok := b[e.Path]; !ok {
					want = append(want, change{e.Path, &e, nil})
				} else if !o.Equal(e) {
					want = append(want, change{e.Path, &e, &o})
				}
			}
			for _, e := range sortedOf(b) {
				if _, ok := a[e.Path]; !ok {
					want = append(want, change{e.Path, nil, &e})
				}
			}
			sort.Slice(want, func(i, j int) bool { return want[i].path < want[j].path })
			var got []change
			require.NoError(t, Diff(ctx, s, ra, rb, func(o, n *Entry) error {
				c := change{old: o, new: n}
				if o != nil {
					c.path, c.old = o.Path, new(*o)
				} else {
					c.path = n.Path
				}
				if n != nil {
					c.new = new(*n)
				}
				got = append(got, c)
				return nil
			}))
			require.Equal(t, len(want), len(got))
			for i := range want {
				require.Equal(t, want[i].path, got[i].path, "path order")
				require.Equal(t, want[i].old == nil, got[i].old == nil)
				require.Equal(t, want[i].new == nil, got[i].new == nil)
				if want[i].new != nil {
					require.True(t, want[i].new.Equal(*got[i].new))
				}
			}
		})
	}
}

func TestDiffReadsFollowTheDifference(t *testing.T) {
	ctx := context.Background()
	s := newMem()
	rng := rand.New(rand.NewPCG(3, 3))
	base := sortedOf(randSet(rng, 50_000))
	a, err := Build(ctx, s, base)
	require.NoError(t, err)
	var ch []Change
	for i := 0; i < 10; i++ {
		e := base[rng.IntN(len(base))]
		e.Size++
		ch = append(ch, Change{Path: e.Path, Entry: &e})
	}
	b, err := Apply(ctx, s, a, ch)
	require.NoError(t, err)
	reads := &countingGetter{g: s}
	n := 0
	require.NoError(t, Diff(ctx, reads, a, b, func(o, n2 *Entry) error { n++; return nil }))
	require.Equal(t, 10, n)
	h := height(t, s, a)
	require.LessOrEqual(t, reads.n, 2*10*(h+1)+2, "reads follow the difference, not the size")
}

type countingGetter struct {
	g Getter
	n int
}

func (c *countingGetter) GetObject(ctx context.Context, id objects.ID) ([]byte, error) {
	c.n++
	return c.g.GetObject(ctx, id)
}

func height(t *testing.T, s Getter, root objects.ID) int {
	_, n, err := loadAny(context.Background(), s, root)
	require.NoError(t, err)
	return n.Level + 1
}

func TestPropertyRangePrefixList(t *testing.T) {
	ctx := context.Background()
	for seed := uint64(0); seed < 6; seed++ {
		rng := rand.New(rand.NewPCG(seed, 13))
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			s := newMem()
			set := sortedOf(randSet(rng, []int{0, 1, 50, 4000, 6000, 700}[seed]))
			root, err := Build(ctx, s, set)
			require.NoError(t, err)
			bounds := []string{"", "a", "a/", "a!", "a.b/", "a0", "lib", "lib/", "lib-x/a/", "zz/zz/", "zzz", "f5"}
			for _, e := range set[:min(len(set), 20)] {
				bounds = append(bounds, e.Path, e.Path[:len(e.Path)/2])
			}
			for _, from := range bounds {
				for _, to := range bounds {
					want := []Entry{}
					for _, e := range set {
						if e.Path >= from && (to == "" || e.Path < to) {
							want = append(want, e)
						}
					}
					require.Equal(t, want, collect(t, func(fn func(Entry) error) error { return Range(ctx, s, root, from, to, fn) }), "%q..%q", from, to)
				}
				want := []Entry{}
				for _, e := range set {
					if strings.HasPrefix(e.Path, from) {
						want = append(want, e)
					}
				}
				require.Equal(t, want, collect(t, func(fn func(Entry) error) error { return Prefix(ctx, s, root, from, fn) }), "prefix %q", from)
			}
			dirs := map[string]bool{"": true, "nope": true, "a/nope": true}
			for _, e := range set {
				for i := strings.IndexByte(e.Path, '/'); i >= 0; i = next(e.Path, i) {
					dirs[e.Path[:i]] = true
				}
			}
			for dir := range dirs {
				type child struct {
					name  string
					isDir bool
				}
				var want []child
				seen := map[string]bool{}
				prefix := dir + "/"
				if dir == "" {
					prefix = ""
				}
				for _, e := range set {
					if !strings.HasPrefix(e.Path, prefix) {
						continue
					}
					name, isDir := childName(prefix, e.Path)
					if !seen[name] {
						seen[name] = true
						want = append(want, child{name, isDir})
					}
				}
				var got []child
				require.NoError(t, List(ctx, s, root, dir, func(name string, isDir bool, e *Entry) error {
					require.Equal(t, isDir, e == nil)
					if e != nil {
						require.Equal(t, prefix+name, e.Path)
					}
					got = append(got, child{name, isDir})
					return nil
				}))
				require.Equal(t, want, got, "list %q", dir)
				if dir != "" {
					var again []child
					require.NoError(t, List(ctx, s, root, dir+"/", func(name string, isDir bool, _ *Entry) error {
						again = append(again, child{name, isDir})
						return nil
					}))
					require.Equal(t, got, again, "a trailing slash is ignored")
				}
			}
		})
	}
}

// TestListSkipsSubdirectories: listing a directory of 10 children whose
// subdirectories hold 100 000 records reads a few nodes per child.
func TestListSkipsSubdirectories(t *testing.T) {
	ctx := context.Background()
	s := newMem()
	var es []Entry
	for i := 0; i < 100_000; i++ {
		es = append(es, Entry{Path: fmt.Sprintf("d7/sub%d/pkg-%06d.whl", i%5, i)})
	}
	for i := 0; i < 5; i++ {
		es = append(es, Entry{Path: fmt.Sprintf("d7/file%d.whl", i)})
	}
	root, err := Build(ctx, s, es)
	require.NoError(t, err)
	reads := &countingGetter{g: s}
	var names []string
	require.NoError(t, List(ctx, reads, root, "d7", func(name string, _ bool, _ *Entry) error {
		names = append(names, name)
		return nil
	}))
	require.Equal(t, []string{"file0.whl", "file1.whl", "file2.whl", "file3.whl", "file4.whl", "sub0", "sub1", "sub2", "sub3", "sub4"}, names)
	require.LessOrEqual(t, reads.n, 10*height(t, s, root)+1)
}

func TestPathConflicts(t *testing.T) {
	ctx := context.Background()
	rec := func(p string) *Entry { return &Entry{Path: p, Size: int64(len(p))} }
	set := func(p string) Change { return Change{Path: p, Entry: rec(p)} }
	del := func(p string) Change { return Change{Path: p} }
	for _, tc := range []struct {
		name    string
		base    []string
		changes []Change
		clash   []string // both paths named; nil: allowed
	}{
		{"file over a directory", []string{"sub/b.txt", "x"}, []Change{set("sub")}, []string{"sub", "sub/b.txt"}},
		{"file over a deep directory", []string{"sub/a/b/c.txt"}, []Change{set("sub/a")}, []string{"sub/a", "sub/a/b/c.txt"}},
		{"directory under a file", []string{"sub/b.txt"}, []Change{set("sub/b.txt/x")}, []string{"sub/b.txt", "sub/b.txt/x"}},
		{"deep directory under a file", []string{"a"}, []Change{set("a/b/c/d")}, []string{"a", "a/b/c/d"}},
		{"both in one Apply", nil, []Change{set("x"), set("x/y")}, []string{"x", "x/y"}},
		{"both in one Apply, deeper", []string{"q"}, []Change{set("x/y/z"), set("x/y")}, []string{"x/y", "x/y/z"}},
		{"file over a directory, its files removed", []string{"sub/b.txt", "sub/c/d.txt", "sub!"}, []Change{set("sub"), del("sub/b.txt"), del("sub/c/d.txt")}, nil},
		{"file over a directory, one file kept", []string{"sub/b.txt", "sub/c.txt"}, []Change{set("sub"), del("sub/b.txt")}, []string{"sub", "sub/c.txt"}},
		{"directory under a removed file", []string{"a", "a!"}, []Change{set("a/b"), del("a")}, nil},
		{"names that only share a prefix", []string{"sub!x", "sub0", "sub.txt"}, []Change{set("sub"), set("sub-y/z")}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newMem()
			var es []Entry
			for _, p := range tc.base {
				es = append(es, *rec(p))
			}
			root, err := Build(ctx, s, es)
			require.NoError(t, err)
			for _, r := range []objects.ID{root, mustTrie(t, s, es)} {
				got, err := Apply(ctx, s, r, tc.changes)
				if tc.clash == nil {
					require.NoError(t, err)
					continue
				}
				require.ErrorIs(t, err, ErrPathConflict)
				for _, p := range tc.clash {
					require.Contains(t, err.Error(), fmt.Sprintf("%q", p))
				}
				require.True(t, got.IsZero())
			}
			for _, r := range []objects.ID{root, mustTrie(t, s, es)} {
				_, err := ApplySorted(ctx, s, r, streamOf(sortedChanges(tc.changes)))
				if tc.clash == nil {
					require.NoError(t, err, "ApplySorted")
					continue
				}
				require.ErrorIs(t, err, ErrPathConflict, "ApplySorted")
				for _, p := range tc.clash {
					require.Contains(t, err.Error(), fmt.Sprintf("%q", p))
				}
			}
			// Build refuses the clashing set itself.
			if tc.clash != nil {
				final := map[string]Entry{}
				for _, e := range es {
					final[e.Path] = e
				}
				for _, c := range tc.changes {
					if c.Entry != nil {
						final[c.Path] = *c.Entry
					} else {
						delete(final, c.Path)
					}
				}
				_, err := Build(ctx, s, sortedOf(final))
				require.ErrorIs(t, err, ErrPathConflict)
			}
		})
	}
	// Across Applies: each step alone is fine until the clash.
	s := newMem()
	root, err := Empty(ctx, s)
	require.NoError(t, err)
	root, err = Apply(ctx, s, root, []Change{set("d/e/f")})
	require.NoError(t, err)
	_, err = Apply(ctx, s, root, []Change{set("d/e")})
	require.ErrorIs(t, err, ErrPathConflict)
	_, err = Apply(ctx, s, root, []Change{set("d/e/f/g")})
	require.ErrorIs(t, err, ErrPathConflict)
	root, err = Apply(ctx, s, root, []Change{del("d/e/f"), set("d/e")})
	require.NoError(t, err)
	got, err := Sorted(ctx, s, root)
	require.NoError(t, err)
	require.Equal(t, []Entry{*rec("d/e")}, got)
}

func mustTrie(t *testing.T, s *memStore, es []Entry) objects.ID {
	id, err := buildTrie(context.Background(), s, es)
	require.NoError(t, err)
	return id
}

// TestFormat1Compatible: trees written by the trie stay readable, and the
// first Apply to one writes the version-2 tree of the result.
func TestFormat1Compatible(t *testing.T) {
	ctx := context.Background()
	s := newMem()
	rng := rand.New(rand.NewPCG(5, 5))
	set := sortedOf(randSet(rng, 3000))
	old := mustTrie(t, s, set)
	data, err := s.GetObject(ctx, old)
	require.NoError(t, err)
	require.Equal(t, []byte{tagInner, version1}, data[:2])

	cnt, err := Count(ctx, s, old)
	require.NoError(t, err)
	require.Equal(t, len(set), cnt)
	e, ok, err := Get(ctx, s, old, set[17].Path)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, e.Equal(set[17]))
	require.Equal(t, set, collect(t, func(fn func(Entry) error) error { return Walk(ctx, s, old, fn) }), "path order")
	sorted, err := Sorted(ctx, s, old)
	require.NoError(t, err)
	require.Equal(t, set, sorted)
	require.Equal(t, set[10:20], collect(t, func(fn func(Entry) error) error { return Range(ctx, s, old, set[10].Path, set[20].Path, fn) }))
	v2, err := Build(ctx, s, set)
	require.NoError(t, err)
	for _, dir := range []string{"", "a", "lib/a!"} {
		var names, want []string
		require.NoError(t, List(ctx, s, old, dir, func(name string, _ bool, _ *Entry) error { names = append(names, name); return nil }))
		require.NoError(t, List(ctx, s, v2, dir, func(name string, _ bool, _ *Entry) error { want = append(want, name); return nil }))
		require.Equal(t, want, names)
	}
	nodes, leafRecs := 0, 0
	require.NoError(t, WalkNodes(ctx, s, old, func(id objects.ID, leaf []Entry) (bool, error) {
		nodes++
		leafRecs += len(leaf)
		l, kids, err := ReadNode(ctx, s, id)
		require.NoError(t, err)
		require.Equal(t, len(leaf), len(l))
		require.Equal(t, leaf == nil, kids != nil)
		return true, nil
	}))
	require.Greater(t, nodes, 1)
	require.Equal(t, len(set), leafRecs)

	// Diff: trie against trie, and trie against version 2, both ways.
	changed := set[5]
	changed.Size++
	old2, err := applyTrie(ctx, s, old, []Change{{Path: changed.Path, Entry: &changed}, {Path: set[6].Path}})
	require.NoError(t, err)
	count := func(a, b objects.ID) (n int) {
		require.NoError(t, Diff(ctx, s, a, b, func(_, _ *Entry) error { n++; return nil }))
		return n
	}
	require.Equal(t, 2, count(old, old2))
	require.Equal(t, 0, count(old, v2))
	require.Equal(t, 2, count(v2, old2))
	require.Equal(t, 2, count(old2, v2))

	// Apply converts: the result is the version-2 tree of the new set.
	added := Entry{Path: "new/one.whl", Size: 1}
	got, err := Apply(ctx, s, old, []Change{{Path: added.Path, Entry: &added}})
	require.NoError(t, err)
	want, err := Build(ctx, s, append(slices.Clone(set), added))
	require.NoError(t, err)
	require.Equal(t, want, got)
	checkShape(t, s, got)
}

// TestApplyWritesLogN: one change to 100 000 records writes a node per
// level, not the level.
func TestApplyWritesLogN(t *testing.T) {
	ctx := context.Background()
	s := newMem()
	rng := rand.New(rand.NewPCG(8, 8))
	set := sortedOf(randSet(rng, 100_000))
	root, err := Build(ctx, s, set)
	require.NoError(t, err)
	h := height(t, s, root)
	require.LessOrEqual(t, h, 5)
	for i := 0; i < 20; i++ {
		var c Change
		switch i % 3 {
		case 0:
			p := randPath(rng)
			c = Change{Path: p, Entry: new(randEntry(rng, p))}
		case 1:
			e := set[rng.IntN(len(set))]
			e.Size++
			c = Change{Path: e.Path, Entry: &e}
		default:
			c = Change{Path: set[rng.IntN(len(set))].Path}
		}
		objs, bytes := s.written, s.bytes
		next, err := Apply(ctx, s, root, []Change{c})
		require.NoError(t, err)
		// A moved boundary may merge or split one node per level.
		require.LessOrEqual(t, s.written-objs, 2*h+1, "change %d", i)
		require.Less(t, s.bytes-bytes, 128<<10)
		root = next
	}
}

func TestDecode2RejectsCorruption(t *testing.T) {
	ctx := context.Background()
	s := newMem()
	root, err := Build(ctx, s, entries(500))
	require.NoError(t, err)
	data, err := s.GetObject(ctx, root)
	require.NoError(t, err)
	require.Equal(t, byte(tagInner2), data[0])
	_, err = decode2(data)
	require.NoError(t, err)
	for i := range data {
		_, err := decode2(data[:i])
		require.ErrorIs(t, err, ErrCorrupt, "truncated at %d", i)
	}
	_, err = decode2(append(slices.Clone(data), 0))
	require.ErrorIs(t, err, ErrCorrupt)
	// A varint longer than it needs to be is another encoding of the
	// same node.
	_, err = decode2([]byte{tagLeaf2, version2, 0})
	require.NoError(t, err)
	_, err = decode2([]byte{tagLeaf2, version2, 0x80, 0x00})
	require.ErrorIs(t, err, ErrCorrupt)
	_, err = decode([]byte{tagLeaf, version1, 0x80, 0x00})
	require.ErrorIs(t, err, ErrCorrupt)

	// A leaf with a boundary inside is not how the tree chunks.
	var es []Entry
	for i := 0; len(es) < 3; i++ {
		p := fmt.Sprintf("k%04d", i)
		if boundary(p, 0) || len(es) == 2 {
			es = append(es, Entry{Path: p})
		}
	}
	_, err = encodeLeaf2(es)
	require.ErrorIs(t, err, ErrCorrupt)
	bad, err := encodeLeaf(es)
	require.NoError(t, err)
	bad[0], bad[1] = tagLeaf2, version2
	_, err = decode2(bad)
	require.ErrorIs(t, err, ErrCorrupt)

	// A child that does not match its reference is caught on reading.
	n, err := decode2(data)
	require.NoError(t, err)
	n.Kids[0].Count++
	forged, err := encodeInner2(n.Level, n.Kids)
	require.NoError(t, err)
	res, err := s.PutObject(ctx, forged)
	require.NoError(t, err)
	err = Walk(ctx, s, res.ID, func(Entry) error { return nil })
	require.ErrorIs(t, err, ErrCorrupt)
}

func FuzzDecode2(f *testing.F) {
	ctx := context.Background()
	s := newMem()
	root, _ := Build(ctx, s, entries(300))
	for _, d := range s.objs {
		f.Add(d)
	}
	leaf, _ := encodeLeaf2(nil)
	f.Add(leaf)
	f.Add([]byte{tagInner2, version2, 1, 1})
	f.Add([]byte{tagLeaf2, version2, 0x80, 0x00})
	_ = root
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := decode2(data)
		if err != nil {
			return
		}
		// Whatever decodes must re-encode to the same bytes.
		var again []byte
		if n.Level == 0 {
			again, err = encodeLeaf2(n.Entries)
		} else {
			again, err = encodeInner2(n.Level, n.Kids)
		}
		require.NoError(t, err)
		require.Equal(t, data, again)
	})
}

// TestForcedCuts: paths none of which is a boundary still make nodes of at
// most MaxItems, and the tree stays a function of the set.
func TestForcedCuts(t *testing.T) {
	ctx := context.Background()
	s := newMem()
	var es []Entry
	for i := 0; len(es) < 3*MaxItems+100; i++ {
		p := fmt.Sprintf("x/%07d", i)
		if !boundary(p, 0) {
			es = append(es, Entry{Path: p, Size: int64(i)})
		}
	}
	want, err := Build(ctx, s, es)
	require.NoError(t, err)
	checkShape(t, s, want)
	leaves := 0
	require.NoError(t, WalkNodes(ctx, s, want, func(_ objects.ID, leaf []Entry) (bool, error) {
		if leaf != nil {
			leaves++
			require.LessOrEqual(t, len(leaf), MaxItems)
		}
		return true, nil
	}))
	require.Equal(t, 4, leaves)

	rng := rand.New(rand.NewPCG(9, 9))
	root, err := Build(ctx, s, es[:10])
	require.NoError(t, err)
	rest := slices.Clone(es[10:])
	rng.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
	for len(rest) > 0 {
		k := min(len(rest), 1+rng.IntN(300))
		var ch []Change
		for i := range rest[:k] {
			ch = append(ch, Change{Path: rest[i].Path, Entry: &rest[i]})
		}
		root, err = Apply(ctx, s, root, ch)
		require.NoError(t, err)
		rest = rest[k:]
	}
	require.Equal(t, want, root)
	// Removing the first record shifts every forced cut after it.
	root, err = Apply(ctx, s, root, []Change{{Path: es[0].Path}})
	require.NoError(t, err)
	again, err := Build(ctx, s, es[1:])
	require.NoError(t, err)
	require.Equal(t, again, root)
	streamed, err := ApplySorted(ctx, s, want, streamOf([]Change{{Path: es[0].Path}}))
	require.NoError(t, err)
	require.Equal(t, again, streamed)
}
