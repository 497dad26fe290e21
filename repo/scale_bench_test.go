package repo_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

// scaleN is the repository size for the scale benchmarks: 1 M records
// unless PKGVC_BENCH_N says otherwise.
func scaleN() int {
	if n, err := strconv.Atoi(os.Getenv("PKGVC_BENCH_N")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

type scaleFixture struct {
	st    *repo.Store
	blobs []objects.PutResult
	err   error
}

var (
	fixtureOnce sync.Once
	fixture     scaleFixture
)

func benchRecords(blobs []objects.PutResult, n int, prefix string) []repo.Record {
	recs := make([]repo.Record, n)
	for i := range recs {
		bl := blobs[i%len(blobs)]
		recs[i] = repo.Record{Path: fmt.Sprintf("%s/p%04d/pkg-%07d-1.0-py3-none-any.whl", prefix, i%5000, i), SHA256: bl.ID, Size: bl.Size}
	}
	return recs
}

// scaleStore returns a store whose repository "base" holds scaleN records,
// built once per test binary.
func scaleStore(b *testing.B) (*repo.Store, []objects.PutResult) {
	fixtureOnce.Do(func() {
		ctx := context.Background()
		dir, err := os.MkdirTemp("", "pkgvc-bench-")
		if err != nil {
			fixture.err = err
			return
		}
		st, err := fsstore.OpenDir(ctx, dir, all.Kinds())
		if err != nil {
			fixture.err = err
			return
		}
		batch := st.Objects().NewBatch()
		blobs := make([]objects.PutResult, 1000)
		for i := range blobs {
			if blobs[i], err = batch.PutBlob(ctx, strings.NewReader(fmt.Sprintf("package body %d\n", i))); err != nil {
				fixture.err = err
				return
			}
		}
		if fixture.err = batch.Flush(ctx); fixture.err != nil {
			return
		}
		if _, fixture.err = st.CreateRepo(ctx, "base", repo.CreateOptions{}); fixture.err != nil {
			return
		}
		_, fixture.err = st.Commit(ctx, "base", repo.CommitRequest{Records: benchRecords(blobs, scaleN(), "packages")})
		fixture.st, fixture.blobs = st, blobs
	})
	if fixture.err != nil {
		b.Fatal(fixture.err)
	}
	return fixture.st, fixture.blobs
}

// BenchmarkCommitFromScratch commits scaleN records to an empty repository.
func BenchmarkCommitFromScratch(b *testing.B) {
	st, blobs := scaleStore(b)
	ctx := context.Background()
	recs := benchRecords(blobs, scaleN(), "scratch")
	var written int64 = -1
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("scratch%d-%d", b.N, i)
		if _, err := st.CreateRepo(ctx, name, repo.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		res, err := st.Commit(ctx, name, repo.CommitRequest{Records: recs})
		if err != nil {
			b.Fatal(err)
		}
		if written < 0 {
			written = res.NewBytes // later runs find the same objects stored
		}
	}
	b.ReportMetric(float64(written)/(1<<20), "MiB-written")
}

// BenchmarkCommitOnePackage adds one package to a scaleN-record version.
func BenchmarkCommitOnePackage(b *testing.B) {
	st, blobs := scaleStore(b)
	ctx := context.Background()
	name := fmt.Sprintf("one%d", b.N)
	if _, err := st.CreateRepo(ctx, name, repo.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	if _, err := st.Promote(ctx, []repo.Pair{{Src: "base", Dst: name}}, repo.PromoteOptions{}); err != nil {
		b.Fatal(err)
	}
	var newBytes int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bl := blobs[i%len(blobs)]
		res, err := st.Commit(ctx, name, repo.CommitRequest{Records: []repo.Record{{Path: fmt.Sprintf("extra/one-%d.whl", i), SHA256: bl.ID, Size: bl.Size}}})
		if err != nil {
			b.Fatal(err)
		}
		newBytes += res.NewBytes
	}
	b.ReportMetric(float64(newBytes)/float64(b.N), "new-bytes/op")
}

// BenchmarkDiffTenPackages diffs two scaleN-record versions 10 packages apart.
func BenchmarkDiffTenPackages(b *testing.B) {
	st, blobs := scaleStore(b)
	ctx := context.Background()
	name := fmt.Sprintf("diff%d", b.N)
	if _, err := st.CreateRepo(ctx, name, repo.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	if _, err := st.Promote(ctx, []repo.Pair{{Src: "base", Dst: name}}, repo.PromoteOptions{}); err != nil {
		b.Fatal(err)
	}
	ten := benchRecords(blobs, 10, "ten")
	if _, err := st.Commit(ctx, name, repo.CommitRequest{Records: ten}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d, err := st.Diff(ctx, name+"~1", name)
		if err != nil {
			b.Fatal(err)
		}
		if len(d.Added) != 10 {
			b.Fatalf("diff found %d added, want 10", len(d.Added))
		}
	}
}

// BenchmarkPromote fast-forwards a repository to a scaleN-record head.
func BenchmarkPromote(b *testing.B) {
	st, blobs := scaleStore(b)
	ctx := context.Background()
	src, dst := fmt.Sprintf("psrc%d", b.N), fmt.Sprintf("pdst%d", b.N)
	for _, n := range []string{src, dst} {
		if _, err := st.CreateRepo(ctx, n, repo.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := st.Promote(ctx, []repo.Pair{{Src: "base", Dst: src}}, repo.PromoteOptions{}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		bl := blobs[i%len(blobs)]
		if _, err := st.Commit(ctx, src, repo.CommitRequest{Records: []repo.Record{{Path: fmt.Sprintf("p/%d", i), SHA256: bl.ID, Size: bl.Size}}}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := st.Promote(ctx, []repo.Pair{{Src: src, Dst: dst}}, repo.PromoteOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
