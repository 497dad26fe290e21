package publish

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/objects"
	objectsmem "github.com/pkgvc/pkgvc/objects/mem"
	refsmem "github.com/pkgvc/pkgvc/refs/mem"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/kinds/all"
)

// TestListingLargeVersion lists a version too large for the listing cache
// by walking it, with the same result as from the cache.
func TestListingLargeVersion(t *testing.T) {
	ctx := context.Background()
	st := repo.New(objects.New(objectsmem.New()), refsmem.New(), all.Kinds())
	_, err := st.CreateRepo(ctx, "r", repo.CreateOptions{})
	require.NoError(t, err)
	dir := t.TempDir()
	var adds []repo.Add
	for _, p := range []string{"a/x.txt", "a/y.txt", "a-b.txt", "b/c/d.txt", "top.txt", "z/z.txt"} {
		local := filepath.Join(dir, filepath.Base(p)+p[:1])
		require.NoError(t, os.WriteFile(local, []byte(p), 0o644))
		adds = append(adds, repo.Add{Path: p, File: local})
	}
	_, err = st.Commit(ctx, "r", repo.CommitRequest{Adds: adds})
	require.NoError(t, err)
	dists := NewDists(st)
	_, err = dists.Create(ctx, "d", DistSpec{BasePath: "d", Repo: "r"})
	require.NoError(t, err)

	get := func(s *Server, path string) (int, string) {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		return w.Code, w.Body.String()
	}
	cached := NewServer(st, dists, nil)
	walked := NewServer(st, dists, nil)
	walked.listMax = 2
	for _, p := range []string{"/content/d/", "/content/d/a/", "/content/d/b/", "/content/d/b/c/"} {
		c1, b1 := get(cached, p)
		c2, b2 := get(walked, p)
		require.Equal(t, http.StatusOK, c1, p)
		require.Equal(t, c1, c2, p)
		require.Equal(t, b1, b2, p)
	}
	c, _ := get(cached, "/content/d/a")
	require.Equal(t, http.StatusMovedPermanently, c)
	c, _ = get(walked, "/content/d/a")
	require.Equal(t, http.StatusNotFound, c, "no walk for a missing path")
	c, _ = get(walked, "/content/d/nodir/")
	require.Equal(t, http.StatusNotFound, c)
}
