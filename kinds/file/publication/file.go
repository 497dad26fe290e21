// Package file publishes the "file" content kind the way Pulp's file plugin
// does: a PULP_MANIFEST at the distribution root lists every file.
//
// # PULP_MANIFEST
//
// One line per file, sorted by path: relative_path,sha256,size, written by
// internal/format/pulpmanifest (which quotes, CSV-style, a path holding a
// comma or a quote or starting with a space).
package publication

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"

	"github.com/pkgvc/pkgvc/checkout"
	kindfile "github.com/pkgvc/pkgvc/kinds/file"
	"github.com/pkgvc/pkgvc/kinds/file/pulpmanifest"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/tree"
)

// ManifestPath is where the manifest sits in a distribution; the file kind
// refuses packages there.
const ManifestPath = kindfile.ManifestPath

// Publisher generates PULP_MANIFEST for versions of file repositories.
type Publisher struct{}

var (
	_ publish.Publisher = Publisher{}
	_ checkout.Updater  = Publisher{}
	_ publish.Placer    = Publisher{}
)

// Kind returns "file".
func (Publisher) Kind() string { return "file" }

// Places tells that the manifest is the only file a publication holds.
func (Publisher) Places() []string { return []string{ManifestPath} }

// Publish returns the PULP_MANIFEST of v.
func (Publisher) Publish(ctx context.Context, st *repo.Store, v *repo.Version) ([]publish.File, error) {
	recs, err := tree.Sorted(ctx, st.Objects(), v.Tree)
	if err != nil {
		return nil, err
	}
	entries := make([]pulpmanifest.Entry, len(recs))
	for i, r := range recs {
		entries[i] = pulpmanifest.Entry{Path: r.Path, SHA256: r.SHA256, Size: r.Size}
	}
	var buf bytes.Buffer
	buf.Grow(len(entries) * 100)
	if err := pulpmanifest.Write(&buf, entries); err != nil {
		return nil, err
	}
	return manifestFile(buf.Bytes()), nil
}

const manifestType = "text/plain; charset=utf-8"

func manifestFile(content []byte) []publish.File {
	return []publish.File{{Path: ManifestPath, ContentType: manifestType, Content: content}}
}

// errQuoted makes Update give way to Publish: quoted lines are rare, and
// merging them would need a CSV parser.
var errQuoted = errors.New("a quoted path: publish afresh")

// Update derives a version's PULP_MANIFEST from an earlier version's and
// the records that differ: it finds each changed path in the old, sorted
// lines by binary search and copies the runs between them, so its cost is
// a copy plus O(changes × log lines). It declines (errors) when a path in
// either is quoted, or when the old manifest is not one it wrote.
func (Publisher) Update(ctx context.Context, old []publish.File, changes []checkout.Change) ([]publish.File, error) {
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
	if len(prev) > 0 && prev[len(prev)-1] != '\n' {
		return nil, fmt.Errorf("earlier %s: last line unterminated", ManifestPath)
	}
	if bytes.IndexByte(prev, '"') >= 0 {
		return nil, errQuoted
	}
	changes = slices.Clone(changes)
	sort.Slice(changes, func(i, j int) bool { return changes[i].Path() < changes[j].Path() })
	out := make([]byte, 0, len(prev)+100*len(changes))
	done := 0 // prev[:done] is copied or replaced
	for _, c := range changes {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p := c.Path()
		var bad error
		at := done + sort.Search(len(prev)-done, func(i int) bool {
			l := lineAround(prev, done+i)
			path, ok := linePath(l)
			if !ok {
				bad = fmt.Errorf("earlier %s: bad line %q", ManifestPath, l)
				return true
			}
			return string(path) >= p
		})
		if bad != nil {
			return nil, bad
		}
		out = append(out, prev[done:at]...)
		done = at
		if at < len(prev) {
			l := lineAround(prev, at)
			if path, _ := linePath(l); string(path) == p {
				done += len(l) // replaced or removed
			}
		}
		if c.New != nil {
			l, err := plainLine(c.New)
			if err != nil {
				return nil, err
			}
			out = append(out, l...)
		}
	}
	out = append(out, prev[done:]...)
	return manifestFile(out), nil
}

// lineAround returns the line of buf holding offset i, with its '\n'.
func lineAround(buf []byte, i int) []byte {
	start := bytes.LastIndexByte(buf[:i], '\n') + 1
	end := bytes.IndexByte(buf[i:], '\n')
	return buf[start : i+end+1]
}

// plainLine is r's manifest line as pulpmanifest.Write writes it, provided
// it needs no quoting.
func plainLine(r *repo.Record) ([]byte, error) {
	line := append([]byte(r.Path), ',')
	line = hex.AppendEncode(line, r.SHA256[:])
	line = append(line, ',')
	line = strconv.AppendInt(line, r.Size, 10)
	line = append(line, '\n')
	var want bytes.Buffer
	if err := pulpmanifest.Write(&want, []pulpmanifest.Entry{{Path: r.Path, SHA256: r.SHA256, Size: r.Size}}); err != nil {
		return nil, err
	}
	if !bytes.Equal(line, want.Bytes()) {
		return nil, errQuoted
	}
	return line, nil
}

// linePath returns the path of an unquoted manifest line: what precedes its
// last two commas.
func linePath(l []byte) ([]byte, bool) {
	c2 := bytes.LastIndexByte(l, ',')
	if c2 < 0 {
		return nil, false
	}
	c1 := bytes.LastIndexByte(l[:c2], ',')
	if c1 <= 0 {
		return nil, false
	}
	return l[:c1], true
}

var _ publish.Incremental = Publisher{}

// manifestChunk is how many records Build writes at a time.
const manifestChunk = 4096

// Build writes the PULP_MANIFEST of v into w, streaming the records in
// path order: it holds a chunk of them, never the manifest.
func (Publisher) Build(ctx context.Context, st *repo.Store, v *repo.Version, w *publish.Writer) error {
	f, err := w.Create(ManifestPath, manifestType)
	if err != nil {
		return err
	}
	chunk := make([]pulpmanifest.Entry, 0, manifestChunk)
	flush := func() error {
		err := pulpmanifest.Write(f, chunk)
		chunk = chunk[:0]
		return err
	}
	err = tree.Walk(ctx, st.Objects(), v.Tree, func(r tree.Entry) error {
		chunk = append(chunk, pulpmanifest.Entry{Path: r.Path, SHA256: r.SHA256, Size: r.Size})
		if len(chunk) == manifestChunk {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		f.Abort(err)
		return err
	}
	return f.Close()
}

// UpdateFrom writes the PULP_MANIFEST of v from prev's and the changed
// records, merging them into the sorted lines (see the other Update). The
// manifest is one file listing the whole repository, so this still costs
// O(size of the manifest) — a read and a write of it — though no longer a
// walk of the version; it declines (and the caller builds whole) when a
// line is quoted.
func (p Publisher) UpdateFrom(ctx context.Context, st *repo.Store, prev *publish.Publication, changes []publish.Change, v *repo.Version, w *publish.Writer) error {
	data, ok, err := prev.ReadFile(ctx, ManifestPath)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("no earlier %s", ManifestPath)
	}
	cs := make([]checkout.Change, len(changes))
	for i, c := range changes {
		cs[i] = checkout.Change{Old: c.Old, New: c.New}
	}
	files, err := p.Update(ctx, []publish.File{{Path: ManifestPath, Content: data}}, cs)
	if err != nil {
		return err
	}
	return w.Put(ManifestPath, manifestType, files[0].Content)
}
