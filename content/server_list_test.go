package content

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	metamem "github.com/pkgvc/pkgvc/meta/mem"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/kinds/container"
	"github.com/pkgvc/pkgvc/kinds/file"
	"github.com/pkgvc/pkgvc/kinds/python"
	"github.com/pkgvc/pkgvc/objects"
	objectsmem "github.com/pkgvc/pkgvc/objects/mem"
	refsmem "github.com/pkgvc/pkgvc/refs/mem"
	"github.com/pkgvc/pkgvc/repo"
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
	st := repo.New(objects.New(objectsmem.New()), refsmem.New(), repo.NewKinds(file.Kind{}, python.Kind{}, container.Kind{}), repo.WithMeta(metamem.New()))
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
	dists := dist.NewDists(st)
	_, err = dists.Create(ctx, "d", dist.DistSpec{BasePath: "d", Repo: "r"})
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
