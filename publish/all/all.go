// Package all builds the registry of every publisher pkgvc knows.
package all

import (
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/publish/file"
	"github.com/pkgvc/pkgvc/publish/oci"
	"github.com/pkgvc/pkgvc/publish/pypi"
)

// Registry returns a fresh registry of all publishers.
func Registry() *publish.Registry {
	return publish.NewRegistry(file.Publisher{}, pypi.New(), oci.New())
}
