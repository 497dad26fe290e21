package publication_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/python/format/pythontest"
	"github.com/pkgvc/pkgvc/repo"
)

// BenchmarkPublishAfterCommit times the publication of a version that
// adds one wheel to a published repository of n wheels (10 per project):
// an update from the parent's publication, which should cost about the
// same at every n. Syncing it, behind the request, is not timed. PKGVC_BENCH_WHEELS adds a size.
func BenchmarkPublishAfterCommit(b *testing.B) {
	sizes := []int{1000, 10000}
	if n, err := strconv.Atoi(os.Getenv("PKGVC_BENCH_WHEELS")); err == nil {
		sizes = append(sizes, n)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("wheels=%d", n), func(b *testing.B) {
			ctx, st := newStore(b, true)
			dir := b.TempDir()
			var adds []repo.Add
			for i := range n {
				name, data := pythontest.Spec{Name: fmt.Sprintf("p%d", i/10), Version: fmt.Sprintf("1.%d", i%10)}.Wheel()
				f := filepath.Join(dir, name)
				require.NoError(b, os.WriteFile(f, data, 0o644))
				adds = append(adds, repo.Add{Path: name, File: f})
			}
			_, err := st.Commit(ctx, "py", repo.CommitRequest{Adds: adds})
			require.NoError(b, err)
			pubs, log := trackedPublications(st)
			_, err = pubs.For(ctx, "python", head(b, ctx, st))
			require.NoError(b, err)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				name, data := pythontest.Spec{Name: "p1", Version: fmt.Sprintf("9.%d", i)}.Wheel()
				f := filepath.Join(dir, name)
				require.NoError(b, os.WriteFile(f, data, 0o644))
				_, err := st.Commit(ctx, "py", repo.CommitRequest{Adds: []repo.Add{{Path: name, File: f}}})
				require.NoError(b, err)
				v := head(b, ctx, st)
				b.StartTimer()
				pub, err := pubs.For(ctx, "python", v)
				require.NoError(b, err)
				_, ok, err := pub.Lookup(ctx, "simple/p1/index.html")
				require.NoError(b, err)
				require.True(b, ok)
				b.StopTimer()
				pubs.Wait() // stored behind the request: not timed
				b.StartTimer()
			}
			b.StopTimer()
			require.True(b, (*log)[len(*log)-1].incremental)
		})
	}
}
