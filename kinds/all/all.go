// Package all is the list of content kinds pkgvc knows: adding a kind is a
// folder under kinds/ and one line here.
package all

import (
	"github.com/pkgvc/pkgvc/kinds/container"
	"github.com/pkgvc/pkgvc/kinds/container/registry"
	contupstream "github.com/pkgvc/pkgvc/kinds/container/upstream"
	"github.com/pkgvc/pkgvc/kinds/deb"
	debpub "github.com/pkgvc/pkgvc/kinds/deb/publication"
	debupstream "github.com/pkgvc/pkgvc/kinds/deb/upstream"
	"github.com/pkgvc/pkgvc/kinds/file"
	filepub "github.com/pkgvc/pkgvc/kinds/file/publication"
	fileupstream "github.com/pkgvc/pkgvc/kinds/file/upstream"
	"github.com/pkgvc/pkgvc/kinds/python"
	pypub "github.com/pkgvc/pkgvc/kinds/python/publication"
	pyupstream "github.com/pkgvc/pkgvc/kinds/python/upstream"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
)

// Kinds returns a fresh registry of all content kinds. The first is the
// default (Default): the kind of a repository created without one.
func Kinds() *repo.Kinds {
	return repo.NewKinds(file.Kind{}, python.Kind{}, container.Kind{}, deb.Kind{})
}

// Publishers returns a fresh registry of all publishers.
func Publishers() *publish.Registry {
	return publish.NewRegistry(filepub.Publisher{}, pypub.New(), registry.New(), debpub.Publisher{})
}

// Syncers returns a fresh registry of all upstream kinds.
func Syncers() *remote.Registry {
	return remote.NewRegistry(fileupstream.Syncer{}, pyupstream.Syncer{}, contupstream.New(), debupstream.Syncer{})
}

// Default is the kind of a repository or remote created without one, and
// the one an older pkgvc gave every distribution pinned by version id:
// plain files.
const Default = "file"
