// Package all registers every store location scheme pkgvc knows.
package all

import (
	"github.com/pkgvc/pkgvc/location"
	"github.com/pkgvc/pkgvc/location/fsstore"
)

// Registry returns a registry of every scheme: file (a local directory).
func Registry() *location.Registry {
	r := location.NewRegistry()
	r.Register(fsstore.Scheme, fsstore.Open)
	return r
}
