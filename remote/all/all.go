// Package all builds the registry of every upstream kind pkgvc syncs.
package all

import (
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/remote/file"
	"github.com/pkgvc/pkgvc/remote/oci"
	"github.com/pkgvc/pkgvc/remote/pypi"
)

// Registry returns a fresh registry of all upstream kinds.
func Registry() *remote.Registry {
	return remote.NewRegistry(file.Syncer{}, pypi.Syncer{}, oci.New())
}
