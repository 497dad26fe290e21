// Package file publishes the "file" content kind the way Pulp's file plugin
// does: a PULP_MANIFEST at the distribution root lists every file.
//
// # PULP_MANIFEST
//
// One line per file, sorted by path: relative_path,sha256,size, ending in
// "\n". Paths are written as they are, unquoted, as Pulp writes them: Pulp
// splits a line at its last two commas, so a path may hold commas.
package file

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"strconv"

	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/repo"
	kindfile "github.com/pkgvc/pkgvc/repo/kinds/file"
	"github.com/pkgvc/pkgvc/repo/tree"
)

// ManifestPath is where the manifest sits in a distribution; the file kind
// refuses packages there.
const ManifestPath = kindfile.ManifestPath

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
	return []publish.File{{Path: ManifestPath, ContentType: "text/plain; charset=utf-8", Content: buf.Bytes()}}, nil
}

// writeManifest writes the manifest lines of records, which must be sorted
// by path.
func writeManifest(w io.Writer, records []repo.Record) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var line []byte
	for _, r := range records {
		line = append(line[:0], r.Path...)
		line = append(line, ',')
		line = hex.AppendEncode(line, r.SHA256[:])
		line = append(line, ',')
		line = strconv.AppendInt(line, r.Size, 10)
		line = append(line, '\n')
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
	return bw.Flush()
}
