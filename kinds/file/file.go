// Package file is the "file" content kind: any file, no metadata, as in
// Pulp's file plugin.
package file

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/pkgvc/pkgvc/repo"
)

// ManifestPath is the file the file publication writes at the root of a
// distribution, so no package may sit there.
const ManifestPath = "PULP_MANIFEST"

// Kind accepts every file, at any path but ManifestPath.
type Kind struct{}

var (
	_ repo.Kind        = Kind{}
	_ repo.PathChecker = Kind{}
)

// Name returns "file".
func (Kind) Name() string { return "file" }

// Inspect accepts the file as it is; plain files carry no metadata.
func (k Kind) Inspect(_ context.Context, path string, _ io.ReaderAt, _ int64) (map[string]string, error) {
	return nil, k.CheckPath(path)
}

// CheckPath refuses ManifestPath (and paths under it), where the
// publication writes the manifest.
func (Kind) CheckPath(path string) error {
	if path == ManifestPath || strings.HasPrefix(path, ManifestPath+"/") {
		return fmt.Errorf("%w %q: a file repository's publication writes %s at the distribution root; give the package another path", repo.ErrReservedPath, path, ManifestPath)
	}
	return nil
}

// ClientAccess gives the URLs of the distribution's files, and the
// PULP_MANIFEST listing them that a file remote syncs from
// (content.ClientGuide).
func (Kind) ClientAccess(contentURL, _ string) (string, []string) {
	return contentURL, []string{"curl -O " + contentURL + "PATH", "pkgvc remote create NAME --kind file --url " + contentURL + ManifestPath}
}
