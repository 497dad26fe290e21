package remote_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/httpx/httpxtest"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
)

// TestSyncReusesStoredBlobBesideGC: a sync reuses a blob the store holds
// but no version does (what a failed sync kept) while gc runs with no
// grace. Whichever goes first, a version the sync makes has its blob.
func TestSyncReusesStoredBlobBesideGC(t *testing.T) {
	e := newEnv(t)
	dir := filepath.Join(t.TempDir(), "up")
	files := map[string][]byte{}
	writeTree(t, dir, files)
	base := httpxtest.StaticServer(t, dir)
	e.remote(base + "PULP_MANIFEST")
	rounds := 60
	if testing.Short() {
		rounds = 15
	}
	reused := 0
	for i := range rounds {
		data := content(fmt.Sprintf("kept %d", i), 2000)
		files[fmt.Sprintf("r/%d.bin", i)] = data
		writeTree(t, dir, files)
		// Kept by a failed sync: stored, in no version.
		b := e.st.Objects().NewBatch()
		_, err := b.PutBlob(e.ctx, bytes.NewReader(data))
		require.NoError(t, err)
		require.NoError(t, b.Flush(e.ctx))

		var wg sync.WaitGroup
		var res *remote.SyncResult
		var serr, gerr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			res, serr = e.sync(false)
		}()
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i%6) * 200 * time.Microsecond)
			_, gerr = e.st.GC(e.ctx, repo.GCOptions{Grace: -1})
		}()
		wg.Wait()
		require.NoError(t, gerr)
		require.NoError(t, serr, "round %d", i)
		reused += res.Reused
		for p, r := range e.records() {
			has, err := e.st.Objects().HasBlob(e.ctx, r.SHA256)
			require.NoError(t, err)
			require.True(t, has, "round %d: %s's blob is gone", i, p)
		}
	}
	fsck, err := e.st.Fsck(e.ctx)
	require.NoError(t, err)
	require.Empty(t, fsck.Problems)
	t.Logf("%d of %d syncs reused the kept blob", reused, rounds)
}
