package publish

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/objects"
	objectsmem "github.com/pkgvc/pkgvc/objects/mem"
	refsmem "github.com/pkgvc/pkgvc/refs/mem"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/kinds/all"
)

func getPath(s *Server, path string) (int, string) {
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
	return w.Code, w.Body.String()
}

// TestListing lists directories of a version, and tells a directory
// without its '/' (redirected) from a missing path.
func TestListing(t *testing.T) {
	ctx := context.Background()
	st := repo.New(objects.New(objectsmem.New()), refsmem.New(), all.Kinds())
	_, err := st.CreateRepo(ctx, "r", repo.CreateOptions{})
	require.NoError(t, err)
	dir := t.TempDir()
	var adds []repo.Add
	for _, p := range []string{"a/x.txt", "a/y.txt", "a-b.txt", "a!/q.txt", "a0", "b/c/d.txt", "top.txt", "z/z.txt"} {
		local := filepath.Join(dir, fmt.Sprint(len(adds)))
		require.NoError(t, os.WriteFile(local, []byte(p), 0o644))
		adds = append(adds, repo.Add{Path: p, File: local})
	}
	_, err = st.Commit(ctx, "r", repo.CommitRequest{Adds: adds})
	require.NoError(t, err)
	dists := NewDists(st)
	_, err = dists.Create(ctx, "d", DistSpec{BasePath: "d", Repo: "r"})
	require.NoError(t, err)
	s := NewServer(st, dists, nil)

	names := func(body string) []string {
		var out []string
		for _, line := range bytes.Split([]byte(body), []byte("\n")) {
			if i := bytes.Index(line, []byte(`">`)); i >= 0 && bytes.HasPrefix(line, []byte("<a href=")) {
				rest := line[i+2:]
				out = append(out, string(rest[:bytes.Index(rest, []byte("</a>"))]))
			}
		}
		return out
	}
	for p, want := range map[string][]string{
		"/content/d/":     {"a/", "a!/", "a-b.txt", "a0", "b/", "top.txt", "z/"},
		"/content/d/a/":   {"../", "x.txt", "y.txt"},
		"/content/d/b/":   {"../", "c/"},
		"/content/d/b/c/": {"../", "d.txt"},
	} {
		c, body := getPath(s, p)
		require.Equal(t, http.StatusOK, c, p)
		require.Equal(t, want, names(body), p)
	}
	c, _ := getPath(s, "/content/d/a")
	require.Equal(t, http.StatusMovedPermanently, c)
	c, _ = getPath(s, "/content/d/b/c")
	require.Equal(t, http.StatusMovedPermanently, c)
	for _, p := range []string{"/content/d/nodir/", "/content/d/nodir", "/content/d/a-", "/content/d/a/x"} {
		c, _ = getPath(s, p)
		require.Equal(t, http.StatusNotFound, c, p)
	}
}

// countingBackend counts the objects read from it.
type countingBackend struct {
	objects.Backend
	opens atomic.Int64
}

func (c *countingBackend) Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	c.opens.Add(1)
	return c.Backend.Open(ctx, key, offset, length)
}

// TestListingCostFollowsTheDirectory: the first listing of a 10-entry
// directory after a 1-file commit reads what the directory holds, not the
// version: at 100 000 files it reads at most 3 times what it does at 1 000.
func TestListingCostFollowsTheDirectory(t *testing.T) {
	reads := func(n int) (warm, cold int64) {
		ctx := context.Background()
		be := &countingBackend{Backend: objectsmem.New()}
		rs := refsmem.New()
		st := repo.New(objects.New(be), rs, all.Kinds())
		_, err := st.CreateRepo(ctx, "r", repo.CreateOptions{})
		require.NoError(t, err)
		b := st.Objects().NewBatch()
		blob, err := b.PutBlob(ctx, bytes.NewReader([]byte("content")))
		require.NoError(t, err)
		require.NoError(t, b.Flush(ctx))
		rec := func(p string) repo.Record { return repo.Record{Path: p, SHA256: blob.ID, Size: blob.Size} }
		recs := make([]repo.Record, 0, n)
		for i := 0; len(recs) < n-1; i++ {
			if i < 9 {
				recs = append(recs, rec(fmt.Sprintf("d7/f%d.whl", i)))
			} else {
				recs = append(recs, rec(fmt.Sprintf("e%d/p%06d.whl", i%50, i)))
			}
		}
		_, err = st.Commit(ctx, "r", repo.CommitRequest{Records: recs})
		require.NoError(t, err)
		dists := NewDists(st)
		_, err = dists.Create(ctx, "d", DistSpec{BasePath: "d", Repo: "r"})
		require.NoError(t, err)
		s := NewServer(st, dists, nil)
		c, body := getPath(s, "/content/d/d7/")
		require.Equal(t, http.StatusOK, c)
		require.Contains(t, body, "f8.whl")

		_, err = st.Commit(ctx, "r", repo.CommitRequest{Records: []repo.Record{rec("d7/new.whl")}})
		require.NoError(t, err)
		list := func(s *Server) int64 {
			before := be.opens.Load()
			c, body := getPath(s, "/content/d/d7/")
			require.Equal(t, http.StatusOK, c)
			require.Contains(t, body, "new.whl")
			require.Equal(t, 10, bytes.Count([]byte(body), []byte(".whl</a>")))
			return be.opens.Load() - before
		}
		warm = list(s)
		// A server that has read nothing yet: its store caches nothing.
		st2 := repo.New(objects.New(be), rs, all.Kinds())
		return warm, list(NewServer(st2, NewDists(st2), nil))
	}
	smallWarm, smallCold := reads(1_000)
	largeWarm, largeCold := reads(100_000)
	t.Logf("objects read by a listing after a commit: %d (%d uncached) at 1 000 files, %d (%d uncached) at 100 000",
		smallWarm, smallCold, largeWarm, largeCold)
	require.LessOrEqual(t, largeWarm, 3*smallWarm)
	require.LessOrEqual(t, largeCold, 3*smallCold)
	require.LessOrEqual(t, largeCold, int64(40))
}
