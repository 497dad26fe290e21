package fs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/refs"
	"github.com/pkgvc/pkgvc/refs/refstest"
)

// requireCounterLog checks that ref name's reflog is the counter's moves
// from 0 up to want, each exactly once and in order.
func requireCounterLog(t *testing.T, b *Backend, name string, want uint64) {
	t.Helper()
	i := uint64(0)
	require.NoError(t, b.Log(t.Context(), name, func(e refs.Entry) error {
		require.Equal(t, i, refstest.N(e.Old), "%s: entry %d", name, i)
		require.Equal(t, i+1, refstest.N(e.New), "%s: entry %d", name, i)
		i++
		return nil
	}))
	require.Equal(t, want, i, "%s: entries", name)
}

// requireValidFile checks that a log or reflog file is nothing but valid
// lines and returns how many.
func requireValidFile(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	if len(data) == 0 {
		return 0
	}
	require.Equal(t, byte('\n'), data[len(data)-1], "%s ends in a partial line", path)
	lines := bytes.SplitAfter(data, []byte("\n"))
	lines = lines[:len(lines)-1]
	for i, line := range lines {
		_, ok := frame(line)
		require.True(t, ok, "%s: line %d: %q", path, i, line)
	}
	return len(lines)
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	return fi.Size()
}

// increment moves counter ref name, and the others with it, from n to
// n+1 through b (refstest.ID(0) is the zero ID: absent).
func increment(t *testing.T, b refs.Backend, name string, n uint64, others ...string) {
	t.Helper()
	ups := []refs.Update{{Name: name, Old: refstest.ID(n), New: refstest.ID(n + 1)}}
	for _, o := range others {
		ups = append(ups, refs.Update{Name: o, Old: refstest.ID(n), New: refstest.ID(n + 1)})
	}
	require.NoError(t, b.Apply(t.Context(), refs.Txn{Updates: ups, Who: "test", Action: "increment"}))
}

func TestCheckpointBoundsLog(t *testing.T) {
	if testing.Short() {
		t.Skip("10 000 fsynced transactions")
	}
	const (
		txns  = 10_000
		every = 200
	)
	dir := t.TempDir()
	b := newBackend(t, dir)
	b.checkpointEvery = every
	names := []string{"heads/a", "heads/b", "heads/c", "tags/d"}
	counts := make([]uint64, len(names))
	logPath := filepath.Join(dir, logFile)
	var firstMax, maxSize int64
	for i := range txns {
		r := i % len(names)
		increment(t, b, names[r], counts[r])
		counts[r]++
		size := fileSize(t, logPath)
		maxSize = max(maxSize, size)
		if i < 2*every {
			firstMax = maxSize
		}
	}
	// The log never grows past what one checkpoint interval writes: it
	// does not grow with the number of transactions.
	t.Logf("%d transactions: log at most %d bytes (%d over the first %d); %d bytes now", txns, maxSize, firstMax, 2*every, fileSize(t, logPath))
	require.LessOrEqual(t, maxSize, firstMax+firstMax/20)
	require.LessOrEqual(t, requireValidFile(t, logPath), every+1)

	// Every entry is still there, in order, whichever process reads.
	for _, be := range []*Backend{b, newBackend(t, dir)} {
		for r, name := range names {
			requireCounterLog(t, be, name, counts[r])
			got, err := be.Get(t.Context(), name)
			require.NoError(t, err)
			require.Equal(t, counts[r], refstest.N(got))
		}
	}
	des, err := os.ReadDir(filepath.Join(dir, reflogDir))
	require.NoError(t, err)
	require.Len(t, des, len(names), "one reflog file per ref")
	total := 0
	for _, de := range des {
		total += requireValidFile(t, filepath.Join(dir, reflogDir, de.Name()))
	}
	require.Greater(t, total, txns-every-1)
	_, err = os.Stat(filepath.Join(dir, snapshotFile))
	require.ErrorIs(t, err, os.ErrNotExist, "a checkpoint makes the snapshot needless")
}

// TestReaderAcrossCheckpoints has a Backend opened before any checkpoint
// read while another writes through many: each read sees every
// transaction up to some point exactly once.
func TestReaderAcrossCheckpoints(t *testing.T) {
	const txns = 1500
	dir := t.TempDir()
	writer, reader := newBackend(t, dir), newBackend(t, dir)
	writer.checkpointEvery = 20
	ctx := t.Context()

	done := make(chan struct{})
	var wg sync.WaitGroup
	reads := 0
	wg.Go(func() {
		var last uint64
		for {
			select {
			case <-done:
				return
			default:
			}
			cur, err := reader.Get(ctx, "c")
			if errors.Is(err, refs.ErrNotFound) {
				continue
			}
			if !assertNoError(t, err) {
				return
			}
			n := refstest.N(cur)
			if n < last {
				t.Errorf("counter went back from %d to %d", last, n)
				return
			}
			last = n
			// The reflog, read after, has at least those moves, each once.
			i := uint64(0)
			err = reader.Log(ctx, "c", func(e refs.Entry) error {
				if refstest.N(e.Old) != i || refstest.N(e.New) != i+1 {
					return fmt.Errorf("entry %d: %d -> %d", i, refstest.N(e.Old), refstest.N(e.New))
				}
				i++
				return nil
			})
			if !assertNoError(t, err) {
				return
			}
			if i < n {
				t.Errorf("reflog has %d moves, the counter %d", i, n)
				return
			}
			reads++
		}
	})
	var c, o uint64
	for i := range txns {
		ups := []refs.Update{{Name: "c", Old: refstest.ID(c), New: refstest.ID(c + 1)}}
		if i%3 == 0 { // now and then a second ref
			ups = append(ups, refs.Update{Name: "other", Old: refstest.ID(o), New: refstest.ID(o + 1)})
			o++
		}
		apply(t, writer, ups...)
		c++
	}
	close(done)
	wg.Wait()
	t.Logf("%d consistent reads across %d checkpoints", reads, txns/20)
	cur, err := reader.Get(ctx, "c")
	require.NoError(t, err)
	requireCounterLog(t, reader, "c", refstest.N(cur))
}

func assertNoError(t *testing.T, err error) bool {
	t.Helper()
	if err != nil {
		t.Error(err)
		return false
	}
	return true
}

// TestCheckpointCrash stops checkpoints where a crash could: after the
// reflog files got the entries but before the new log replaced the old
// one. No entry may be lost or appear twice, then or after later
// checkpoints.
func TestCheckpointCrash(t *testing.T) {
	for _, point := range []string{"reflogs written", "new log written"} {
		t.Run(point, func(t *testing.T) {
			dir := t.TempDir()
			b := newBackend(t, dir)
			b.checkpointEvery = 10
			crashes := 0
			crashAt = func(p string) error {
				if p == point {
					crashes++
					return errors.New("crash")
				}
				return nil
			}
			defer func() { crashAt = nil }()

			n := uint64(0)
			for range 25 {
				increment(t, b, "a", n, "b")
				n++
			}
			require.Positive(t, crashes)
			// The log was never replaced: every entry is both in it and in
			// a reflog file.
			require.Equal(t, 25, requireValidFile(t, filepath.Join(dir, logFile)))
			require.Equal(t, 25, requireValidFile(t, b.reflogPath("a")))
			for _, be := range []*Backend{b, newBackend(t, dir)} {
				requireCounterLog(t, be, "a", n)
				requireCounterLog(t, be, "b", n)
			}

			// A checkpoint that crashed mid-append left a torn line too.
			f, err := os.OpenFile(b.reflogPath("b"), os.O_WRONLY|os.O_APPEND, 0)
			require.NoError(t, err)
			_, err = f.WriteString(`{"seq":26,"name":"b","ti`)
			require.NoError(t, err)
			require.NoError(t, f.Close())
			requireCounterLog(t, newBackend(t, dir), "b", n)

			// The next checkpoint, in another process, finishes the job.
			crashAt = nil
			b2 := newBackend(t, dir)
			b2.checkpointEvery = 10
			increment(t, b2, "a", n, "b")
			n++
			require.Equal(t, 1, requireValidFile(t, filepath.Join(dir, logFile)), "only the checkpoint record")
			require.Equal(t, int(n), requireValidFile(t, b.reflogPath("a")))
			require.Equal(t, int(n), requireValidFile(t, b.reflogPath("b")))
			for _, be := range []*Backend{b, b2, newBackend(t, dir)} {
				requireCounterLog(t, be, "a", n)
				requireCounterLog(t, be, "b", n)
			}
		})
	}
}

// TestLegacyLog checkpoints a log written before checkpoints existed,
// with its snapshot, and ignores that snapshot afterwards.
func TestLegacyLog(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	writeHistory(t, dir, 5, 300)
	old := newBackend(t, dir)
	old.checkpointEvery = 0
	old.snapshotEvery = 100
	apply(t, old, refs.Update{Name: "heads/new", New: refstest.ID(1)})
	snap, err := os.ReadFile(filepath.Join(dir, snapshotFile))
	require.NoError(t, err)
	want := list(t, old)

	reader := newBackend(t, dir)
	require.NotZero(t, reader.st.base, "the legacy snapshot is used")
	b := newBackend(t, dir)
	b.checkpointEvery = 100
	apply(t, b, refs.Update{Name: "heads/new", Old: refstest.ID(1), New: refstest.ID(2)})
	want["heads/new"] = refstest.ID(2)
	require.Equal(t, 1, requireValidFile(t, filepath.Join(dir, logFile)))

	// A stale snapshot of the old log does not fit the new one.
	require.NoError(t, os.WriteFile(filepath.Join(dir, snapshotFile), snap, 0o644))
	for _, be := range []*Backend{reader, old, newBackend(t, dir)} {
		require.Equal(t, want, list(t, be))
		require.Equal(t, 2, logLen(t, be, "heads/new"))
		require.Equal(t, 60, logLen(t, be, "heads/r3"))
		got, err := be.Get(ctx, "heads/r3")
		require.NoError(t, err)
		require.Equal(t, want["heads/r3"], got)
	}
}

// TestExpireLeftovers: an Expire that crashed leaves a temporary file,
// which the next one removes; entries are never half expired.
func TestExpireLeftovers(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	b := newBackend(t, dir)
	increment(t, b, "a", 0)
	time.Sleep(2 * time.Millisecond)
	cut := time.Now()
	increment(t, b, "a", 1)
	tmp := b.reflogPath("a") + ".tmp"
	require.NoError(t, os.WriteFile(tmp, []byte("half written"), 0o644))

	removed, err := b.Expire(ctx, cut)
	require.NoError(t, err)
	require.Equal(t, 1, removed)
	_, err = os.Stat(tmp)
	require.ErrorIs(t, err, os.ErrNotExist)
	var got []uint64
	require.NoError(t, b.Log(ctx, "a", func(e refs.Entry) error { got = append(got, refstest.N(e.New)); return nil }))
	require.Equal(t, []uint64{2}, got)
	require.Equal(t, 1, requireValidFile(t, b.reflogPath("a")))

	// Expired entries stay gone for a process that read the log before.
	other := newBackend(t, dir)
	increment(t, b, "a", 2)
	removed, err = b.Expire(ctx, time.Now().Add(time.Second))
	require.NoError(t, err)
	require.Equal(t, 2, removed)
	require.Zero(t, logLen(t, other, "a"))
	_, err = os.Stat(b.reflogPath("a"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

// TestReflogFileOfOtherRef: a reflog file must hold its own ref's lines.
func TestReflogFileOfOtherRef(t *testing.T) {
	dir := t.TempDir()
	b := newBackend(t, dir)
	b.checkpointEvery = 1
	increment(t, b, "a", 0)
	increment(t, b, "b", 0)
	data, err := os.ReadFile(b.reflogPath("b"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(b.reflogPath("a"), data, 0o644))
	err = b.Log(t.Context(), "a", func(refs.Entry) error { return nil })
	require.ErrorIs(t, err, ErrCorrupt)
	_, err = b.Expire(context.Background(), time.Now())
	require.ErrorIs(t, err, ErrCorrupt)
}

func TestReflogEnd(t *testing.T) {
	line := func(seq uint64, action string) []byte {
		l, err := encodeLine(&entryLine{Seq: seq, Name: "r", Action: action})
		require.NoError(t, err)
		return l
	}
	long := strings.Repeat("x", 100<<10) // longer than the first read
	l1, l2, l3, l3long := line(1, "a"), line(2, "b"), line(3, "c"), line(3, long)
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name string
		data []byte
		base uint64
		want int
	}{
		{"empty", nil, 5, 0},
		{"all kept", join(l1, l2), 5, len(l1) + len(l2)},
		{"lines past base cut", join(l1, l2, l3), 1, len(l1)},
		{"torn tail", join(l1, l2, l3[:10]), 5, len(l1) + len(l2)},
		{"torn newline-free tail", join(l1, l2, []byte("garbage")), 5, len(l1) + len(l2)},
		{"bad crc at the end", join(l1, []byte("{\"seq\":2}\t00000000\n")), 5, len(l1)},
		{"nothing up to base", join(l2, l3), 1, 0},
		{"long line kept", join(l1, l3long), 3, len(l1) + len(l3long)},
		{"long line cut", join(l1, l3long, l3long[:50]), 2, len(l1)},
		{"long first line", join(l3long, line(4, "d")), 3, len(l3long)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "r")
			require.NoError(t, os.WriteFile(path, tt.data, 0o644))
			f, err := os.Open(path)
			require.NoError(t, err)
			defer f.Close()
			got, err := reflogEnd(f, int64(len(tt.data)), tt.base)
			require.NoError(t, err)
			require.Equal(t, int64(tt.want), got)
		})
	}
}
