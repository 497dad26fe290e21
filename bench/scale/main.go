// Command scale measures pkgvc's library at scale: a commit of N package
// records from scratch, then a 1-package commit, a diff of two N-record
// versions that differ by 10 packages and a promotion, each with its time
// and the new bytes written. It leaves the store behind (-keep) so that
// bench/run.sh can time the same operations through the CLI.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/pkgvc/pkgvc/app"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

func main() {
	n := flag.Int("n", 1_000_000, "package records")
	dir := flag.String("store", "", "store directory (default: a temp dir)")
	keep := flag.Bool("keep", false, "keep the store")
	flag.Parse()
	ctx := context.Background()
	if *dir == "" {
		d, err := os.MkdirTemp("", "pkgvc-scale-")
		check(err)
		*dir = d
	}
	if !*keep {
		defer os.RemoveAll(*dir)
	}
	a, err := app.Open(ctx, *dir, app.WithCreate())
	check(err)
	defer a.Close()
	st := a.Store()
	for _, r := range []string{"dev", "prod"} {
		_, err := st.CreateRepo(ctx, r, repo.CreateOptions{})
		check(err)
	}

	// 1000 distinct small blobs shared by the records, as a real index
	// shares few digests per project; the records differ by path.
	blobs := make([]objects.PutResult, 1000)
	b := st.Objects().NewBatch()
	for i := range blobs {
		blobs[i], err = b.PutBlob(ctx, strings.NewReader(fmt.Sprintf("package body %d\n", i)))
		check(err)
	}
	check(b.Flush(ctx))
	recs := make([]repo.Record, *n)
	for i := range recs {
		bl := blobs[i%len(blobs)]
		recs[i] = repo.Record{Path: fmt.Sprintf("packages/p%04d/pkg-%07d-1.0-py3-none-any.whl", i%5000, i), SHA256: bl.ID, Size: bl.Size}
	}

	fmt.Printf("%-44s %12s %12s\n", "operation (library)", "time", "new bytes")
	t0 := time.Now()
	res, err := st.Commit(ctx, "dev", repo.CommitRequest{Records: recs, Message: "init"})
	check(err)
	row(fmt.Sprintf("commit %d records from scratch", *n), time.Since(t0), res.NewBytes)
	recs = nil
	runtime.GC()

	add := func(i int) *repo.CommitResult {
		bl := blobs[i%len(blobs)]
		r, err := st.Commit(ctx, "dev", repo.CommitRequest{Records: []repo.Record{{Path: fmt.Sprintf("extra/new-%d.whl", i), SHA256: bl.ID, Size: bl.Size}}, Message: "one"})
		check(err)
		return r
	}
	best := time.Duration(1 << 62)
	var bytes int64
	for i := 0; i < 5; i++ {
		t := time.Now()
		r := add(i)
		if d := time.Since(t); d < best {
			best, bytes = d, r.NewBytes
		}
	}
	row("1-package commit on top (best of 5)", best, bytes)

	ten := make([]repo.Record, 10)
	for i := range ten {
		bl := blobs[i]
		ten[i] = repo.Record{Path: fmt.Sprintf("batch/ten-%d.whl", i), SHA256: bl.ID, Size: bl.Size}
	}
	_, err = st.Commit(ctx, "dev", repo.CommitRequest{Records: ten, Message: "ten"})
	check(err)
	best = time.Duration(1 << 62)
	for i := 0; i < 5; i++ {
		t := time.Now()
		d, err := st.Diff(ctx, "dev~1", "dev")
		check(err)
		if len(d.Added) != 10 {
			log.Fatalf("diff found %d added, want 10", len(d.Added))
		}
		best = min(best, time.Since(t))
	}
	row("diff of two versions differing by 10 (best of 5)", best, 0)

	best = time.Duration(1 << 62)
	for i := 0; i < 5; i++ {
		add(100 + i)
		t := time.Now()
		_, err := st.Promote(ctx, []repo.Pair{{Src: "dev", Dst: "prod"}}, repo.PromoteOptions{})
		check(err)
		best = min(best, time.Since(t))
	}
	row("promote dev -> prod (best of 5)", best, 0)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("# Go heap high-water (Sys): %d MiB; store: %s\n", ms.Sys>>20, *dir)
}

func row(name string, d time.Duration, bytes int64) {
	fmt.Printf("%-44s %10.2fms %12d\n", name, float64(d.Microseconds())/1000, bytes)
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
