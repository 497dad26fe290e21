package publication_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/python/format/pythontest"
	"github.com/pkgvc/pkgvc/kinds/python/publication"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/repo"
)

// storedFiles reads every file of a stored publication.
func storedFiles(t testing.TB, ctx context.Context, pub *publish.Publication) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, pub.Walk(ctx, func(f *publish.File) error {
		data, ok, err := pub.ReadFile(ctx, f.Path)
		require.True(t, ok, f.Path)
		out[f.Path] = f.ContentType + "\n" + string(data)
		return err
	}))
	return out
}

func publishedFiles(t testing.TB, ctx context.Context, st *repo.Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	for p, f := range publishFiles(t, ctx, st) {
		out[p] = f.ContentType + "\n" + string(f.Content)
	}
	return out
}

type built struct {
	incremental bool
	changes     int
}

func trackedPublications(st *repo.Store) (*publish.Publications, *[]built) {
	pubs := publish.NewPublications(st, publish.NewRegistry(publication.New()), 8)
	var log []built
	pubs.Built = func(_ string, _ objects.ID, inc bool, n int) { log = append(log, built{inc, n}) }
	return pubs, &log
}

func fileID(t testing.TB, ctx context.Context, pub *publish.Publication, p string) objects.ID {
	t.Helper()
	f, ok, err := pub.Lookup(ctx, p)
	require.NoError(t, err)
	require.True(t, ok, p)
	return f.ID
}

// TestUpdateMatchesPublish: a publication updated from its parent's and
// the diff holds exactly what a whole build of the version holds, and
// rewrites only the pages of the projects the change touches.
func TestUpdateMatchesPublish(t *testing.T) {
	ctx, st := newStore(t, true)
	pubs, log := trackedPublications(st)
	require.NoError(t, commitPkgs(t, ctx, st,
		wheelAt("", pythontest.Spec{Name: "alpha", Version: "1.0"}),
		wheelAt("b", pythontest.Spec{Name: "Beta", Version: "1.0"}),
		sdistAt("g", pythontest.Spec{Name: "gamma", Version: "1.0"})))
	v1 := head(t, ctx, st)
	p1, err := pubs.For(ctx, "python", v1)
	require.NoError(t, err)
	require.Equal(t, []built{{false, 0}}, *log)
	require.Equal(t, publishedFiles(t, ctx, st), storedFiles(t, ctx, p1))

	// alpha gains a version, gamma goes, delta comes: the project list
	// changes.
	require.NoError(t, commitPkgs(t, ctx, st, wheelAt("", pythontest.Spec{Name: "alpha", Version: "2.0"}),
		wheelAt("d", pythontest.Spec{Name: "delta", Version: "0.1"})))
	_, err = st.Commit(ctx, "py", repo.CommitRequest{Removes: []string{"g"}})
	require.NoError(t, err)
	v3 := head(t, ctx, st)
	p3, err := pubs.For(ctx, "python", v3)
	require.NoError(t, err)
	require.Equal(t, []built{{false, 0}, {true, 3}}, *log, "updated from the grandparent's publication")
	require.Equal(t, publishedFiles(t, ctx, st), storedFiles(t, ctx, p3))
	_, ok, err := p3.Lookup(ctx, "simple/gamma/index.html")
	require.NoError(t, err)
	require.False(t, ok)

	// Beta gains a version: only its pages change.
	require.NoError(t, commitPkgs(t, ctx, st, wheelAt("b", pythontest.Spec{Name: "Beta", Version: "2.0"})))
	p4, err := pubs.For(ctx, "python", head(t, ctx, st))
	require.NoError(t, err)
	require.Equal(t, built{true, 1}, (*log)[2])
	require.Equal(t, publishedFiles(t, ctx, st), storedFiles(t, ctx, p4))
	for _, same := range []string{"simple/index.html", "simple/index.v1.json", "simple/alpha/index.html", "simple/delta/index.v1.json"} {
		require.Equal(t, fileID(t, ctx, p3, same), fileID(t, ctx, p4, same), same)
	}
	require.NotEqual(t, fileID(t, ctx, p3, "simple/beta/index.html"), fileID(t, ctx, p4, "simple/beta/index.html"))

	// Stored (once synced, behind the request): another process (a new
	// cache) finds it without building.
	pubs.Wait()
	again, log2 := trackedPublications(st)
	p4b, err := again.For(ctx, "python", head(t, ctx, st))
	require.NoError(t, err)
	require.Empty(t, *log2)
	require.Equal(t, p4.Root, p4b.Root)
}

// TestBuildManyProjects: a whole build larger than what the writer holds
// at once (pages, index records and metadata files spill to the tree
// several times) still equals Publish, and the project list streams.
func TestBuildManyProjects(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 1 500 wheels")
	}
	ctx, st := newStore(t, true)
	dir := t.TempDir()
	var adds []repo.Add
	for i := range 1500 {
		name, data := pythontest.Spec{Name: fmt.Sprintf("p%d", i), Version: "1.0"}.Wheel()
		f := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(f, data, 0o644))
		adds = append(adds, repo.Add{Path: name, File: f})
	}
	_, err := st.Commit(ctx, "py", repo.CommitRequest{Adds: adds})
	require.NoError(t, err)
	pubs, _ := trackedPublications(st)
	pub, err := pubs.For(ctx, "python", head(t, ctx, st))
	require.NoError(t, err)
	require.Equal(t, publishedFiles(t, ctx, st), storedFiles(t, ctx, pub))
}
