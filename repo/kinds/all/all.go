// Package all builds the registry of every content kind pkgvc knows.
package all

import (
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/kinds/container"
	"github.com/pkgvc/pkgvc/repo/kinds/file"
	"github.com/pkgvc/pkgvc/repo/kinds/python"
)

// Kinds returns a fresh registry of all content kinds.
func Kinds() *repo.Kinds {
	return repo.NewKinds(file.Kind{}, python.Kind{}, container.Kind{})
}
