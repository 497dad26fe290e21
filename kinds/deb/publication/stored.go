package publication

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pkgvc/pkgvc/kinds/deb"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/tree"
)

// A stored publication keeps, beside its files, the state it is updated
// from (private records, never served):
//
//	@deb/p/<comp>/<bucket>/<pool path>   a package listed: the .deb's digest and size,
//	                                     its control paragraph, architecture, MD5 and SHA1
//	@deb/c/<comp>/<bucket>               the chunks of the bucket's packages in the
//	                                     component's indexes (chunks.go)
//	@deb/i/<comp>/<arch>/<index name>    an index as the Release lists it
//	@deb/old/<by-hash path>              a by-hash file of an earlier publication,
//	                                     kept until the time in its metadata
//
// An index is its chunks concatenated in bucket order: a change
// recompresses the chunks it touches and concatenates the others as they
// are (gzip members, which apt reads as one file; the blocks of the xz
// streams, joined into one stream: xzjoin.go), so its cost is a copy of
// the touched indexes, not their compression nor a walk of the version.
const (
	statePrefix = publish.PrivatePrefix + "deb/"
	pkgPrefix   = statePrefix + "p/"
	chunkPrefix = statePrefix + "c/"
	idxPrefix   = statePrefix + "i/"
	oldPrefix   = statePrefix + "old/"
)

// State record metadata keys.
const (
	stControl = "control"
	stArch    = "arch"
	stMD5     = "md5"
	stSHA1    = "sha1"
	stUntil   = "until" // Unix seconds
)

// KeepByHash is how long the by-hash files of an index stay served after
// a later publication replaced it, counted from the time of the version
// that replaced it: a client that read the older InRelease still finds
// the indexes it names (Debian's archive keeps them a while too).
const KeepByHash = time.Hour

// chunkTemp is where a chunk's blob is written before its state record
// names it; it is removed before the publication is done, never
// published.
const chunkTemp = DistsDir + ".chunk"

// builder writes one publication.
type builder struct {
	ctx context.Context
	st  *repo.Store
	w   *publish.Writer
	s   deb.DistSettings
	v   *repo.Version
	// mem holds the chunks written by this publication: they are read
	// back before the writer's batch is stored.
	mem map[objects.ID][]byte
	// touched are the buckets, by component, whose packages changed.
	touched map[string]map[string]bool
	// tempUsed is set once chunkTemp was written: it is removed at the
	// end.
	tempUsed bool
}

func newBuilder(ctx context.Context, st *repo.Store, v *repo.Version, w *publish.Writer) (*builder, error) {
	s, err := deb.DecodeDistSettings(w.Params.Options)
	if err != nil {
		return nil, err
	}
	return &builder{ctx: ctx, st: st, w: w, s: s, v: v, mem: map[objects.ID][]byte{}, touched: map[string]map[string]bool{}}, nil
}

// Build writes the publication of v: every package of the published
// components is recorded, then every chunk and index written.
func (Publisher) Build(ctx context.Context, st *repo.Store, v *repo.Version, w *publish.Writer) error {
	b, err := newBuilder(ctx, st, v, w)
	if err != nil {
		return err
	}
	err = tree.Walk(ctx, st.Objects(), v.Tree, func(e tree.Entry) error {
		return b.set(&e)
	})
	if err != nil {
		return err
	}
	return b.finish(true)
}

// UpdateFrom writes the publication of v from prev's: the changed
// packages' records, then the chunks of their buckets, then the indexes
// whose chunks changed, then the Release.
func (Publisher) UpdateFrom(ctx context.Context, st *repo.Store, _ *publish.Publication, changes []publish.Change, v *repo.Version, w *publish.Writer) error {
	b, err := newBuilder(ctx, st, v, w)
	if err != nil {
		return err
	}
	if _, ok, err := w.Get(suiteDir(b.s) + "Release"); err != nil || !ok {
		return fmt.Errorf("the earlier publication has no Release: build whole (%v)", err)
	}
	for _, c := range changes {
		if c.Old != nil {
			if err := b.unset(c.Old); err != nil {
				return err
			}
		}
		if c.New != nil {
			if err := b.set(c.New); err != nil {
				return err
			}
		}
	}
	return b.finish(false)
}

// pkgKey is the state record of package p of component comp.
func pkgKey(comp string, p *pkg) string {
	return pkgPrefix + comp + "/" + bucket(p.path) + "/" + p.path
}

func (b *builder) published(r *repo.Record) (pkg, string, bool) {
	p, comp, ok := pkgOf(r)
	if !ok || !slices.Contains(b.s.Components, comp) {
		return p, "", false
	}
	return p, comp, true
}

func (b *builder) touch(comp string, p *pkg) {
	if b.touched[comp] == nil {
		b.touched[comp] = map[string]bool{}
	}
	b.touched[comp][bucket(p.path)] = true
}

// set records package r, if it is published.
func (b *builder) set(r *repo.Record) error {
	p, comp, ok := b.published(r)
	if !ok {
		return nil
	}
	b.touch(comp, &p)
	m := map[string]string{stControl: p.control, stArch: p.arch}
	if p.md5 != "" {
		m[stMD5] = p.md5
	}
	if p.sha1 != "" {
		m[stSHA1] = p.sha1
	}
	return b.w.SetPrivate(tree.Entry{Path: pkgKey(comp, &p), SHA256: p.sha256, Size: p.size, Metadata: m})
}

// unset drops package r, if it was published.
func (b *builder) unset(r *repo.Record) error {
	p, comp, ok := b.published(r)
	if !ok {
		return nil
	}
	b.touch(comp, &p)
	return b.w.Remove(pkgKey(comp, &p))
}

// pkgFromState reads a package back from its state record.
func pkgFromState(e *tree.Entry) pkg {
	rest := strings.TrimPrefix(e.Path, pkgPrefix)
	// <comp>/<bucket>/<pool path>
	for range 2 {
		_, rest, _ = strings.Cut(rest, "/")
	}
	m := e.Metadata
	return pkg{path: rest, sha256: e.SHA256, size: e.Size, control: m[stControl], arch: m[stArch], md5: m[stMD5], sha1: m[stSHA1]}
}

// record names index file f (blob id) in the state and by its hashes,
// and keeps the by-hash files of the one it replaces a while.
func (b *builder) record(comp, arch, name, ctype string, id objects.ID, f indexFile) error {
	dir := indexDir(b.s, comp, arch)
	key := idxPrefix + comp + "/" + arch + "/" + name
	old, had, err := b.w.Get(key)
	if err != nil {
		return err
	}
	if had && old.SHA256 != id {
		until := strconv.FormatInt(b.v.Time.Add(KeepByHash).Unix(), 10)
		for _, p := range byHashPaths(dir, indexOfState(old)) {
			e := tree.Entry{Path: oldPrefix + p, SHA256: old.SHA256, Size: old.Size, Metadata: map[string]string{stUntil: until}}
			if err := b.w.SetPrivate(e); err != nil {
				return err
			}
		}
	}
	for _, p := range byHashPaths(dir, f) {
		if err := b.w.SetFile(p, ctype, id, f.size); err != nil {
			return err
		}
	}
	return b.w.SetPrivate(tree.Entry{Path: key, SHA256: id, Size: f.size, Metadata: map[string]string{stMD5: f.md5, stSHA1: f.sha1}})
}

// indexOfState reads an index's checksums back from its state record.
func indexOfState(e tree.Entry) indexFile {
	return indexFile{size: e.Size, md5: e.Metadata[stMD5], sha1: e.Metadata[stSHA1], sha256: e.SHA256.String()}
}

// listed returns the indexes the Release lists, from the state.
func (b *builder) listed() ([]indexFile, error) {
	var files []indexFile
	err := b.w.Prefix(idxPrefix, func(e tree.Entry) error {
		parts := strings.Split(strings.TrimPrefix(e.Path, idxPrefix), "/")
		if len(parts) != 3 {
			return fmt.Errorf("publication state %q: not <component>/<arch>/<name>", e.Path)
		}
		f := indexOfState(e)
		f.rel = parts[0] + "/binary-" + parts[1] + "/" + parts[2]
		files = append(files, f)
		return nil
	})
	return files, err
}

// expire removes the by-hash files of replaced indexes whose time is
// up, unless a current index has them again.
func (b *builder) expire(files []indexFile) error {
	current := map[string]bool{}
	for _, f := range files {
		dir := suiteDir(b.s) + f.rel[:strings.LastIndexByte(f.rel, '/')+1]
		for _, p := range byHashPaths(dir, f) {
			current[p] = true
		}
	}
	now := b.v.Time.Unix()
	var gone []string
	err := b.w.Prefix(oldPrefix, func(e tree.Entry) error {
		until, err := strconv.ParseInt(e.Metadata[stUntil], 10, 64)
		if err != nil || until <= now {
			gone = append(gone, e.Path)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, p := range gone {
		if err := b.w.Remove(p); err != nil {
			return err
		}
		if pub := strings.TrimPrefix(p, oldPrefix); !current[pub] {
			if err := b.w.Remove(pub); err != nil {
				return err
			}
		}
	}
	return nil
}

// release writes the Release, and InRelease and Release.gpg when the
// distribution signs.
func (b *builder) release(files []indexFile) error {
	text, err := releaseText(b.s, b.v.Time, files)
	if err != nil {
		return err
	}
	in, det, err := signed(b.ctx, b.st, b.s, text)
	if err != nil {
		return err
	}
	if b.tempUsed {
		if err := b.w.Remove(chunkTemp); err != nil {
			return err
		}
	}
	dir := suiteDir(b.s)
	if err := b.w.Put(dir+"Release", textPlain, text); err != nil {
		return err
	}
	if in == nil {
		return nil
	}
	if err := b.w.Put(dir+"InRelease", textPlain, in); err != nil {
		return err
	}
	return b.w.Put(dir+"Release.gpg", "application/pgp-signature", det)
}
