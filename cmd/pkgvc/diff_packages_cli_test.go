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
