package tree

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/objects"
)

// memStore is a map of objects that counts writes of new objects.
type memStore struct {
	mu      sync.Mutex
	objs    map[objects.ID][]byte
	written int
	bytes   int
}

func newMem() *memStore { return &memStore{objs: map[objects.ID][]byte{}} }

func (m *memStore) GetObject(_ context.Context, id objects.ID) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.objs[id]
	if !ok {
		return nil, objects.ErrNotFound
	}
	return d, nil
}

func (m *memStore) PutObject(_ context.Context, data []byte) (objects.PutResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := objects.Sum(data)
	_, had := m.objs[id]
	if !had {
		m.objs[id] = append([]byte(nil), data...)
		m.written++
		m.bytes += len(data)
	}
	return objects.PutResult{ID: id, Size: int64(len(data)), New: !had}, nil
}

func entry(i int) Entry {
	e := Entry{Path: fmt.Sprintf("p%03d/pkg-%06d.whl", i%1000, i), Size: int64(i)}
	e.SHA256 = objects.Sum([]byte(e.Path))
	if i%3 == 0 {
		e.Metadata = map[string]string{"name": fmt.Sprint("n", i), "version": "1.0"}
	}
	return e
}

func entries(n int) []Entry {
	out := make([]Entry, n)
	for i := range out {
		out[i] = entry(i)
	}
	return out
}

func TestBuildIsCanonicalWhateverTheHistory(t *testing.T) {
	ctx := context.Background()
	for _, n := range []int{0, 1, MaxLeaf, MaxLeaf + 1, 3000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			s := newMem()
			want, err := Build(ctx, s, entries(n))
			require.NoError(t, err)

			// The same set reached by adding in random batches, with detours
			// through extra records that are removed again.
			root, err := Empty(ctx, s)
			require.NoError(t, err)
			all := entries(n + 500)
			perm := rand.New(rand.NewPCG(1, uint64(n))).Perm(len(all))
			for start := 0; start < len(perm); start += 97 {
				var ch []Change
				for _, i := range perm[start:min(start+97, len(perm))] {
					ch = append(ch, Change{Path: all[i].Path, Entry: &all[i]})
				}
				root, err = Apply(ctx, s, root, ch)
				require.NoError(t, err)
			}
			var rm []Change
			for i := n; i < n+500; i++ {
				rm = append(rm, Change{Path: all[i].Path})
			}
			root, err = Apply(ctx, s, root, rm)
			require.NoError(t, err)
			require.Equal(t, want, root, "same set must give the same root id")

			c, err := Count(ctx, s, root)
			require.NoError(t, err)
			require.Equal(t, n, c)
			got, err := Sorted(ctx, s, root)
			require.NoError(t, err)
			exp := entries(n)
			sort.Slice(exp, func(i, j int) bool { return exp[i].Path < exp[j].Path })
			if n == 0 {
				require.Empty(t, got)
			} else {
				require.Equal(t, exp, got)
			}
		})
	}
}

func TestGet(t *testing.T) {
	ctx := context.Background()
	s := newMem()
	root, err := Build(ctx, s, entries(2000))
	require.NoError(t, err)
	for _, i := range []int{0, 1, 999, 1999} {
		e, ok, err := Get(ctx, s, root, entry(i).Path)
		require.NoError(t, err)
		require.True(t, ok)
		require.True(t, e.Equal(entry(i)))
	}
	_, ok, err := Get(ctx, s, root, "missing")
	require.NoError(t, err)
	require.False(t, ok)
}

func TestApplyCostFollowsChange(t *testing.T) {
	ctx := context.Background()
	s := newMem()
	root, err := Build(ctx, s, entries(100_000))
	require.NoError(t, err)
	before := s.written
	e := Entry{Path: "new/one.txt", Size: 1}
	root2, err := Apply(ctx, s, root, []Change{{Path: e.Path, Entry: &e}})
	require.NoError(t, err)
	require.NotEqual(t, root, root2)
	written := s.written - before
	require.LessOrEqual(t, written, 6, "one change rewrites only the path to its leaf")

	// Setting a record to what it already is changes nothing.
	same := entry(5)
	root3, err := Apply(ctx, s, root, []Change{{Path: same.Path, Entry: &same}})
	require.NoError(t, err)
	require.Equal(t, root, root3)
}

func TestDiff(t *testing.T) {
	ctx := context.Background()
	s := newMem()
	base := entries(5000)
	a, err := Build(ctx, s, base)
	require.NoError(t, err)
	changed := base[10]
	changed.Size = 999999
	added := Entry{Path: "zz/added", Size: 3}
	b, err := Apply(ctx, s, a, []Change{
		{Path: changed.Path, Entry: &changed},
		{Path: added.Path, Entry: &added},
		{Path: base[20].Path},
	})
	require.NoError(t, err)

	var add, rem, chg []string
	require.NoError(t, Diff(ctx, s, a, b, func(o, n *Entry) error {
		switch {
		case o == nil:
			add = append(add, n.Path)
		case n == nil:
			rem = append(rem, o.Path)
		default:
			chg = append(chg, n.Path)
		}
		return nil
	}))
	require.Equal(t, []string{added.Path}, add)
	require.Equal(t, []string{base[20].Path}, rem)
	require.Equal(t, []string{changed.Path}, chg)

	// Diff against the empty tree lists everything, and an equal pair nothing.
	empty, err := Empty(ctx, s)
	require.NoError(t, err)
	n := 0
	require.NoError(t, Diff(ctx, s, empty, a, func(o, _ *Entry) error { require.Nil(t, o); n++; return nil }))
	require.Equal(t, len(base), n)
	require.NoError(t, Diff(ctx, s, a, a, func(_, _ *Entry) error { t.Fatal("equal trees differ"); return nil }))
}

func TestDecodeRejectsCorruption(t *testing.T) {
	good, err := encodeLeaf(entries(3)[:1])
	require.NoError(t, err)
	_, err = decode(good)
	require.NoError(t, err)
	for i := range good {
		bad := append([]byte(nil), good...)
		bad = bad[:i]
		_, err := decode(bad)
		require.ErrorIs(t, err, ErrCorrupt, "truncated at %d", i)
	}
	_, err = decode(append(append([]byte(nil), good...), 0))
	require.ErrorIs(t, err, ErrCorrupt)
}

func TestEncodeRefusesUnsorted(t *testing.T) {
	es := entries(2)
	es[0], es[1] = es[1], es[0]
	_, err := encodeLeaf(es)
	require.Error(t, err)
}

func TestValidatePath(t *testing.T) {
	long := strings.Repeat("x", MaxSegmentLen)
	deep := strings.Repeat(long+"/", (MaxPathLen-1)/(MaxSegmentLen+1)) + "y"
	for _, p := range []string{"a", "a/b.txt", "sub/c.txt", "x..y", "@x.y/ok"[2:], long, "d/" + long, deep} {
		require.NoError(t, ValidatePath(p), p)
	}
	for _, p := range []string{"", "/abs", "../evil", "a/../b", "a//b", "a/./b", ".", "a/", "nul\x00", "tab\tx", "@1/x", "a/@b", `a\b`, "\xff",
		long + "x", "d/" + long + "x/e", strings.Repeat("a/", MaxPathLen/2) + "b"} {
		require.ErrorIs(t, ValidatePath(p), ErrInvalidPath, "%q", p)
	}
}

func FuzzDecode(f *testing.F) {
	leaf, _ := encodeLeaf(entries(3)[:2])
	f.Add(leaf)
	f.Add(encodeInner(&node{Count: MaxLeaf + 1, Children: [16]child{{Count: MaxLeaf + 1}}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := decode(data)
		if err != nil {
			return
		}
		// Whatever decodes must re-encode to the same bytes.
		var again []byte
		if n.Leaf {
			again, err = encodeLeaf(n.Entries)
			require.NoError(t, err)
		} else {
			again = encodeInner(n)
		}
		require.Equal(t, data, again)
	})
}
