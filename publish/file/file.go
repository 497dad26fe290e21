// Package file publishes the "file" content kind the way Pulp's file plugin
// does: a PULP_MANIFEST at the distribution root lists every file.
//
// # PULP_MANIFEST
//
// One line per file, sorted by path: relative_path,sha256,size, as CSV
// (a path holding a comma, a quote or a leading space is quoted), so
// Pulp's file plugin, and pkgvc's file remote, can sync from it.
package file

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"strconv"

	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/tree"
)

// ManifestPath is where the manifest sits in a distribution.
const ManifestPath = "PULP_MANIFEST"

// Publisher generates PULP_MANIFEST for versions of file repositories.
type Publisher struct{}

var _ publish.Publisher = Publisher{}

// Kind returns "file".
func (Publisher) Kind() string { return "file" }

// Publish returns the PULP_MANIFEST of v.
func (Publisher) Publish(ctx context.Context, st *repo.Store, v *repo.Version) ([]publish.File, error) {
	entries, err := tree.Sorted(ctx, st.Objects(), v.Tree)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Grow(len(entries) * 100)
	if err := writeManifest(&buf, entries); err != nil {
		return nil, err
	}
	return []publish.File{{Path: ManifestPath, ContentType: "text/csv; charset=utf-8", Content: buf.Bytes()}}, nil
}

// writeManifest writes the manifest lines of records, which must be sorted
// by path.
func writeManifest(w io.Writer, records []repo.Record) error {
	cw := csv.NewWriter(w)
	row := make([]string, 3)
	for _, r := range records {
		row[0], row[1], row[2] = r.Path, r.SHA256.String(), strconv.FormatInt(r.Size, 10)
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
