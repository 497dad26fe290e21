package refstest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/refs"
)

// Run runs the conformance suite. newBackend must return a fresh, empty
// Backend for each call. A Backend that implements refs.Expirer is held
// to its contract too.
func Run(t *testing.T, newBackend func(t *testing.T) refs.Backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b refs.Backend)
	}{
		{"Create", testCreate},
		{"CAS", testCAS},
		{"Delete", testDelete},
		{"Check", testCheck},
		{"MultiAtomic", testMultiAtomic},
		{"List", testList},
		{"Log", testLog},
		{"LogMany", testLogMany},
		{"Expire", testExpire},
		{"InvalidName", testInvalidName},
		{"InvalidTxn", testInvalidTxn},
		{"Canceled", testCanceled},
		{"Concurrent", testConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newBackend(t)) })
	}
}

// ID returns a distinct non-zero test ID for n > 0: n big-endian in the
// last 8 bytes. N reverses it.
func ID(n uint64) objects.ID {
	var id objects.ID
	binary.BigEndian.PutUint64(id[24:], n)
	return id
}

// N returns the counter stored in an ID made by ID; the zero ID is 0.
func N(id objects.ID) uint64 { return binary.BigEndian.Uint64(id[24:]) }

// Increment adds one to the counter ref name, retrying on ErrConflict. It
// returns the new value and how many conflicts it retried.
func Increment(ctx context.Context, b refs.Backend, name, who string) (uint64, int, error) {
	conflicts := 0
	for {
		cur, err := b.Get(ctx, name)
		if err != nil && !errors.Is(err, refs.ErrNotFound) {
			return 0, conflicts, err
		}
		next := N(cur) + 1
		err = b.Apply(ctx, refs.Txn{
			Updates: []refs.Update{{Name: name, Old: cur, New: ID(next)}},
			Who:     who,
			Action:  "increment",
		})
		switch {
		case err == nil:
			return next, conflicts, nil
		case errors.Is(err, refs.ErrConflict):
			conflicts++
		default:
			return 0, conflicts, err
		}
	}
}

func set(t *testing.T, b refs.Backend, updates ...refs.Update) {
	t.Helper()
	require.NoError(t, b.Apply(t.Context(), refs.Txn{Updates: updates, Who: "test", Action: "set"}))
}

func requireValue(t *testing.T, b refs.Backend, name string, want objects.ID) {
	t.Helper()
	got, err := b.Get(t.Context(), name)
	if want.IsZero() {
		require.ErrorIs(t, err, refs.ErrNotFound)
		require.Contains(t, err.Error(), name)
		return
	}
	require.NoError(t, err)
	require.Equal(t, want, got, "ref %s", name)
}

func requireConflict(t *testing.T, err error, name string) {
	t.Helper()
	require.ErrorIs(t, err, refs.ErrConflict)
	require.Contains(t, err.Error(), name)
}

func collectLog(t *testing.T, b refs.Backend, name string) []refs.Entry {
	t.Helper()
	var out []refs.Entry
	require.NoError(t, b.Log(t.Context(), name, func(e refs.Entry) error {
		out = append(out, e)
		return nil
	}))
	return out
}

func collectList(t *testing.T, b refs.Backend, prefix string) []string {
	t.Helper()
	var out []string
	require.NoError(t, b.List(t.Context(), prefix, func(name string, id objects.ID) error {
		out = append(out, name+"="+fmt.Sprint(N(id)))
		return nil
	}))
	return out
}

func testCreate(t *testing.T, b refs.Backend) {
	ctx := t.Context()
	requireValue(t, b, "heads/main", objects.ID{})
	set(t, b, refs.Update{Name: "heads/main", New: ID(1)})
	requireValue(t, b, "heads/main", ID(1))

	// Creating again requires "must not exist".
	err := b.Apply(ctx, refs.Txn{Updates: []refs.Update{{Name: "heads/main", New: ID(2)}}})
	requireConflict(t, err, "heads/main")
	requireValue(t, b, "heads/main", ID(1))

	// A hex object ID is a valid segment.
	hex := objects.Sum([]byte("x")).String()
	set(t, b, refs.Update{Name: "versions/" + hex, New: ID(3)})
	requireValue(t, b, "versions/"+hex, ID(3))
}

func testCAS(t *testing.T, b refs.Backend) {
	ctx := t.Context()
	set(t, b, refs.Update{Name: "a", New: ID(1)})
	tests := []struct {
		name     string
		old, new objects.ID
		wantErr  bool
		want     objects.ID
	}{
		{"match", ID(1), ID(2), false, ID(2)},
		{"stale old", ID(1), ID(3), true, ID(2)},
		{"zero old on existing", objects.ID{}, ID(3), true, ID(2)},
		{"match again", ID(2), ID(3), false, ID(3)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := b.Apply(ctx, refs.Txn{Updates: []refs.Update{{Name: "a", Old: tt.old, New: tt.new}}})
			if tt.wantErr {
				requireConflict(t, err, "a")
			} else {
				require.NoError(t, err)
			}
			requireValue(t, b, "a", tt.want)
		})
	}
	// A CAS on a missing ref with a non-zero Old is a conflict too.
	err := b.Apply(ctx, refs.Txn{Updates: []refs.Update{{Name: "missing", Old: ID(1), New: ID(2)}}})
	requireConflict(t, err, "missing")
	requireValue(t, b, "missing", objects.ID{})
	require.Len(t, collectLog(t, b, "a"), 3)
	require.Empty(t, collectLog(t, b, "missing"))
}

func testDelete(t *testing.T, b refs.Backend) {
	ctx := t.Context()
	set(t, b, refs.Update{Name: "d", New: ID(1)})

	err := b.Apply(ctx, refs.Txn{Updates: []refs.Update{{Name: "d", Old: ID(2)}}})
	requireConflict(t, err, "d")
	requireValue(t, b, "d", ID(1))

	set(t, b, refs.Update{Name: "d", Old: ID(1)})
	requireValue(t, b, "d", objects.ID{})
	require.Empty(t, collectList(t, b, ""))

	// Deleting again needs the old value, which is now "absent".
	err = b.Apply(ctx, refs.Txn{Updates: []refs.Update{{Name: "d", Old: ID(1)}}})
	requireConflict(t, err, "d")

	// Recreate after delete.
	set(t, b, refs.Update{Name: "d", New: ID(5)})
	requireValue(t, b, "d", ID(5))

	log := collectLog(t, b, "d")
	require.Len(t, log, 3)
	require.Equal(t, ID(1), log[1].Old)
	require.True(t, log[1].New.IsZero())
}

func testCheck(t *testing.T, b refs.Backend) {
	ctx := t.Context()
	set(t, b, refs.Update{Name: "guard", New: ID(1)})

	// Old == New is a pure check: it succeeds or conflicts, changes
	// nothing and writes no reflog entry.
	set(t, b, refs.Update{Name: "guard", Old: ID(1), New: ID(1)}, refs.Update{Name: "target", New: ID(7)})
	requireValue(t, b, "target", ID(7))
	err := b.Apply(ctx, refs.Txn{Updates: []refs.Update{
		{Name: "guard", Old: ID(2), New: ID(2)},
		{Name: "target", Old: ID(7), New: ID(8)},
	}})
	requireConflict(t, err, "guard")
	requireValue(t, b, "target", ID(7))

	// "Must not exist" as a check.
	set(t, b, refs.Update{Name: "absent"})
	err = b.Apply(ctx, refs.Txn{Updates: []refs.Update{{Name: "guard"}}})
	requireConflict(t, err, "guard")

	require.Len(t, collectLog(t, b, "guard"), 1)
	require.Empty(t, collectLog(t, b, "absent"))
	require.Len(t, collectLog(t, b, "target"), 1)
}

func testMultiAtomic(t *testing.T, b refs.Backend) {
	ctx := t.Context()
	set(t, b,
		refs.Update{Name: "m/a", New: ID(1)},
		refs.Update{Name: "m/b", New: ID(1)},
		refs.Update{Name: "m/c", New: ID(1)},
	)
	before := collectList(t, b, "")

	// One bad Old (in any position) means nothing changes.
	for bad := range 3 {
		t.Run(fmt.Sprint("bad=", bad), func(t *testing.T) {
			updates := []refs.Update{
				{Name: "m/a", Old: ID(1), New: ID(2)},
				{Name: "m/b", Old: ID(1)},
				{Name: "m/c", Old: ID(1), New: ID(2)},
				{Name: "m/new", New: ID(2)},
			}
			updates[bad].Old = ID(9)
			err := b.Apply(ctx, refs.Txn{Updates: updates, Who: "w", Action: "bad"})
			requireConflict(t, err, updates[bad].Name)
			require.Equal(t, before, collectList(t, b, ""))
			for _, u := range updates {
				for _, e := range collectLog(t, b, u.Name) {
					require.NotEqual(t, "bad", e.Action)
				}
			}
		})
	}

	set(t, b,
		refs.Update{Name: "m/a", Old: ID(1), New: ID(2)},
		refs.Update{Name: "m/b", Old: ID(1)},
		refs.Update{Name: "m/c", Old: ID(1), New: ID(3)},
		refs.Update{Name: "m/new", New: ID(4)},
	)
	require.Equal(t, []string{"m/a=2", "m/c=3", "m/new=4"}, collectList(t, b, ""))
	// The entries of one transaction share the time.
	la, lnew := collectLog(t, b, "m/a"), collectLog(t, b, "m/new")
	require.Len(t, la, 2)
	require.Len(t, lnew, 1)
	require.True(t, la[1].Time.Equal(lnew[0].Time))
}

func testList(t *testing.T, b refs.Backend) {
	ctx := t.Context()
	var updates []refs.Update
	for i, name := range []string{"tags/v2", "heads/main", "heads/dev", "tags/v1", "heads/dev/x", "headsup", "z"} {
		updates = append(updates, refs.Update{Name: name, New: ID(uint64(i + 1))})
	}
	set(t, b, updates...)

	tests := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"heads/dev=3", "heads/dev/x=5", "heads/main=2", "headsup=6", "tags/v1=4", "tags/v2=1", "z=7"}},
		{"heads/", []string{"heads/dev=3", "heads/dev/x=5", "heads/main=2"}},
		{"heads", []string{"heads/dev=3", "heads/dev/x=5", "heads/main=2", "headsup=6"}},
		{"tags/v1", []string{"tags/v1=4"}},
		{"nope/", nil},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			require.Equal(t, tt.want, collectList(t, b, tt.prefix))
		})
	}

	t.Run("stop", func(t *testing.T) {
		stop := errors.New("stop")
		var seen []string
		err := b.List(ctx, "", func(name string, _ objects.ID) error {
			seen = append(seen, name)
			if len(seen) == 2 {
				return stop
			}
			return nil
		})
		require.ErrorIs(t, err, stop)
		require.Equal(t, []string{"heads/dev", "heads/dev/x"}, seen)
	})

	t.Run("reentrant", func(t *testing.T) {
		// fn may call the backend.
		n := 0
		require.NoError(t, b.List(ctx, "tags/", func(name string, id objects.ID) error {
			got, err := b.Get(ctx, name)
			require.NoError(t, err)
			require.Equal(t, id, got)
			n++
			return nil
		}))
		require.Equal(t, 2, n)
	})
}

func testLog(t *testing.T, b refs.Backend) {
	ctx := t.Context()
	start := time.Now().Add(-time.Second)
	steps := []struct {
		who, action string
		old, new    objects.ID
	}{
		{"alice", "create", objects.ID{}, ID(1)},
		{"bob", "promote v2", ID(1), ID(2)},
		{"", "", ID(2), ID(3)},
		{"carol <c@example.com>", "delete", ID(3), objects.ID{}},
	}
	for _, s := range steps {
		require.NoError(t, b.Apply(ctx, refs.Txn{
			Updates: []refs.Update{{Name: "log/ref", Old: s.old, New: s.new}, {Name: "log/other", Old: s.old, New: s.new}},
			Who:     s.who,
			Action:  s.action,
		}))
	}
	end := time.Now().Add(time.Second)
	requireValue(t, b, "log/ref", objects.ID{})

	// The deleted ref still has its whole log, oldest first.
	log := collectLog(t, b, "log/ref")
	require.Len(t, log, len(steps))
	for i, s := range steps {
		e := log[i]
		require.Equal(t, "log/ref", e.Name)
		require.Equal(t, s.old, e.Old)
		require.Equal(t, s.new, e.New)
		require.Equal(t, s.who, e.Who)
		require.Equal(t, s.action, e.Action)
		require.Equal(t, time.UTC, e.Time.Location())
		require.True(t, e.Time.After(start) && e.Time.Before(end), "time %v", e.Time)
		if i > 0 {
			require.False(t, e.Time.Before(log[i-1].Time))
		}
	}
	require.Len(t, collectLog(t, b, "log/other"), len(steps))
	require.Empty(t, collectLog(t, b, "log/never"))

	stop := errors.New("stop")
	n := 0
	err := b.Log(ctx, "log/ref", func(refs.Entry) error { n++; return stop })
	require.ErrorIs(t, err, stop)
	require.Equal(t, 1, n)
}

func testInvalidName(t *testing.T, b refs.Backend) {
	ctx := t.Context()
	for _, name := range []string{"", "/", "a//b", "/a", "a/", "Main", "-a", ".a", "a/../b", "a b", "é", strings.Repeat("a", 256)} {
		t.Run(fmt.Sprintf("%q", name), func(t *testing.T) {
			err := b.Apply(ctx, refs.Txn{Updates: []refs.Update{{Name: name, New: ID(1)}}})
			require.ErrorIs(t, err, refs.ErrInvalidName)
			require.ErrorIs(t, err, refs.ErrInvalidTxn)
			_, err = b.Get(ctx, name)
			require.ErrorIs(t, err, refs.ErrInvalidName)
			err = b.Log(ctx, name, func(refs.Entry) error { return nil })
			require.ErrorIs(t, err, refs.ErrInvalidName)
		})
	}
	long := strings.Repeat("a", 255)
	set(t, b, refs.Update{Name: long, New: ID(1)})
	requireValue(t, b, long, ID(1))
}

func testInvalidTxn(t *testing.T, b refs.Backend) {
	ctx := t.Context()
	tests := []struct {
		name string
		txn  refs.Txn
	}{
		{"empty", refs.Txn{}},
		{"duplicate", refs.Txn{Updates: []refs.Update{{Name: "x", New: ID(1)}, {Name: "y", New: ID(1)}, {Name: "x", New: ID(2)}}}},
		{"duplicate check", refs.Txn{Updates: []refs.Update{{Name: "x"}, {Name: "x"}}}},
		{"who newline", refs.Txn{Updates: []refs.Update{{Name: "x", New: ID(1)}}, Who: "a\nb"}},
		{"action newline", refs.Txn{Updates: []refs.Update{{Name: "x", New: ID(1)}}, Action: "a\r"}},
		{"bad utf8", refs.Txn{Updates: []refs.Update{{Name: "x", New: ID(1)}}, Action: "\xff"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorIs(t, b.Apply(ctx, tt.txn), refs.ErrInvalidTxn)
		})
	}
	require.Empty(t, collectList(t, b, ""))
	require.Empty(t, collectLog(t, b, "x"))

	// Tabs, quotes and other text are fine in Who/Action.
	set(t, b, refs.Update{Name: "x", New: ID(1)})
	require.NoError(t, b.Apply(ctx, refs.Txn{
		Updates: []refs.Update{{Name: "x", Old: ID(1), New: ID(2)}},
		Who:     "tab\there \"quoted\" <html>&",
		Action:  "ünïcode ✓",
	}))
	log := collectLog(t, b, "x")
	require.Len(t, log, 2)
	require.Equal(t, "tab\there \"quoted\" <html>&", log[1].Who)
	require.Equal(t, "ünïcode ✓", log[1].Action)
}

func testCanceled(t *testing.T, b refs.Backend) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := b.Apply(ctx, refs.Txn{Updates: []refs.Update{{Name: "c", New: ID(1)}}})
	require.ErrorIs(t, err, context.Canceled)
	_, err = b.Get(ctx, "c")
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, b.List(ctx, "", func(string, objects.ID) error { return nil }), context.Canceled)
	require.ErrorIs(t, b.Log(ctx, "c", func(refs.Entry) error { return nil }), context.Canceled)
	requireValue(t, b, "c", objects.ID{})
}

func testConcurrent(t *testing.T, b refs.Backend) {
	const (
		workers = 8
		each    = 25
		name    = "counter"
	)
	ctx := t.Context()
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		successes int
		values    = map[uint64]bool{}
		errs      []error
	)
	for w := range workers {
		wg.Go(func() {
			for range each {
				v, _, err := Increment(ctx, b, name, fmt.Sprint("worker", w))
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					successes++
					values[v] = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Empty(t, errs)
	require.Equal(t, workers*each, successes)
	require.Len(t, values, successes, "two increments returned the same value")

	got, err := b.Get(ctx, name)
	require.NoError(t, err)
	require.Equal(t, uint64(successes), N(got))

	log := collectLog(t, b, name)
	require.Len(t, log, successes)
	for i, e := range log {
		require.Equal(t, uint64(i), N(e.Old))
		require.Equal(t, uint64(i+1), N(e.New))
		require.Equal(t, "increment", e.Action)
	}
}

// testLogMany keeps the reflog of several refs in order over many
// transactions, enough to cross any checkpoint a backend makes.
func testLogMany(t *testing.T, b refs.Backend) {
	const txns = 300
	names := []string{"many/a", "many/b", "many/c"}
	cur := map[string]objects.ID{}
	want := map[string][]uint64{}
	for i := uint64(1); i <= txns; i++ {
		// Most transactions move one ref; every fifth moves all of them,
		// and every 50th deletes one.
		var ups []refs.Update
		for j, name := range names {
			if i%5 != 0 && int(i)%len(names) != j {
				continue
			}
			next := ID(i)
			if i%50 == 0 && j == 0 {
				next = objects.ID{}
			}
			ups = append(ups, refs.Update{Name: name, Old: cur[name], New: next})
			cur[name] = next
			want[name] = append(want[name], N(next))
		}
		require.NoError(t, b.Apply(t.Context(), refs.Txn{Updates: ups, Who: "w", Action: fmt.Sprint("step ", i)}))
	}
	for _, name := range names {
		log := collectLog(t, b, name)
		got := make([]uint64, len(log))
		var prev objects.ID
		for i, e := range log {
			require.Equal(t, prev, e.Old, "%s entry %d", name, i)
			prev = e.New
			got[i] = N(e.New)
		}
		require.Equal(t, want[name], got, name)
		requireValue(t, b, name, cur[name])
	}
}

func testExpire(t *testing.T, b refs.Backend) {
	ex, ok := b.(refs.Expirer)
	if !ok {
		t.Skipf("%T does not implement refs.Expirer", b)
	}
	ctx := t.Context()
	// Entries before cut: x created and moved, y created and deleted.
	set(t, b, refs.Update{Name: "x", New: ID(1)}, refs.Update{Name: "y", New: ID(1)})
	set(t, b, refs.Update{Name: "x", Old: ID(1), New: ID(2)}, refs.Update{Name: "y", Old: ID(1)})
	time.Sleep(5 * time.Millisecond)
	cut := time.Now()
	time.Sleep(5 * time.Millisecond)
	set(t, b, refs.Update{Name: "x", Old: ID(2), New: ID(3)}, refs.Update{Name: "z", New: ID(1)})
	require.Len(t, collectLog(t, b, "x"), 3)

	removed, err := ex.Expire(ctx, cut)
	require.NoError(t, err)
	require.Equal(t, 4, removed)
	log := collectLog(t, b, "x")
	require.Len(t, log, 1)
	require.Equal(t, ID(2), log[0].Old)
	require.Equal(t, ID(3), log[0].New)
	require.Empty(t, collectLog(t, b, "y"))
	require.Len(t, collectLog(t, b, "z"), 1)
	// Refs keep their values.
	require.Equal(t, []string{"x=3", "z=1"}, collectList(t, b, ""))

	// Nothing more is that old.
	removed, err = ex.Expire(ctx, cut)
	require.NoError(t, err)
	require.Zero(t, removed)

	// The reflog goes on after an expiry.
	set(t, b, refs.Update{Name: "x", Old: ID(3), New: ID(4)})
	log = collectLog(t, b, "x")
	require.Len(t, log, 2)
	require.Equal(t, ID(4), log[1].New)

	removed, err = ex.Expire(ctx, time.Now().Add(time.Second))
	require.NoError(t, err)
	require.Equal(t, 3, removed)
	for _, name := range []string{"x", "y", "z"} {
		require.Empty(t, collectLog(t, b, name))
	}
	require.Equal(t, []string{"x=4", "z=1"}, collectList(t, b, ""))

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = ex.Expire(canceled, time.Now())
	require.ErrorIs(t, err, context.Canceled)
}
