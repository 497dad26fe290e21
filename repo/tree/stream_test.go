package tree

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/objects"
)

func streamOf(cs []Change) func(yield func(Change) error) error {
	return func(yield func(Change) error) error {
		for _, c := range cs {
			if err := yield(c); err != nil {
				return err
			}
		}
		return nil
	}
}

// sortedChanges returns cs sorted by path, as ApplySorted wants them.
func sortedChanges(cs []Change) []Change {
	out := slices.Clone(cs)
	slices.SortFunc(out, func(a, b Change) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// TestPropertyApplySorted: streaming changes gives the tree Apply gives,
// which is the tree Build makes of the result, from trees of either
// format and of every size around the leaf and level boundaries.
func TestPropertyApplySorted(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(11, 12))
	for round := range 60 {
		s := newMem()
		n := []int{0, 1, 5, 40, 300, 3000}[round%6]
		base := randSet(rng, n)
		baseSorted := sortedOf(base)
		root, err := Build(ctx, s, baseSorted)
		require.NoError(t, err)
		roots := []objects.ID{root}
		if round%5 == 0 {
			roots = append(roots, mustTrie(t, s, baseSorted))
		}
		final := copyRecords(base)
		var cs []Change
		seen := map[string]bool{}
		k := rng.IntN(1 + n/(1+rng.IntN(20)))
		for range k {
			var p string
			if len(baseSorted) > 0 && rng.IntN(2) == 0 {
				p = baseSorted[rng.IntN(len(baseSorted))].Path
			} else {
				p = randPath(rng)
			}
			if seen[p] {
				continue
			}
			seen[p] = true
			switch rng.IntN(3) {
			case 0:
				cs = append(cs, Change{Path: p})
				delete(final, p)
			case 1:
				if old, ok := base[p]; ok {
					e := old // the same record: no change
					cs = append(cs, Change{Path: p, Entry: &e})
					final[p] = e
					continue
				}
				fallthrough
			default:
				e := randEntry(rng, p)
				cs = append(cs, Change{Path: p, Entry: &e})
				final[p] = e
			}
		}
		want, err := Build(ctx, s, sortedOf(final))
		require.NoError(t, err)
		for _, r := range roots {
			got, err := ApplySorted(ctx, s, r, streamOf(sortedChanges(cs)))
			require.NoError(t, err, "round %d", round)
			applied, err := Apply(ctx, s, r, cs)
			require.NoError(t, err)
			if applied == r || got == r {
				// No record changed: the root stays, whatever its format
				// (Apply writes a version-1 tree again as version 2).
				require.Equal(t, r, got, "round %d: no change keeps the root", round)
				after, err := Sorted(ctx, s, r)
				require.NoError(t, err)
				require.ElementsMatch(t, sortedOf(final), after)
				continue
			}
			require.Equal(t, want, got, "round %d: n=%d k=%d", round, n, len(cs))
			checkShape(t, s, got)
		}
	}
}

func copyRecords(m map[string]Entry) map[string]Entry {
	out := make(map[string]Entry, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TestApplySortedKeepsLeaves: one changed record rewrites about one leaf
// and the nodes above it, not the tree.
func TestApplySortedKeepsLeaves(t *testing.T) {
	ctx := context.Background()
	s := newMem()
	var es []Entry
	for i := range 20000 {
		p := fmt.Sprintf("pkgs/p%05d.whl", i)
		es = append(es, Entry{Path: p, Size: int64(i), SHA256: objects.Sum([]byte(p))})
	}
	root, err := Build(ctx, s, es)
	require.NoError(t, err)
	before := s.written
	e := es[10000]
	e.Size++
	got, err := ApplySorted(ctx, s, root, streamOf([]Change{{Path: e.Path, Entry: &e}}))
	require.NoError(t, err)
	require.NotEqual(t, root, got)
	require.LessOrEqual(t, s.written-before, 8, "objects written for one change")
	es[10000] = e
	want, err := Build(ctx, s, es)
	require.NoError(t, err)
	require.Equal(t, want, got)
}

func TestApplySortedRefusesDisorder(t *testing.T) {
	ctx := context.Background()
	s := newMem()
	rec := func(p string) *Entry { return &Entry{Path: p} }
	for _, cs := range [][]Change{
		{{Path: "b", Entry: rec("b")}, {Path: "a", Entry: rec("a")}},
		{{Path: "a", Entry: rec("a")}, {Path: "a"}},
		{{Path: "a", Entry: rec("b")}},
		{{Path: ""}},
	} {
		_, err := ApplySorted(ctx, s, objects.ID{}, streamOf(cs))
		require.Error(t, err)
	}
}
