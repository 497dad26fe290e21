package fs

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/refs"
	"github.com/pkgvc/pkgvc/refs/refstest"
)

// writeHistory writes a log of txns transactions spread round-robin over
// nrefs refs straight to dir/log, as Apply would have: writing it through
// Apply would cost one fsync each.
func writeHistory(tb testing.TB, dir string, nrefs, txns int) {
	tb.Helper()
	require.NoError(tb, os.MkdirAll(dir, 0o755))
	f, err := os.Create(filepath.Join(dir, logFile))
	require.NoError(tb, err)
	w := bufio.NewWriter(f)
	cur := make([]objects.ID, nrefs)
	t0 := time.Now().UTC().Add(-time.Hour)
	for i := range txns {
		r := i % nrefs
		next := refstest.ID(uint64(i + 1))
		line, err := encodeLine(&record{
			Seq: uint64(i + 1), Time: t0.Add(time.Duration(i) * time.Millisecond), Who: "bench", Action: "move",
			Updates: []recordItem{{Name: fmt.Sprintf("heads/r%d", r), Old: cur[r], New: next}},
		})
		require.NoError(tb, err)
		_, err = w.Write(line)
		require.NoError(tb, err)
		cur[r] = next
	}
	require.NoError(tb, w.Flush())
	require.NoError(tb, f.Close())
}

// BenchmarkLogOneRef reads one ref's reflog among 1 000 refs after 100 000
// transactions.
func BenchmarkLogOneRef(b *testing.B) {
	const (
		nrefs = 1000
		txns  = 100_000
	)
	dir := b.TempDir()
	writeHistory(b, dir, nrefs, txns)
	be, err := New(dir)
	require.NoError(b, err)
	ctx := context.Background()
	// One more transaction, as any writer would make next; it checkpoints
	// the log, written as if without checkpoints.
	start := time.Now()
	require.NoError(b, be.Apply(ctx, refs.Txn{Updates: []refs.Update{{Name: "heads/new", New: refstest.ID(1)}}}))
	firstApply := time.Since(start)
	for b.Loop() {
		n := 0
		if err := be.Log(ctx, "heads/r500", func(refs.Entry) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		if n != txns/nrefs {
			b.Fatalf("%d entries, want %d", n, txns/nrefs)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, logFile))
	require.NoError(b, err)
	b.ReportMetric(float64(fi.Size()), "log-bytes")
	b.ReportMetric(firstApply.Seconds()*1000, "first-apply-ms")
}

// BenchmarkApplyManyRefs moves 1 000 refs in turn: the worst case for
// checkpoints, each of which appends to (and fsyncs) 1 000 reflog files.
func BenchmarkApplyManyRefs(b *testing.B) {
	be, err := New(b.TempDir())
	require.NoError(b, err)
	ctx := context.Background()
	cur := make([]objects.ID, 1000)
	n := uint64(0)
	for b.Loop() {
		n++
		r := n % uint64(len(cur))
		next := refstest.ID(n)
		name := fmt.Sprintf("heads/r%d", r)
		if err := be.Apply(ctx, refs.Txn{Updates: []refs.Update{{Name: name, Old: cur[r], New: next}}}); err != nil {
			b.Fatal(err)
		}
		cur[r] = next
	}
}
