package repo_test

import (
	"cmp"
	"context"
	"io"
	"strconv"
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
	// Digests have no order: a changed path is its old digest removed and
	// its new one added.
	require.Equal(t, []repo.PackageEntry{
		{Name: "b.txt", Old: objects.Sum([]byte("2")).String(), Change: repo.ChangeRemoved},
		{Name: "c.txt", New: objects.Sum([]byte("3")).String(), Change: repo.ChangeAdded},
		{Name: "x/a.txt", Old: objects.Sum([]byte("1")).String(), Change: repo.ChangeRemoved},
		{Name: "x/a.txt", New: objects.Sum([]byte("1 changed")).String(), Change: repo.ChangeAdded},
	}, d.Packages)
}

// archKind files packages as NAME/ARCH/VERSION/FILE, versions being
// integers ordered numerically ("10" > "9"), to check that packages pair
// by name and arch and that the kind, not the strings, orders versions.
type archKind struct{}

func (archKind) Name() string { return "arch" }
func (archKind) Inspect(_ context.Context, p string, _ io.ReaderAt, _ int64) (map[string]string, error) {
	parts := strings.Split(p, "/")
	if len(parts) != 4 {
		return map[string]string{}, nil
	}
	return map[string]string{"name": parts[0], "arch": parts[1], "version": parts[2]}, nil
}
func (k archKind) Package(rec repo.Record) (string, string, bool) {
	n, _, v, ok := k.PackageArch(rec)
	return n, v, ok
}
func (archKind) PackageArch(rec repo.Record) (string, string, string, bool) {
	n, a, v := rec.Metadata["name"], rec.Metadata["arch"], rec.Metadata["version"]
	return n, a, v, n != ""
}
func (archKind) CompareVersions(a, b string) int {
	x, _ := strconv.Atoi(a)
	y, _ := strconv.Atoi(b)
	return cmp.Compare(x, y)
}

func TestDiffPackagesPairsByNameAndArch(t *testing.T) {
	e := newMemEnv(t)
	e.s = repo.New(objects.New(objectsmem.New()), refsmem.New(), repo.NewKinds(file.Kind{}, archKind{}), repo.WithWho(rtWho), repo.WithMeta(metamem.New()))
	e.create("a", repo.CreateOptions{Kind: "arch"})
	e.create("b", repo.CreateOptions{Kind: "arch"})
	base := map[string]string{
		"up/amd64/9/f": "1", "up/arm64/9/f": "2", // amd64 upgraded, arm64 kept
		"down/amd64/10/f": "3",                       // downgraded
		"two/amd64/1/f":   "4", "two/amd64/2/f": "5", // two versions: no pairing
		"gone/amd64/1/f": "6", "still/amd64/1/f": "7",
	}
	e.commit("a", base)
	e.commit("b", base)
	e.commit("b", map[string]string{"up/amd64/10/f": "8", "down/amd64/9/f": "9", "two/amd64/3/f": "10", "new/any/1/f": "11", "still/amd64/1/g": "12"},
		"up/amd64/9/f", "down/amd64/10/f", "two/amd64/1/f", "gone/amd64/1/f")

	d, err := e.s.DiffPackages(e.ctx, "a", "b")
	require.NoError(t, err)
	require.Equal(t, []repo.PackageEntry{
		{Name: "down", Arch: "amd64", Old: "10", New: "9", Change: repo.ChangeDowngraded},
		{Name: "gone", Arch: "amd64", Old: "1", New: "", Change: repo.ChangeRemoved},
		{Name: "new", Arch: "any", Old: "", New: "1", Change: repo.ChangeAdded},
		{Name: "two", Arch: "amd64", Old: "1", New: "", Change: repo.ChangeRemoved},
		{Name: "two", Arch: "amd64", Old: "", New: "3", Change: repo.ChangeAdded},
		{Name: "up", Arch: "amd64", Old: "9", New: "10", Change: repo.ChangeUpgraded},
	}, d.Packages, "a file added to a kept version (still) changes no package")
	require.Equal(t, []repo.PackageChange{{Name: "up", From: []string{"9"}, To: []string{"10", "9"}}}, d.Changed[len(d.Changed)-1:],
		"the name-level fields keep their meaning: all arches' versions, sorted as strings")

	back, err := e.s.DiffPackages(e.ctx, "b", "a")
	require.NoError(t, err)
	require.Contains(t, back.Packages, repo.PackageEntry{Name: "up", Arch: "amd64", Old: "10", New: "9", Change: repo.ChangeDowngraded})
	same, err := e.s.DiffPackages(e.ctx, "a", "a@1")
	require.NoError(t, err)
	require.NotNil(t, same.Packages)
	require.Empty(t, same.Packages)

	// Two spellings the kind finds equal are no upgrade: removed and added.
	e.commit("a", map[string]string{"up/amd64/09/f": "13"}, "up/amd64/9/f")
	respelled, err := e.s.DiffPackages(e.ctx, "a~1", "a")
	require.NoError(t, err)
	require.Equal(t, []repo.PackageEntry{
		{Name: "up", Arch: "amd64", Old: "9", Change: repo.ChangeRemoved},
		{Name: "up", Arch: "amd64", New: "09", Change: repo.ChangeAdded},
	}, respelled.Packages)
	same, err = e.s.DiffPackages(e.ctx, "a@1", "a@1")
	require.NoError(t, err)
	require.Empty(t, same.Packages)
}

// TestDiffPackagesUnorderedKind: a kind that cannot order its versions
// reports a version change as the old version removed and the new added.
func TestDiffPackagesUnorderedKind(t *testing.T) {
	e := newMemEnv(t)
	e.s = repo.New(objects.New(objectsmem.New()), refsmem.New(), repo.NewKinds(file.Kind{}, releaseKind{}), repo.WithWho(rtWho), repo.WithMeta(metamem.New()))
	e.create("a", repo.CreateOptions{Kind: "release"})
	e.commit("a", map[string]string{"lib/1.0/lib.whl": "1"})
	e.commit("a", map[string]string{"lib/1.1/lib.whl": "2"}, "lib/1.0/lib.whl")
	d, err := e.s.DiffPackages(e.ctx, "a@1", "a")
	require.NoError(t, err)
	require.Equal(t, []repo.PackageEntry{
		{Name: "lib", Old: "1.0", Change: repo.ChangeRemoved},
		{Name: "lib", New: "1.1", Change: repo.ChangeAdded},
	}, d.Packages)
}
