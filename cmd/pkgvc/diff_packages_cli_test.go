package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/python/format/pythontest"
	"github.com/pkgvc/pkgvc/repo"
)

// TestDiffByPackage: `diff --by-package` speaks of projects and releases
// in a python repository, where the plain diff speaks of files.
func TestDiffByPackage(t *testing.T) {
	h := newHarness(t)
	h.ok("repo", "create", "dev", "--kind", "python")
	for _, s := range []pythontest.Spec{{Name: "lib", Version: "1.0"}, {Name: "gone", Version: "0.1"}} {
		name, data := s.Wheel()
		h.commit("dev", "--add", h.file("d1/"+name, data))
	}
	name, data := pythontest.Spec{Name: "lib", Version: "1.1"}.Wheel()
	h.commit("dev", "--add", h.file("d2/"+name, data), "--remove", "gone-0.1-py3-none-any.whl")

	var d repo.PackageDiff
	h.jsonOK(&d, "diff", "--by-package", "dev@2", "dev")
	require.Empty(t, d.Added)
	require.Equal(t, []repo.PackageChange{{Name: "gone", From: []string{"0.1"}, To: []string{}}}, d.Removed)
	require.Equal(t, []repo.PackageChange{{Name: "lib", From: []string{"1.0"}, To: []string{"1.0", "1.1"}}}, d.Changed)
	require.Equal(t, "D\tgone\t0.1\nM\tlib\t1.0 -> 1.0,1.1\n", h.ok("diff", "dev@2", "dev", "--by-package"))
}

// TestDiffByPackageEntries: `diff --by-package --json` pairs a release
// replaced by another into one entry, upgraded or downgraded in PEP 440
// order, and keeps the per-name fields.
func TestDiffByPackageEntries(t *testing.T) {
	h := newHarness(t)
	h.ok("repo", "create", "dp", "--kind", "python")
	name, data := pythontest.Spec{Name: "p1", Version: "9.0"}.Wheel()
	h.commit("dp", "--add", h.file("a/"+name, data))
	name, data = pythontest.Spec{Name: "p1", Version: "9.1"}.Wheel()
	h.commit("dp", "--remove", "p1-9.0-py3-none-any.whl", "--add", h.file("b/"+name, data))
	name, data = pythontest.Spec{Name: "p1", Version: "10.0rc1"}.Wheel()
	h.commit("dp", "--remove", "p1-9.1-py3-none-any.whl", "--add", h.file("c/"+name, data))

	var d repo.PackageDiff
	h.jsonOK(&d, "diff", "--by-package", "dp~2", "dp~1")
	require.Equal(t, []repo.PackageEntry{{Name: "p1", Old: "9.0", New: "9.1", Change: repo.ChangeUpgraded}}, d.Packages)
	require.Equal(t, []repo.PackageChange{{Name: "p1", From: []string{"9.0"}, To: []string{"9.1"}}}, d.Changed)
	h.jsonOK(&d, "diff", "--by-package", "dp", "dp~1")
	require.Equal(t, []repo.PackageEntry{{Name: "p1", Old: "10.0rc1", New: "9.1", Change: repo.ChangeDowngraded}}, d.Packages)

	// The raw document: old and new are always present, arch only for
	// kinds that build per arch.
	var raw map[string][]map[string]any
	h.jsonOK(&raw, "diff", "--by-package", "dp~1", "dp")
	require.Equal(t, []map[string]any{{"name": "p1", "old": "9.1", "new": "10.0rc1", "change": "upgraded"}}, raw["packages"])
	require.Equal(t, "M\tp1\t9.1 -> 10.0rc1\n", h.ok("diff", "dp~1", "dp", "--by-package"), "the text lines stay as they were")
}
