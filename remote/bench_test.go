package remote_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/httpx/httpxtest"
	remoteall "github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
)

// BenchmarkSync10k syncs 10 000 small files (1 KiB) into a fresh store,
// then syncs again (no change), from a python3 http.server upstream (the
// upstream is the bottleneck: it answers about 800 requests/s here) and
// from Go's http.FileServer (pkgvc's own rate). It reports files/s of the
// first sync, the time of the no-change sync and the Go heap in use after
// the sync (HeapInuse, MiB). bench/sync.sh measures the CLI's peak RSS on
// the same workload.
func BenchmarkSync10k(b *testing.B) {
	const n = 10000
	dir := filepath.Join(b.TempDir(), "up")
	var m strings.Builder
	for i := range n {
		p := fmt.Sprintf("d%02d/f%05d.bin", i%100, i)
		data := content(p, 1024)
		f := filepath.Join(dir, filepath.FromSlash(p))
		require.NoError(b, os.MkdirAll(filepath.Dir(f), 0o755))
		require.NoError(b, os.WriteFile(f, data, 0o644))
		fmt.Fprintf(&m, "%s,%s,%d\n", p, digest(data), len(data))
	}
	require.NoError(b, os.WriteFile(filepath.Join(dir, "PULP_MANIFEST"), []byte(m.String()), 0o644))
	b.Run("python", func(b *testing.B) { benchSync(b, httpxtest.StaticServer(b, dir), n) })
	b.Run("go", func(b *testing.B) {
		srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
		defer srv.Close()
		benchSync(b, srv.URL+"/", n)
	})
}

func benchSync(b *testing.B, base string, n int) {
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		st, err := fsstore.OpenDir(ctx, filepath.Join(b.TempDir(), fmt.Sprint("store", i)), remoteall.Kinds())
		require.NoError(b, err)
		_, err = st.CreateRepo(ctx, "mirror", repo.CreateOptions{})
		require.NoError(b, err)
		mgr := remote.New(st, remoteall.Syncers())
		_, err = mgr.Create(ctx, remote.Remote{Name: "up", Kind: "file", URL: base + "PULP_MANIFEST", DownloadConcurrency: 8, Retries: 3})
		require.NoError(b, err)
		b.StartTimer()
		res, err := mgr.Sync(ctx, "up", "mirror", remote.SyncOptions{})
		require.NoError(b, err)
		require.Equal(b, n, res.Downloaded)
		b.StopTimer()
		b.ReportMetric(float64(n)/res.Seconds, "files/s")
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heapMiB")
		again, err := mgr.Sync(ctx, "up", "mirror", remote.SyncOptions{})
		require.NoError(b, err)
		require.False(b, again.Changed)
		b.ReportMetric(again.Seconds*1000, "nochange-ms")
		b.StartTimer()
	}
}
