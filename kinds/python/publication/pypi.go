// Package pypi publishes the "python" content kind as a Python package
// index: the Simple Repository API that pip, uv and twine's peers read.
//
// # Layout
//
// For a version it generates, beside the packages (which may sit at any
// path):
//
//	simple/index.html                 project list, PEP 503 HTML (text/html)
//	simple/index.v1.html              the same, as application/vnd.pypi.simple.v1+html
//	simple/index.v1.json              project list, PEP 691 JSON
//	simple/NAME/index.html            one project's files, PEP 503 HTML
//	simple/NAME/index.v1.html         the same, as application/vnd.pypi.simple.v1+html
//	simple/NAME/index.v1.json         one project's files, PEP 691 JSON
//	PATH.metadata                     a wheel's METADATA (PEP 658), for each wheel at PATH
//
// NAME is the PEP 503 normalized project name. Pages declare API version
// 1.1 (PEP 700: versions, size, upload-time). File links are relative to
// the project page ("../../PATH", so a distribution's base path or a
// version URL works unchanged) and carry "#sha256=…"; JSON URLs have no
// fragment and give "hashes". Each wheel whose metadata file is generated
// is advertised, with the metadata file's SHA-256, by data-core-metadata
// and data-dist-info-metadata in HTML and by "core-metadata" alone in JSON
// (PEP 714: pip 22.3 to 23.1 crash on a JSON dist-info-metadata object).
// Yanked files (record metadata yanked "true") get data-yanked / "yanked".
// upload-time is a record's upload_time, else the time of the version
// (for a stored publication, the version whose publication first listed
// the file: see stored.go).
//
// # Metadata files
//
// A wheel's METADATA is read again from the stored blob (the raw blob file
// when the store is local, else ranged reads), checked as the python kind
// checks it, and compared with the record's metadata_sha256. A wheel whose
// blob is not in the store (an on-demand record not fetched yet), or whose
// METADATA is missing, broken or not the one recorded, is listed without
// a metadata file, so pip falls back to downloading it.
//
// # Routing
//
// Publisher is a publish.Router: the server asks it, for each request,
// which generated file answers; see Route.
package publication

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/internal/parallel"
	kindpython "github.com/pkgvc/pkgvc/kinds/python"
	pyformat "github.com/pkgvc/pkgvc/kinds/python/format"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/tree"
)

// Generated file names.
const (
	// SimpleDir is the Simple API's directory in a distribution.
	SimpleDir = kindpython.SimpleDir
	// IndexHTML, IndexV1HTML and IndexJSON are the pages of SimpleDir and
	// of each project directory under it.
	IndexHTML   = "index.html"
	IndexV1HTML = "index.v1.html"
	IndexJSON   = "index.v1.json"
	// MetadataSuffix follows a wheel's path to name its metadata file.
	MetadataSuffix = kindpython.MetadataSuffix
	// MetadataContentType is the Content-Type of metadata files.
	MetadataContentType = "text/plain; charset=utf-8"
)

// Publisher generates the Simple Repository API of python repositories.
// The zero value reads every wheel's METADATA at each Publish; New's
// remembers them.
type Publisher struct {
	cache *metaCache
}

// New returns a Publisher that remembers the METADATA it reads from
// wheels, up to DefaultCacheBytes, so that publishing a new version reads
// only the wheels it adds.
func New() Publisher { return Publisher{cache: newMetaCache(DefaultCacheBytes)} }

var (
	_ publish.Publisher = Publisher{}
	_ publish.Router    = Publisher{}

	_ content.ProjectPaths = Publisher{}
	_ content.Uploader     = Publisher{}
)

// Kind returns "python".
func (Publisher) Kind() string { return kindpython.Kind{}.Name() }

// dist is one distribution file of a version, as published.
type dist struct {
	rec            *repo.Record
	name, version  string
	filename       string
	requiresPython string
	yanked         pyformat.Yanked
	uploaded       time.Time
	meta           []byte // the wheel's METADATA, nil if not served
	// metaSum is the SHA-256 of the served metadata file, when it is
	// read from an index record rather than meta.
	metaSum *objects.ID
}

// Publish returns the Simple API pages and metadata files of v.
func (p Publisher) Publish(ctx context.Context, st *repo.Store, v *repo.Version) ([]publish.File, error) {
	recs, err := tree.Sorted(ctx, st.Objects(), v.Tree)
	if err != nil {
		return nil, err
	}
	var dists []*dist
	for i := range recs {
		if d, ok := describe(&recs[i], v.Time); ok {
			dists = append(dists, d)
		}
	}
	if err := p.readMetadata(ctx, st.Objects(), dists); err != nil {
		return nil, err
	}
	return render(dists)
}

// describe reads a record's metadata, or failing that (a record committed
// by digest without it) its file name; ok is false for a file that is not
// a python distribution.
func describe(rec *repo.Record, versionTime time.Time) (*dist, bool) {
	m := rec.Metadata
	d := &dist{rec: rec, filename: path.Base(rec.Path), requiresPython: m[kindpython.MetaRequiresPython], uploaded: versionTime}
	name, version := pyformat.NormalizeName(m[kindpython.MetaName]), m[kindpython.MetaVersion]
	nv, err := pyformat.NormalizeVersion(version)
	switch {
	case pyformat.ValidName(m[kindpython.MetaName]) && err == nil:
		d.name, d.version = name, nv
	case strings.HasSuffix(d.filename, pyformat.WheelExt):
		wn, err := pyformat.ParseWheelName(d.filename)
		if err != nil {
			return nil, false
		}
		d.name = pyformat.NormalizeName(wn.Name)
		d.version, _ = pyformat.NormalizeVersion(wn.Version)
	default:
		stem, ok := pyformat.SdistStem(d.filename)
		if !ok {
			return nil, false
		}
		if d.name, d.version, ok = pyformat.GuessSdistName(stem); !ok {
			return nil, false
		}
	}
	if m[kindpython.MetaYanked] == "true" {
		d.yanked = pyformat.Yanked{Yanked: true, Reason: m[kindpython.MetaYankedReason]}
	}
	if t, err := time.Parse(time.RFC3339Nano, m[kindpython.MetaUploadTime]); err == nil {
		d.uploaded = t
	}
	return d, true
}

// metadataWorkers bounds the wheels read at once.
const metadataWorkers = 8

// readMetadata fills in the METADATA of every wheel in dists, several at a
// time. Only errors reading the store fail it.
func (p Publisher) readMetadata(ctx context.Context, s *objects.Store, dists []*dist) error {
	var wheels []*dist
	for _, d := range dists {
		if strings.HasSuffix(d.filename, pyformat.WheelExt) {
			wheels = append(wheels, d)
		}
	}
	return parallel.Do(ctx, len(wheels), metadataWorkers, func(ctx context.Context, i int) error {
		meta, err := p.wheelMetadata(ctx, s, wheels[i])
		wheels[i].meta = meta
		return err
	})
}

// wheelMetadata returns the METADATA of d's stored wheel, or nil when it is
// not to be served (see the package documentation).
func (p Publisher) wheelMetadata(ctx context.Context, s *objects.Store, d *dist) ([]byte, error) {
	k := metaKey{d.rec.SHA256, d.filename}
	meta, ok := p.cache.get(k)
	if !ok {
		var err error
		if meta, ok, err = readWheelMetadata(ctx, s, d); err != nil {
			return nil, err
		}
		if ok {
			p.cache.add(k, meta)
		}
	}
	if want := d.rec.Metadata[kindpython.MetaMetadataSHA256]; want != "" {
		if sum := objects.Sum(meta); !strings.EqualFold(want, hex.EncodeToString(sum[:])) {
			return nil, nil
		}
	}
	return meta, nil
}

// readWheelMetadata reads the METADATA of d's stored wheel: nil for a
// wheel without usable METADATA (committed by digest, unchecked); ok false
// when the blob is not in the store.
func readWheelMetadata(ctx context.Context, s *objects.Store, d *dist) (meta []byte, ok bool, err error) {
	ra, closeBlob, err := openBlob(ctx, s, d.rec)
	if err != nil || ra == nil {
		return nil, false, err
	}
	defer closeBlob()
	meta, err = pyformat.ReadWheelMetadata(ctx, ra, d.rec.Size, d.filename, pyformat.Limits{})
	switch {
	case errors.Is(err, pyformat.ErrInvalid):
		return nil, true, nil
	case err != nil:
		return nil, false, fmt.Errorf("read the metadata of %s: %w", d.rec.Path, err)
	}
	return meta, true, nil
}

// openBlob opens rec's blob for random access: the raw blob file when the
// store has one, else ranged reads. A blob not in the store gives nil.
func openBlob(ctx context.Context, s *objects.Store, rec *repo.Record) (io.ReaderAt, func(), error) {
	if p, ok := s.BlobPath(rec.SHA256); ok {
		f, err := os.Open(p)
		if err == nil {
			return f, func() { _ = f.Close() }, nil // read-only
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, err
		}
	}
	ok, err := s.HasBlob(ctx, rec.SHA256)
	if err != nil || !ok {
		return nil, nil, err
	}
	return &rangeReaderAt{ctx: ctx, s: s, id: rec.SHA256, size: rec.Size}, func() {}, nil
}

// render builds the pages and metadata files.
func render(dists []*dist) ([]publish.File, error) {
	projects := map[string][]*dist{}
	seen := map[[2]string]bool{} // project, file name: the first path wins
	for _, d := range dists {
		k := [2]string{d.name, d.filename}
		if seen[k] {
			continue
		}
		seen[k] = true
		projects[d.name] = append(projects[d.name], d)
	}
	names := make([]string, 0, len(projects))
	for n := range projects {
		names = append(names, n)
	}
	sort.Strings(names)

	var out []publish.File
	list := pyformat.ProjectList{Meta: pyformat.Meta{APIVersion: pyformat.APIVersion}, Projects: []pyformat.ProjectRef{}}
	for _, n := range names {
		list.Projects = append(list.Projects, pyformat.ProjectRef{Name: n})
		page := projectPage(n, projects[n])
		files, err := pages(SimpleDir+"/"+n+"/", &page)
		if err != nil {
			return nil, err
		}
		out = append(out, files...)
		for _, d := range projects[n] {
			if d.meta != nil {
				out = append(out, publish.File{Path: d.rec.Path + MetadataSuffix, ContentType: MetadataContentType, Content: d.meta})
			}
		}
	}
	files, err := pages(SimpleDir+"/", &list)
	if err != nil {
		return nil, err
	}
	return append(out, files...), nil
}

// page is a ProjectList or a ProjectPage.
type page interface {
	WriteHTML(io.Writer) error
	WriteJSON(io.Writer) error
}

// pages renders p as the three files of dir (which ends in '/'); both HTML
// files share one buffer.
func pages(dir string, p page) ([]publish.File, error) {
	var h, j bytes.Buffer
	if err := p.WriteHTML(&h); err != nil {
		return nil, err
	}
	if err := p.WriteJSON(&j); err != nil {
		return nil, err
	}
	return []publish.File{
		{Path: dir + IndexHTML, ContentType: pyformat.ContentTypeTextHTML, Content: h.Bytes()},
		{Path: dir + IndexV1HTML, ContentType: pyformat.ContentTypeHTML, Content: h.Bytes()},
		{Path: dir + IndexJSON, ContentType: pyformat.ContentTypeJSON, Content: j.Bytes()},
	}, nil
}

// projectPage describes one project's files, sorted by version, then file
// name.
func projectPage(name string, ds []*dist) pyformat.ProjectPage {
	sort.SliceStable(ds, func(i, j int) bool {
		if c := pyformat.CompareVersions(ds[i].version, ds[j].version); c != 0 {
			return c < 0
		}
		return ds[i].filename < ds[j].filename
	})
	p := pyformat.ProjectPage{Meta: pyformat.Meta{APIVersion: pyformat.APIVersion}, Name: name, Versions: []string{}, Files: []pyformat.File{}}
	seen := map[string]bool{}
	for _, d := range ds {
		if !seen[d.version] {
			seen[d.version] = true
			p.Versions = append(p.Versions, d.version)
		}
		f := pyformat.File{
			Filename:       d.filename,
			URL:            "../../" + escapePath(d.rec.Path),
			Hashes:         map[string]string{"sha256": d.rec.SHA256.String()},
			RequiresPython: d.requiresPython,
			Yanked:         d.yanked,
			Size:           d.rec.Size,
			UploadTime:     pyformat.UploadTime{Time: d.uploaded},
		}
		if d.meta != nil {
			sum := objects.Sum(d.meta)
			d.metaSum = &sum
		}
		if d.metaSum != nil {
			sum := *d.metaSum
			f.CoreMetadata = pyformat.CoreMetadata{Available: true, Hashes: map[string]string{"sha256": sum.String()}}
		}
		p.Files = append(p.Files, f)
	}
	return p
}

// escapePath escapes each segment of a package path for a URL.
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}
