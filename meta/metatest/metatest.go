// Package metatest is the conformance suite every meta.Store backend runs.
package metatest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/meta"
)

// Run runs the conformance suite. newStore must return a fresh, empty
// Store for each call.
func Run(t *testing.T, newStore func(t *testing.T) meta.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s meta.Store)
	}{
		{"GetMissing", testGetMissing},
		{"PutGet", testPutGet},
		{"List", testList},
		{"ListPrefix", testListPrefix},
		{"ListStop", testListStop},
		{"AbsentMustNotExist", testAbsent},
		{"Conflict", testConflict},
		{"MultiAtomic", testMultiAtomic},
		{"Delete", testDelete},
		{"RevisionsNotReused", testRevisions},
		{"InvalidKey", testInvalidKey},
		{"InvalidBatch", testInvalidBatch},
		{"Concurrent", testConcurrent},
		{"Canceled", testCanceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore(t)) })
	}
}

// Increment adds one to the decimal counter at key, retrying on
// ErrConflict; it returns the new value and the conflicts it retried.
func Increment(ctx context.Context, s meta.Store, key string) (int, int, error) {
	conflicts := 0
	for {
		n := 0
		data, rev, err := s.Get(ctx, key)
		switch {
		case errors.Is(err, meta.ErrNotFound):
		case err != nil:
			return 0, conflicts, err
		default:
			if n, err = strconv.Atoi(string(data)); err != nil {
				return 0, conflicts, fmt.Errorf("%s: %w", key, err)
			}
		}
		_, err = meta.PutIf(ctx, s, key, []byte(strconv.Itoa(n+1)), rev)
		switch {
		case err == nil:
			return n + 1, conflicts, nil
		case errors.Is(err, meta.ErrConflict):
			conflicts++
		default:
			return 0, conflicts, err
		}
	}
}

func put(t *testing.T, s meta.Store, key, value string, old meta.Rev) meta.Rev {
	t.Helper()
	rev, err := meta.PutIf(context.Background(), s, key, []byte(value), old)
	require.NoError(t, err)
	require.NotEmpty(t, rev)
	return rev
}

type entry struct {
	Key, Value string
	Rev        meta.Rev
}

func list(t *testing.T, s meta.Store, prefix string) []entry {
	t.Helper()
	var out []entry
	require.NoError(t, s.List(context.Background(), prefix, func(k string, v []byte, r meta.Rev) error {
		out = append(out, entry{k, string(v), r})
		return nil
	}))
	return out
}

func testGetMissing(t *testing.T, s meta.Store) {
	_, rev, err := s.Get(context.Background(), "a/b")
	require.ErrorIs(t, err, meta.ErrNotFound)
	require.Contains(t, err.Error(), "a/b")
	require.Empty(t, rev)
	require.Empty(t, list(t, s, ""))
}

func testPutGet(t *testing.T, s meta.Store) {
	ctx := context.Background()
	r1 := put(t, s, "a", "one", "")
	v, rev, err := s.Get(ctx, "a")
	require.NoError(t, err)
	require.Equal(t, "one", string(v))
	require.Equal(t, r1, rev)
	r2 := put(t, s, "a", "two", r1)
	require.NotEqual(t, r1, r2)
	v, rev, err = s.Get(ctx, "a")
	require.NoError(t, err)
	require.Equal(t, "two", string(v))
	require.Equal(t, r2, rev)

	// An empty value is a value, not a delete; binary values survive.
	re := put(t, s, "empty", "", "")
	v, rev, err = s.Get(ctx, "empty")
	require.NoError(t, err)
	require.Empty(t, v)
	require.Equal(t, re, rev)
	bin := "\x00\n\xff{\"x\":1}\n"
	put(t, s, "bin", bin, "")
	v, _, err = s.Get(ctx, "bin")
	require.NoError(t, err)
	require.Equal(t, bin, string(v))

	// A key may be both a value and the prefix of others.
	put(t, s, "a/b", "ab", "")
	v, _, err = s.Get(ctx, "a")
	require.NoError(t, err)
	require.Equal(t, "two", string(v))
	v, _, err = s.Get(ctx, "a/b")
	require.NoError(t, err)
	require.Equal(t, "ab", string(v))

	// The caller's slice is not kept.
	buf := []byte("mine")
	_, err = meta.PutIf(ctx, s, "buf", buf, "")
	require.NoError(t, err)
	buf[0] = 'X'
	v, _, err = s.Get(ctx, "buf")
	require.NoError(t, err)
	require.Equal(t, "mine", string(v))
}

func testList(t *testing.T, s meta.Store) {
	keys := []string{"b", "a/c", "a", "a-b", "a/b/c", "a.b", "c/d/e/f", "a/b", "0"}
	revs := map[string]meta.Rev{}
	for _, k := range keys {
		revs[k] = put(t, s, k, "v:"+k, "")
	}
	got := list(t, s, "")
	want := []string{"0", "a", "a-b", "a.b", "a/b", "a/b/c", "a/c", "b", "c/d/e/f"}
	require.Len(t, got, len(want))
	for i, e := range got {
		require.Equal(t, want[i], e.Key)
		require.Equal(t, "v:"+e.Key, e.Value)
		require.Equal(t, revs[e.Key], e.Rev)
	}
}

func testListPrefix(t *testing.T, s meta.Store) {
	for _, k := range []string{"tasks/a1", "tasks/a2", "tasks/b1", "tasks/a1/x", "task", "tasksx", "tasks-more/a", "schedules/a"} {
		put(t, s, k, k, "")
	}
	keys := func(prefix string) []string {
		var out []string
		for _, e := range list(t, s, prefix) {
			require.True(t, strings.HasPrefix(e.Key, prefix))
			require.Equal(t, e.Key, e.Value)
			out = append(out, e.Key)
		}
		return out
	}
	require.Equal(t, []string{"tasks/a1", "tasks/a1/x", "tasks/a2", "tasks/b1"}, keys("tasks/"))
	require.Equal(t, []string{"tasks/a1", "tasks/a1/x", "tasks/a2"}, keys("tasks/a"))
	require.Equal(t, []string{"tasks/a1/x"}, keys("tasks/a1/"))
	require.Equal(t, []string{"task", "tasks-more/a", "tasks/a1", "tasks/a1/x", "tasks/a2", "tasks/b1", "tasksx"}, keys("task"))
	require.Equal(t, []string{"tasks/b1"}, keys("tasks/b1"))
	require.Empty(t, keys("nothing/"))
	require.Empty(t, keys("tasks/c"))
	require.Empty(t, keys("schedules/a/"))
}

func testListStop(t *testing.T, s meta.Store) {
	for _, k := range []string{"a", "b", "c"} {
		put(t, s, k, k, "")
	}
	stop := errors.New("stop")
	var seen []string
	err := s.List(context.Background(), "", func(k string, _ []byte, _ meta.Rev) error {
		seen = append(seen, k)
		if k == "b" {
			return stop
		}
		return nil
	})
	require.ErrorIs(t, err, stop)
	require.Equal(t, []string{"a", "b"}, seen)
}

func testAbsent(t *testing.T, s meta.Store) {
	ctx := context.Background()
	r := put(t, s, "k", "first", "")
	_, err := meta.PutIf(ctx, s, "k", []byte("second"), "")
	require.ErrorIs(t, err, meta.ErrConflict)
	require.Contains(t, err.Error(), "k")
	v, rev, err := s.Get(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, "first", string(v))
	require.Equal(t, r, rev)
	// Naming a revision for an absent key conflicts.
	_, err = meta.PutIf(ctx, s, "missing", []byte("x"), r)
	require.ErrorIs(t, err, meta.ErrConflict)
	_, _, err = s.Get(ctx, "missing")
	require.ErrorIs(t, err, meta.ErrNotFound)
}

func testConflict(t *testing.T, s meta.Store) {
	ctx := context.Background()
	r1 := put(t, s, "k", "one", "")
	r2 := put(t, s, "k", "two", r1)
	_, err := meta.PutIf(ctx, s, "k", []byte("three"), r1)
	require.ErrorIs(t, err, meta.ErrConflict)
	require.NotErrorIs(t, err, meta.ErrNotFound)
	err = meta.DeleteIf(ctx, s, "k", r1)
	require.ErrorIs(t, err, meta.ErrConflict)
	v, rev, err := s.Get(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, "two", string(v))
	require.Equal(t, r2, rev)
	_, err = meta.PutIf(ctx, s, "k", []byte("bogus"), "not-a-revision")
	require.ErrorIs(t, err, meta.ErrConflict)
}

func testMultiAtomic(t *testing.T, s meta.Store) {
	ctx := context.Background()
	ra := put(t, s, "x/a", "a1", "")
	rb := put(t, s, "x/b", "b1", "")
	rc := put(t, s, "x/c", "c1", "")

	// One stale op: nothing changes.
	_, err := s.Apply(ctx,
		meta.Op{Key: "x/a", Old: ra, Value: []byte("a2")},
		meta.Op{Key: "x/b", Old: "stale", Value: []byte("b2")},
		meta.Op{Key: "x/c", Old: rc},
		meta.Op{Key: "x/d", Value: []byte("d1")},
	)
	require.ErrorIs(t, err, meta.ErrConflict)
	require.Contains(t, err.Error(), "x/b")
	require.Equal(t, []entry{{"x/a", "a1", ra}, {"x/b", "b1", rb}, {"x/c", "c1", rc}}, list(t, s, "x/"))

	// All match: every op lands, with a revision each (none for deletes).
	revs, err := s.Apply(ctx,
		meta.Op{Key: "x/a", Old: ra, Value: []byte("a2")},
		meta.Op{Key: "x/b", Old: rb, Value: []byte("b2")},
		meta.Op{Key: "x/c", Old: rc},
		meta.Op{Key: "x/d", Value: []byte("d1")},
	)
	require.NoError(t, err)
	require.Len(t, revs, 4)
	require.Empty(t, revs[2])
	seen := map[meta.Rev]bool{ra: true, rb: true, rc: true}
	for _, i := range []int{0, 1, 3} {
		require.NotEmpty(t, revs[i])
		require.False(t, seen[revs[i]], "revision %s given twice", revs[i])
		seen[revs[i]] = true
	}
	require.Equal(t, []entry{{"x/a", "a2", revs[0]}, {"x/b", "b2", revs[1]}, {"x/d", "d1", revs[3]}}, list(t, s, "x/"))
}

func testDelete(t *testing.T, s meta.Store) {
	ctx := context.Background()
	r := put(t, s, "d/k", "v", "")
	put(t, s, "d/k/child", "c", "")
	require.NoError(t, meta.DeleteIf(ctx, s, "d/k", r))
	_, _, err := s.Get(ctx, "d/k")
	require.ErrorIs(t, err, meta.ErrNotFound)
	// Its children stay.
	got := list(t, s, "d/")
	require.Len(t, got, 1)
	require.Equal(t, "d/k/child", got[0].Key)
	// Deleting again conflicts: the key is absent, not at r.
	require.ErrorIs(t, meta.DeleteIf(ctx, s, "d/k", r), meta.ErrConflict)
	// Deleting the last key under a prefix leaves nothing listed.
	require.NoError(t, meta.DeleteIf(ctx, s, "d/k/child", got[0].Rev))
	require.Empty(t, list(t, s, "d/"))
	require.Empty(t, list(t, s, ""))
}

func testRevisions(t *testing.T, s meta.Store) {
	ctx := context.Background()
	seen := map[meta.Rev]bool{}
	var old meta.Rev
	for i := 0; i < 20; i++ {
		// Write the same value again and again, deleting it in between
		// every other time: a holder of an old revision must never
		// match a new write.
		r := put(t, s, "k", "same", old)
		require.False(t, seen[r], "revision %s reused", r)
		seen[r] = true
		for prev := range seen {
			if prev != r {
				_, err := meta.PutIf(ctx, s, "k", []byte("x"), prev)
				require.ErrorIs(t, err, meta.ErrConflict)
			}
		}
		if i%2 == 0 {
			require.NoError(t, meta.DeleteIf(ctx, s, "k", r))
			old = ""
		} else {
			old = r
		}
	}
}

func testInvalidKey(t *testing.T, s meta.Store) {
	ctx := context.Background()
	bad := []string{"", "/", "a/", "/a", "a//b", ".", "..", "a/../b", "a/./b", "A", "a b", "a\x00", "ü", "a\\b", strings.Repeat("x", meta.MaxKeyLen+1)}
	for _, k := range bad {
		_, _, err := s.Get(ctx, k)
		require.ErrorIs(t, err, meta.ErrInvalidKey, "Get %q", k)
		_, err = meta.PutIf(ctx, s, k, []byte("x"), "")
		require.ErrorIs(t, err, meta.ErrInvalidKey, "Put %q", k)
	}
	// A batch with one bad key changes nothing.
	_, err := s.Apply(ctx, meta.Op{Key: "good", Value: []byte("x")}, meta.Op{Key: "Bad", Value: []byte("x")})
	require.ErrorIs(t, err, meta.ErrInvalidKey)
	require.Empty(t, list(t, s, ""))
	put(t, s, strings.Repeat("x", meta.MaxKeyLen), "longest", "")
	put(t, s, "a.b/c_d/e-f/0..1", "odd", "")
	require.Len(t, list(t, s, ""), 2)
}

func testInvalidBatch(t *testing.T, s meta.Store) {
	ctx := context.Background()
	_, err := s.Apply(ctx)
	require.ErrorIs(t, err, meta.ErrInvalidKey)
	_, err = s.Apply(ctx, meta.Op{Key: "k", Value: []byte("1")}, meta.Op{Key: "k", Value: []byte("2")})
	require.ErrorIs(t, err, meta.ErrInvalidKey)
	require.Empty(t, list(t, s, ""))
}

func testConcurrent(t *testing.T, s meta.Store) {
	ctx := context.Background()
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if _, _, err := Increment(ctx, s, "counter"); err != nil {
					errs <- err
					return
				}
				// Disjoint keys, in batches, alongside.
				k := fmt.Sprintf("w/%d/%d", w, i)
				if _, err := s.Apply(ctx, meta.Op{Key: k, Value: []byte("x")}, meta.Op{Key: k + "/y", Value: []byte("y")}); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	v, _, err := s.Get(ctx, "counter")
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(workers*each), string(v))
	require.Len(t, list(t, s, "w/"), 2*workers*each)
}

func testCanceled(t *testing.T, s meta.Store) {
	put(t, s, "a", "1", "")
	put(t, s, "b", "2", "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := meta.PutIf(ctx, s, "c", []byte("3"), "")
	require.ErrorIs(t, err, context.Canceled)
	_, _, err = s.Get(context.Background(), "c")
	require.ErrorIs(t, err, meta.ErrNotFound)
	err = s.List(ctx, "", func(string, []byte, meta.Rev) error { return nil })
	require.ErrorIs(t, err, context.Canceled)

	// Canceled during a walk: the walk stops.
	ctx, cancel = context.WithCancel(context.Background())
	n := 0
	err = s.List(ctx, "", func(string, []byte, meta.Rev) error {
		n++
		cancel()
		return nil
	})
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, 1, n)
}
