package tree

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/pkgvc/pkgvc/objects"
)

// The benchmarks compare the version-1 trie with the version-2 tree at
// 10^6 records, and at 10^7 with PKGVC_BENCH_LARGE=1:
//
//	go test ./repo/tree -run XXX -bench . -benchtime 1x -timeout 60m
//
// Each reports its cost per operation (ms/commit, ms/diff, ms/read), the new
// bytes and objects a commit writes (newB/commit, objs/commit), records per
// second (recs/s), bytes allocated by a build and the process's peak RSS so
// far (maxrss-MB).

// benchPath lays records out as a package pool: 10 files a directory.
func benchPath(i int) string {
	return fmt.Sprintf("pool/%02x/%07d/pkg%07d-1.%d-py3-none-any.whl", (i/10)%256, i/10, i/10, i%10)
}

func benchEntries(n int) []Entry {
	es := make([]Entry, n)
	var meta map[string]string
	for i := range es {
		if i%10 == 0 {
			meta = map[string]string{"name": fmt.Sprintf("pkg%07d", i/10), "requires_python": ">=3.8"}
		}
		p := benchPath(i)
		es[i] = Entry{Path: p, Size: int64(1000 + i%5000), Metadata: meta}
		es[i].SHA256 = objects.Sum([]byte(p))
	}
	return es
}

type format struct {
	name  string
	build func(context.Context, Putter, []Entry) (objects.ID, error)
	apply func(context.Context, Store, objects.ID, []Change) (objects.ID, error)
	diff  func(context.Context, Getter, objects.ID, objects.ID, func(o, n *Entry) error) error
}

var formats = []format{
	{"trie", buildTrie, applyTrie, Diff},
	{"prolly", Build, Apply, Diff},
}

func maxRSS() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // Linux reports KiB
}

func BenchmarkTree(b *testing.B) {
	sizes := []int{1_000_000}
	if os.Getenv("PKGVC_BENCH_LARGE") != "" {
		sizes = append(sizes, 10_000_000)
	}
	ctx := context.Background()
	for _, n := range sizes {
		for _, f := range formats {
			b.Run(fmt.Sprintf("%s/n=%d", f.name, n), func(b *testing.B) {
				benchFormat(b, ctx, f, n)
			})
			runtime.GC()
		}
	}
}

func benchFormat(b *testing.B, ctx context.Context, f format, n int) {
	// The records are made for each format and dropped once built, so
	// that the reads run with the heap of a server: the store.
	es := benchEntries(n)
	s := newMem()
	var root objects.ID
	b.Run("build", func(b *testing.B) {
		var ms0, ms1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		for i := 0; i < b.N; i++ {
			s = newMem()
			var err error
			if root, err = f.build(ctx, s, es); err != nil {
				b.Fatal(err)
			}
		}
		runtime.ReadMemStats(&ms1)
		b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(b.N)/(1<<20), "alloc-MB/op")
		b.ReportMetric(float64(s.bytes)/(1<<20), "store-MB")
		b.ReportMetric(float64(s.written), "objs")
		b.ReportMetric(maxRSS(), "maxrss-MB")
	})
	if root.IsZero() {
		b.Fatal("no tree built")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	// Each of the small operations runs reps times an iteration, so that
	// -benchtime 1x (for the builds) still averages them.
	const reps = 20
	b.Run("commit1", func(b *testing.B) {
		objs, bytes := s.written, s.bytes
		var took time.Duration
		for i := 0; i < b.N*reps; i++ {
			// A new file in an existing directory, at a random place.
			j := rng.IntN(n/10) * 10
			e := Entry{Path: benchPath(j)[:len(benchPath(j))-len("-py3-none-any.whl")] + fmt.Sprintf("-new%d.whl", i), Size: 1}
			start := time.Now()
			if _, err := f.apply(ctx, s, root, []Change{{Path: e.Path, Entry: &e}}); err != nil {
				b.Fatal(err)
			}
			took += time.Since(start)
		}
		b.ReportMetric(float64(s.bytes-bytes)/float64(b.N*reps), "newB/commit")
		b.ReportMetric(float64(s.written-objs)/float64(b.N*reps), "objs/commit")
		b.ReportMetric(float64(took.Microseconds())/float64(b.N*reps)/1000, "ms/commit")
	})
	var changes []Change
	for i := 0; i < 10; i++ {
		e := es[rng.IntN(n)]
		e.Size++
		changes = append(changes, Change{Path: e.Path, Entry: &e})
	}
	next, err := f.apply(ctx, s, root, changes)
	if err != nil {
		b.Fatal(err)
	}
	es = nil
	runtime.GC()
	b.Run("diff10", func(b *testing.B) {
		start := time.Now()
		for i := 0; i < b.N*reps; i++ {
			got := 0
			if err := f.diff(ctx, s, root, next, func(_, _ *Entry) error { got++; return nil }); err != nil {
				b.Fatal(err)
			}
			if got != 10 {
				b.Fatalf("diff found %d changes, want 10", got)
			}
		}
		b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N*reps)/1000, "ms/diff")
	})
	b.Run("prefix10", func(b *testing.B) {
		r := reps
		if f.name == "trie" {
			r = 1 // a full sorted scan each time
		}
		start := time.Now()
		for i := 0; i < b.N*r; i++ {
			dir := benchPath(rng.IntN(n/10) * 10)
			dir = dir[:len("pool/00/0000000/")]
			got := 0
			if err := Prefix(ctx, s, root, dir, func(Entry) error { got++; return nil }); err != nil {
				b.Fatal(err)
			}
			if got != 10 {
				b.Fatalf("prefix %s: %d records, want 10", dir, got)
			}
		}
		b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N*r)/1000, "ms/read")
	})
	b.Run("iterate", func(b *testing.B) {
		start := time.Now()
		for i := 0; i < b.N; i++ {
			got := 0
			if err := Walk(ctx, s, root, func(Entry) error { got++; return nil }); err != nil {
				b.Fatal(err)
			}
			if got != n {
				b.Fatalf("walked %d records, want %d", got, n)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/time.Since(start).Seconds(), "recs/s")
		b.ReportMetric(maxRSS(), "maxrss-MB")
	})
}
