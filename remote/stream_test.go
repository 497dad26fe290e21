package remote_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
)

// streamer lists n packages in path order, skipping those skip names,
// and knows how many of the paths it yielded are still reachable.
type streamer struct {
	n    int
	skip func(i int) bool
	live atomic.Int64
	// check is called every 1000 packages, while the listing is read;
	// its error ends the listing.
	check func() error
}

func (s *streamer) Kind() string { return "file" }

func (s *streamer) Index(context.Context, remote.Upstream) ([]remote.Package, error) {
	panic("a streaming source is never read whole")
}

func (s *streamer) IndexSeq(ctx context.Context, up remote.Upstream, yield func(remote.Package) error) error {
	for i := range s.n {
		if s.skip != nil && s.skip(i) {
			continue
		}
		// A path of its own allocation (over the tiny allocator's 16
		// bytes), whose collection is counted.
		p := strings.Clone(fmt.Sprintf("packages/file-%08d.bin", i))
		s.live.Add(1)
		runtime.AddCleanup(unsafe.StringData(p), func(live *atomic.Int64) { live.Add(-1) }, &s.live)
		err := yield(remote.Package{Path: p, URL: "https://up.example/" + p, SHA256: objects.Sum([]byte(p)), Size: 1})
		if err != nil {
			return err
		}
		if i%1000 == 999 && s.check != nil {
			if err := s.check(); err != nil {
				return err
			}
		}
	}
	return nil
}

// TestSyncHoldsBoundedListing: a sync never holds the whole listing. The
// paths a streaming source yielded must become garbage as the sync goes
// on, long before it ends; an engine that kept the listing, or the
// records it makes of it, until its commit keeps them all.
func TestSyncHoldsBoundedListing(t *testing.T) {
	const n, bound = 20000, 500
	e := newEnv(t)
	src := &streamer{n: n}
	src.check = func() error {
		// Cleanups run after a collection, on their own goroutine.
		deadline := time.Now().Add(5 * time.Second)
		for {
			runtime.GC()
			if src.live.Load() <= bound {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%d listed paths still held by the sync (bound %d)", src.live.Load(), bound)
			}
			time.Sleep(time.Millisecond)
		}
	}
	e.m = remote.New(e.st, remote.NewRegistry(src))
	e.remote("https://up.example/PULP_MANIFEST", func(r *remote.Remote) { r.Policy = remote.OnDemand })
	res := e.syncOK(false)
	require.Equal(t, n, res.Added)
	require.True(t, res.Changed)
	recs := e.records()
	require.Len(t, recs, n)
	require.True(t, repo.IsOnDemand(recs["packages/file-00000042.bin"]))

	// Against a head of n records, with a listing that lost every
	// third: merged as streams too.
	src.skip = func(i int) bool { return i%3 == 0 }
	res = e.syncOK(true)
	require.Equal(t, (n+2)/3, res.Removed)
	require.Equal(t, n-(n+2)/3, res.Unchanged)
	recs = e.records()
	require.Len(t, recs, n-(n+2)/3)
	require.NotContains(t, recs, "packages/file-00000000.bin")
	require.Contains(t, recs, "packages/file-00000001.bin")
}
