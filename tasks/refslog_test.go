package tasks

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/repo"
)

// Task progress goes to the metadata store, never to the refs log: the
// log, which is never compacted, stays the same size however often a
// running task writes its progress.
func TestProgressLeavesRefsLogAlone(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 500
	}
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "store")
	st, err := fsstore.OpenDir(ctx, dir, all.Kinds())
	require.NoError(t, err)
	_, err = st.CreateRepo(ctx, "dev", repo.CreateOptions{})
	require.NoError(t, err)
	h := newHarness(t)
	svc := New(NewStoreBackend(st), h.registry())
	task := start(t, svc, "hold", "dev", "a")
	cfg := fastConfig(1)
	cfg.Flush = time.Hour // this test writes the progress itself
	r := startRunner(t, svc, cfg)
	require.Equal(t, "a", h.waitStarted())
	requireState(t, svc, task.ID, Running)

	logSize := func() int64 {
		fi, err := os.Stat(filepath.Join(dir, "refs", "log"))
		require.NoError(t, err)
		return fi.Size()
	}
	before := logSize()
	r.mu.Lock()
	j := r.jobs[task.ID]
	r.mu.Unlock()
	require.NotNil(t, j)
	began := time.Now()
	for i := 1; i <= n; i++ {
		require.NoError(t, r.write(ctx, j, "progress", func(d *taskDoc) {
			d.Progress = Progress{Done: int64(i), Total: int64(n), Unit: "steps"}
			d.Lease = svc.now().Add(time.Minute)
		}))
	}
	t.Logf("%d progress writes in %s", n, time.Since(began))
	require.Equal(t, before, logSize(), "progress wrote to the refs log")
	require.Equal(t, Progress{Done: int64(n), Total: int64(n), Unit: "steps"}, show(t, svc, task.ID).Progress)
	h.release("a")
	requireState(t, svc, task.ID, Completed)
	// Nor does the rest of the task's life.
	require.Equal(t, before, logSize())
}
