package publication

import (
	"bufio"
	"context"
	"encoding/json"
	"html"
	"sort"
	"strings"
	"time"

	pyformat "github.com/pkgvc/pkgvc/kinds/python/format"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/tree"
)

// A stored publication (publish.Incremental) holds, beside the files, an
// index of the distribution files by project: the record at
// "@python/NAME/PATH" describes the file at PATH of project NAME as its
// page lists it. A project's page is rendered from its index records
// alone, so a change rewrites the pages of the projects it touches, and
// the project list only when a project comes or goes.
//
// A file whose record has no upload_time is listed with the time of the
// version whose publication first listed it, which later publications
// keep.
const indexPrefix = publish.PrivatePrefix + "python/"

// Index record metadata keys.
const (
	ixVersion        = "version"
	ixRequiresPython = "requires_python"
	ixYanked         = "yanked"
	ixYankedReason   = "yanked_reason"
	ixUploaded       = "uploaded"
	ixCoreMetadata   = "core_metadata" // hex SHA-256 of the metadata file, if served
)

var _ publish.Incremental = Publisher{}

// PublicationFormat names the layout of stored publications.
func (Publisher) PublicationFormat() string { return "pep503+691+658/index-1" }

// recordChunk is how many records are described and indexed at a time.
const recordChunk = 512

// Build writes the publication of v: records are read in path order a
// chunk at a time, each wheel's metadata file written and each
// distribution indexed; then the pages are rendered project by project
// from the index, and the project list from the pages.
func (p Publisher) Build(ctx context.Context, st *repo.Store, v *repo.Version, w *publish.Writer) error {
	objs := st.Objects()
	var chunk []*repo.Record
	err := tree.Walk(ctx, objs, v.Tree, func(e tree.Entry) error {
		rec := e
		chunk = append(chunk, &rec)
		if len(chunk) < recordChunk {
			return nil
		}
		_, err := p.index(ctx, objs, w, chunk, v.Time)
		chunk = chunk[:0]
		return err
	})
	if err != nil {
		return err
	}
	if _, err := p.index(ctx, objs, w, chunk, v.Time); err != nil {
		return err
	}
	root, err := w.Root()
	if err != nil {
		return err
	}
	var name string
	var dists []*dist
	err = tree.Prefix(ctx, w.Getter(), root, indexPrefix, func(e tree.Entry) error {
		d, ok := fromIndex(e)
		if !ok {
			return nil
		}
		if d.name != name && len(dists) > 0 {
			if err := putProject(w, name, dists); err != nil {
				return err
			}
			dists = dists[:0]
		}
		name = d.name
		dists = append(dists, d)
		return nil
	})
	if err != nil {
		return err
	}
	if len(dists) > 0 {
		if err := putProject(w, name, dists); err != nil {
			return err
		}
	}
	return writeProjectList(ctx, w)
}

// UpdateFrom writes the publication of v from prev: the changed records are
// indexed again, the pages of the projects they belong to rendered again
// from the index, and the project list rewritten only if a project came
// or went.
func (p Publisher) UpdateFrom(ctx context.Context, st *repo.Store, prev *publish.Publication, changes []publish.Change, v *repo.Version, w *publish.Writer) error {
	objs := st.Objects()
	touched := map[string]bool{}
	var adds []*repo.Record
	for _, c := range changes {
		if c.Old != nil {
			if d, ok := describe(c.Old, v.Time); ok {
				touched[d.name] = true
				if err := w.Remove(indexKey(d.name, c.Old.Path)); err != nil {
					return err
				}
				if err := w.Remove(c.Old.Path + MetadataSuffix); err != nil {
					return err
				}
			}
		}
		if c.New != nil {
			adds = append(adds, c.New)
		}
	}
	for len(adds) > 0 {
		n := min(len(adds), recordChunk)
		names, err := p.index(ctx, objs, w, adds[:n], v.Time)
		if err != nil {
			return err
		}
		for _, name := range names {
			touched[name] = true
		}
		adds = adds[n:]
	}
	root, err := w.Root()
	if err != nil {
		return err
	}
	names := make([]string, 0, len(touched))
	for n := range touched {
		names = append(names, n)
	}
	sort.Strings(names)
	listChanged := false
	if _, ok, err := prev.Lookup(ctx, SimpleDir+"/"+IndexHTML); err != nil {
		return err
	} else if !ok {
		listChanged = true
	}
	for _, name := range names {
		_, had, err := prev.Lookup(ctx, SimpleDir+"/"+name+"/"+IndexHTML)
		if err != nil {
			return err
		}
		var dists []*dist
		err = tree.Prefix(ctx, w.Getter(), root, indexPrefix+name+"/", func(e tree.Entry) error {
			if d, ok := fromIndex(e); ok {
				dists = append(dists, d)
			}
			return nil
		})
		if err != nil {
			return err
		}
		has := len(dists) > 0
		if has {
			err = putProject(w, name, dists)
		} else {
			for _, f := range []string{IndexHTML, IndexV1HTML, IndexJSON} {
				if err = w.Remove(SimpleDir + "/" + name + "/" + f); err != nil {
					break
				}
			}
		}
		if err != nil {
			return err
		}
		listChanged = listChanged || had != has
	}
	if !listChanged {
		return nil
	}
	return writeProjectList(ctx, w)
}

func indexKey(name, path string) string { return indexPrefix + name + "/" + path }

// index describes recs, writes the metadata file of each wheel that has
// one and the index record of each distribution, and returns the
// projects they belong to.
func (p Publisher) index(ctx context.Context, objs *objects.Store, w *publish.Writer, recs []*repo.Record, versionTime time.Time) ([]string, error) {
	var dists []*dist
	for _, r := range recs {
		if d, ok := describe(r, versionTime); ok {
			dists = append(dists, d)
		}
	}
	// Every wheel is read anew: the store remembers the metadata files
	// written before.
	if err := (Publisher{}).readMetadata(ctx, objs, dists); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(dists))
	for _, d := range dists {
		names = append(names, d.name)
		m := map[string]string{
			ixVersion:  d.version,
			ixUploaded: d.uploaded.UTC().Format(time.RFC3339Nano),
		}
		if d.requiresPython != "" {
			m[ixRequiresPython] = d.requiresPython
		}
		if d.yanked.Yanked {
			m[ixYanked] = "true"
			m[ixYankedReason] = d.yanked.Reason
		}
		if d.meta != nil {
			sum := objects.Sum(d.meta)
			m[ixCoreMetadata] = sum.String()
			if err := w.Put(d.rec.Path+MetadataSuffix, MetadataContentType, d.meta); err != nil {
				return nil, err
			}
			d.meta = nil
		}
		e := tree.Entry{Path: indexKey(d.name, d.rec.Path), SHA256: d.rec.SHA256, Size: d.rec.Size, Metadata: m}
		if err := w.SetPrivate(e); err != nil {
			return nil, err
		}
	}
	return names, nil
}

// fromIndex reads a distribution back from its index record.
func fromIndex(e tree.Entry) (*dist, bool) {
	rest := strings.TrimPrefix(e.Path, indexPrefix)
	name, path, ok := strings.Cut(rest, "/")
	if !ok || path == "" {
		return nil, false
	}
	m := e.Metadata
	d := &dist{
		rec:            &repo.Record{Path: path, SHA256: e.SHA256, Size: e.Size},
		name:           name,
		version:        m[ixVersion],
		filename:       path[strings.LastIndexByte(path, '/')+1:],
		requiresPython: m[ixRequiresPython],
	}
	if m[ixYanked] == "true" {
		d.yanked = pyformat.Yanked{Yanked: true, Reason: m[ixYankedReason]}
	}
	d.uploaded, _ = time.Parse(time.RFC3339Nano, m[ixUploaded])
	if s := m[ixCoreMetadata]; s != "" {
		if id, err := objects.ParseID(s); err == nil {
			d.metaSum = &id
		}
	}
	return d, true
}

// putProject writes the three pages of project name, listing dists (in
// path order: the first path of a file name wins).
func putProject(w *publish.Writer, name string, dists []*dist) error {
	seen := map[string]bool{}
	listed := dists[:0:0]
	for _, d := range dists {
		if !seen[d.filename] {
			seen[d.filename] = true
			listed = append(listed, d)
		}
	}
	page := projectPage(name, listed)
	files, err := pages(SimpleDir+"/"+name+"/", &page)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := w.Put(f.Path, f.ContentType, f.Content); err != nil {
			return err
		}
	}
	return nil
}

// writeProjectList writes the project list from the project pages
// written, streaming: what it costs is what the list holds.
func writeProjectList(ctx context.Context, w *publish.Writer) error {
	root, err := w.Root()
	if err != nil {
		return err
	}
	dir := SimpleDir + "/"
	hf, err := w.Create(dir+IndexHTML, pyformat.ContentTypeTextHTML)
	if err != nil {
		return err
	}
	jf, err := w.Create(dir+IndexJSON, pyformat.ContentTypeJSON)
	if err != nil {
		hf.Abort(err)
		return err
	}
	hb, jb := bufio.NewWriter(hf), bufio.NewWriter(jf)
	lw := &listWriter{h: hb, j: jb}
	err = lw.start()
	if err == nil {
		err = tree.Prefix(ctx, w.Getter(), root, dir, func(e tree.Entry) error {
			name, file, ok := strings.Cut(e.Path[len(dir):], "/")
			if !ok || file != IndexHTML {
				return nil
			}
			return lw.add(name)
		})
	}
	if err == nil {
		err = lw.end()
	}
	if err == nil {
		err = hb.Flush()
	}
	if err == nil {
		err = jb.Flush()
	}
	if err != nil {
		hf.Abort(err)
		jf.Abort(err)
		return err
	}
	if err := hf.Close(); err != nil {
		jf.Abort(err)
		return err
	}
	if err := jf.Close(); err != nil {
		return err
	}
	id, size := hf.Blob()
	return w.SetFile(dir+IndexV1HTML, pyformat.ContentTypeHTML, id, size)
}

// listWriter writes a ProjectList's HTML and JSON a project at a time,
// byte for byte as ProjectList.WriteHTML and WriteJSON do.
type listWriter struct {
	h, j *bufio.Writer
	n    int
}

func (l *listWriter) start() error {
	meta, err := json.Marshal(pyformat.Meta{APIVersion: pyformat.APIVersion})
	if err != nil {
		return err
	}
	_, _ = l.h.WriteString(htmlListHead)
	_, _ = l.j.WriteString(`{"meta":`)
	_, _ = l.j.Write(meta)
	_, err = l.j.WriteString(`,"projects":[`)
	return err
}

func (l *listWriter) add(name string) error {
	e := html.EscapeString(name)
	_, _ = l.h.WriteString(`    <a href="`)
	_, _ = l.h.WriteString(e)
	_, _ = l.h.WriteString(`/">`)
	_, _ = l.h.WriteString(e)
	_, _ = l.h.WriteString("</a><br>\n")
	if l.n > 0 {
		_ = l.j.WriteByte(',')
	}
	l.n++
	ref, err := marshalNoEscape(pyformat.ProjectRef{Name: name})
	if err != nil {
		return err
	}
	_, err = l.j.Write(ref)
	return err
}

func (l *listWriter) end() error {
	_, _ = l.h.WriteString("  </body>\n</html>\n")
	_, err := l.j.WriteString("]}\n")
	return err
}

// htmlListHead is what ProjectList.WriteHTML writes before the first
// project.
var htmlListHead = func() string {
	var b strings.Builder
	_ = (&pyformat.ProjectList{}).WriteHTML(&b)
	return strings.TrimSuffix(b.String(), "  </body>\n</html>\n")
}()

// marshalNoEscape encodes v as JSON without escaping '<', '>' and '&', as
// the Simple API pages are written.
func marshalNoEscape(v any) ([]byte, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(strings.TrimSuffix(b.String(), "\n")), nil
}
