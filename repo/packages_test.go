package repo_test

import (
	"context"
	"io"
	"strings"
	"testing"

	metamem "github.com/pkgvc/pkgvc/meta/mem"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/file"
	"github.com/pkgvc/pkgvc/objects"
	objectsmem "github.com/pkgvc/pkgvc/objects/mem"
	refsmem "github.com/pkgvc/pkgvc/refs/mem"
	"github.com/pkgvc/pkgvc/repo"
)

// releaseKind files packages as NAME/VERSION/FILE: a package has one record
// per file of each release, as python projects do.
type releaseKind struct{}

func (releaseKind) Name() string { return "release" }
func (releaseKind) Inspect(_ context.Context, p string, _ io.ReaderAt, _ int64) (map[string]string, error) {
	parts := strings.Split(p, "/")
	if len(parts) != 3 {
		return map[string]string{}, nil // not a package file
	}
	return map[string]string{"name": parts[0], "version": parts[1]}, nil
}
func (releaseKind) Package(rec repo.Record) (string, string, bool) {
	n, v := rec.Metadata["name"], rec.Metadata["version"]
	return n, v, n != ""
}

func TestDiffPackagesPerRelease(t *testing.T) {
	e := newMemEnv(t)
	e.s = repo.New(objects.New(objectsmem.New()), refsmem.New(), repo.NewKinds(file.Kind{}, releaseKind{}), repo.WithWho(rtWho), repo.WithMeta(metamem.New()))
	e.create("a", repo.CreateOptions{Kind: "release"})
	e.create("b", repo.CreateOptions{Kind: "release"})
	base := map[string]string{"lib/1.0/lib.whl": "1", "lib/1.0/lib.tar.gz": "1s", "app/2.0/app.whl": "a", "old/0.1/o.whl": "o", "README": "r"}
	e.commit("a", base)
	e.commit("b", base)
	e.commit("b", map[string]string{"lib/1.1/lib.whl": "11", "new/1.0/n.whl": "n", "README": "r2"}, "old")

	d, err := e.s.DiffPackages(e.ctx, "a", "b")
	require.NoError(t, err)
	require.Equal(t, []repo.PackageChange{{Name: "new", From: []string{}, To: []string{"1.0"}}}, d.Added)
	require.Equal(t, []repo.PackageChange{{Name: "old", From: []string{"0.1"}, To: []string{}}}, d.Removed)
	require.Equal(t, []repo.PackageChange{{Name: "lib", From: []string{"1.0"}, To: []string{"1.0", "1.1"}}}, d.Changed,
		"a release added beside a kept one shows both; records that are no package (README) and untouched packages (app) are left out")

	same, err := e.s.DiffPackages(e.ctx, "a", "a@1")
	require.NoError(t, err)
	require.Empty(t, same.Added)
	require.Empty(t, same.Removed)
	require.Empty(t, same.Changed)
}

func TestDiffPackagesPathPerPackage(t *testing.T) {
	e := newMemEnv(t)
	e.create("dev", repo.CreateOptions{})
	e.commit("dev", map[string]string{"x/a.txt": "1", "b.txt": "2"})
	e.commit("dev", map[string]string{"x/a.txt": "1 changed", "c.txt": "3"}, "b.txt")
	d, err := e.s.DiffPackages(e.ctx, "dev@1", "dev")
	require.NoError(t, err)
	require.Len(t, d.Changed, 1)
	require.Equal(t, "x/a.txt", d.Changed[0].Name)
	require.Equal(t, []string{objects.Sum([]byte("1")).String()}, d.Changed[0].From)
	require.Equal(t, []string{objects.Sum([]byte("1 changed")).String()}, d.Changed[0].To)
	require.Equal(t, "c.txt", d.Added[0].Name)
	require.Equal(t, "b.txt", d.Removed[0].Name)
}
