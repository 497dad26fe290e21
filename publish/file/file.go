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
	"fmt"
	"io"
	"slices"
	"sort"
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

var (
	_ publish.Publisher = Publisher{}
	_ publish.Updater   = Publisher{}
)

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
	return manifestFile(buf.Bytes()), nil
}

func manifestFile(content []byte) []publish.File {
	return []publish.File{{Path: ManifestPath, ContentType: "text/plain; charset=utf-8", Content: content}}
}

// Update derives a version's PULP_MANIFEST from an earlier version's and
// the records that differ: one merge over the old lines, without reading
// the version's records.
func (Publisher) Update(ctx context.Context, old []publish.File, changes []publish.Change) ([]publish.File, error) {
	var prev []byte
	found := false
	for _, f := range old {
		if f.Path == ManifestPath {
			prev, found = f.Content, true
		}
	}
	if !found {
		return nil, fmt.Errorf("no earlier %s", ManifestPath)
	}
	changes = slices.Clone(changes)
	sort.Slice(changes, func(i, j int) bool { return changes[i].Path() < changes[j].Path() })
	var out bytes.Buffer
	out.Grow(len(prev) + 100*len(changes))
	var line []byte
	add := func(r *repo.Record) {
		if r != nil {
			line = appendLine(line[:0], r)
			out.Write(line)
		}
	}
	i, last := 0, ""
	for n := 0; len(prev) > 0; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		end := bytes.IndexByte(prev, '\n')
		if end < 0 {
			return nil, fmt.Errorf("earlier %s: last line unterminated", ManifestPath)
		}
		l := prev[:end+1]
		prev = prev[end+1:]
		path, ok := linePath(l)
		if !ok || (last != "" && path <= last) {
			return nil, fmt.Errorf("earlier %s: bad or unsorted line %q", ManifestPath, l)
		}
		last = path
		for i < len(changes) && changes[i].Path() < path {
			add(changes[i].New)
			i++
		}
		if i < len(changes) && changes[i].Path() == path {
			add(changes[i].New)
			i++
			continue
		}
		out.Write(l)
	}
	for ; i < len(changes); i++ {
		add(changes[i].New)
	}
	return manifestFile(out.Bytes()), nil
}

// linePath returns the path of a manifest line: what precedes its last two
// commas.
func linePath(l []byte) (string, bool) {
	c2 := bytes.LastIndexByte(l, ',')
	if c2 < 0 {
		return "", false
	}
	c1 := bytes.LastIndexByte(l[:c2], ',')
	if c1 <= 0 {
		return "", false
	}
	return string(l[:c1]), true
}

// writeManifest writes the manifest lines of records, which must be sorted
// by path.
func writeManifest(w io.Writer, records []repo.Record) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var line []byte
	for i := range records {
		line = appendLine(line[:0], &records[i])
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func appendLine(line []byte, r *repo.Record) []byte {
	line = append(line, r.Path...)
	line = append(line, ',')
	line = hex.AppendEncode(line, r.SHA256[:])
	line = append(line, ',')
	line = strconv.AppendInt(line, r.Size, 10)
	return append(line, '\n')
}
