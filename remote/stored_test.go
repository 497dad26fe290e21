package remote_test

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/httpx/httpxtest"
	"github.com/pkgvc/pkgvc/objects"
)

// TestOnBlobStored: the hook hears of each blob a sync downloaded, once it
// is in the store, and of none it reused.
func TestOnBlobStored(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	var heard []objects.ID
	e.m.OnBlobStored(func(id objects.ID) {
		has, err := e.st.Objects().HasBlob(e.ctx, id)
		require.NoError(t, err)
		require.True(t, has, "heard of %s before it was stored", id)
		mu.Lock()
		heard = append(heard, id)
		mu.Unlock()
	})
	dir := filepath.Join(t.TempDir(), "up")
	files := map[string][]byte{"a.bin": content("a", 4000), "b.bin": content("b", 70000), "same-as-a.bin": content("a", 4000)}
	writeTree(t, dir, files)
	e.remote(httpxtest.StaticServer(t, dir) + "PULP_MANIFEST")
	e.syncOK(false)
	require.ElementsMatch(t, []objects.ID{objects.Sum(files["a.bin"]), objects.Sum(files["b.bin"])}, heard)

	heard = nil
	files["c.bin"] = content("c", 100)
	writeTree(t, dir, files)
	e.syncOK(false)
	require.Equal(t, []objects.ID{objects.Sum(files["c.bin"])}, heard, "blobs already stored are not reported again")
}
