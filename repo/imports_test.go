package repo_test

import (
	"go/build"
	"testing"
)

// TestNoStorageMedium: repo works on the storage interfaces only; what a
// medium is (a directory, an object store, a database) is the business
// of its backends and of package location, so that a new medium plugs in
// without a change here.
func TestNoStorageMedium(t *testing.T) {
	pkg, err := build.Default.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	banned := map[string]bool{
		"github.com/pkgvc/pkgvc/objects/fs":  true,
		"github.com/pkgvc/pkgvc/refs/fs":     true,
		"github.com/pkgvc/pkgvc/meta/fs":     true,
		"github.com/pkgvc/pkgvc/meta/mem":    true,
		"github.com/pkgvc/pkgvc/objects/mem": true,
		"github.com/pkgvc/pkgvc/refs/mem":    true,
	}
	for _, imp := range pkg.Imports {
		if banned[imp] {
			t.Errorf("repo imports %s", imp)
		}
	}
}
