package publish

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/tree"
)

// A stored publication is a tree (package repo/tree, the ordered Merkle
// tree versions use) whose records are the publication's files: Path the
// file's path in the distribution, SHA256 and Size those of the blob
// holding its content, metadata MetaContentType its Content-Type. Records
// under PrivatePrefix are the publisher's own state (an index it updates
// the next publication from), never served.
const (
	// MetaContentType is the record metadata key of a file's Content-Type.
	MetaContentType = "content-type"
	// PrivatePrefix begins the paths of a publication tree that are not
	// files: '@' begins no package path, so no served path either.
	PrivatePrefix = "@"
)

// Private reports whether path is publisher state rather than a file.
func Private(path string) bool { return strings.HasPrefix(path, PrivatePrefix) }

// Publication is the generated files of one version: a stored tree, read
// by lookups (O(log n) objects each), never loaded whole.
type Publication struct {
	Version objects.ID
	// Root is the publication tree; zero for a kind without a publisher
	// (an empty publication).
	Root objects.ID
	objs *objects.Store
	// ov, until what it holds is durable and named by the publication's
	// ref, holds the objects and small blobs written last: a request is
	// answered before the store has synced them.
	ov atomic.Pointer[overlay]
}

func (p *Publication) getter() tree.Getter {
	if ov := p.ov.Load(); ov != nil {
		return ov
	}
	return p.objs
}

// file is the File of record e, its content filled in while it is only
// in memory.
func (p *Publication) file(e *tree.Entry) *File {
	f := fileOf(e)
	if ov := p.ov.Load(); ov != nil {
		if data, ok := ov.blob(f.ID); ok {
			f.Content = data
		}
	}
	return f
}

// Lookup returns the generated file at path.
func (p *Publication) Lookup(ctx context.Context, path string) (*File, bool, error) {
	if p == nil || p.Root.IsZero() || Private(path) || path == "" {
		return nil, false, nil
	}
	e, ok, err := tree.Get(ctx, p.getter(), p.Root, path)
	if err != nil || !ok {
		return nil, false, err
	}
	return p.file(&e), true, nil
}

// File returns the generated file at path; a file that cannot be read is
// reported absent (Lookup tells why).
func (p *Publication) File(path string) (*File, bool) {
	f, ok, err := p.Lookup(context.Background(), path)
	return f, ok && err == nil
}

func fileOf(e *tree.Entry) *File {
	return &File{Path: e.Path, ContentType: e.Metadata[MetaContentType], ID: e.SHA256, Size: e.Size}
}

// List calls fn, in path order, for each immediate child of directory dir
// ("" or ending in '/'): a file (f set) or a subdirectory. It reads what
// dir holds, not the whole publication.
func (p *Publication) List(ctx context.Context, dir string, fn func(name string, isDir bool, f *File) error) error {
	if p == nil || p.Root.IsZero() || Private(dir) {
		return nil
	}
	return tree.List(ctx, p.getter(), p.Root, dir, func(name string, isDir bool, e *tree.Entry) error {
		if dir == "" && Private(name) {
			return nil
		}
		if isDir {
			return fn(name, true, nil)
		}
		return fn(name, false, p.file(e))
	})
}

// errStop ends a walk early.
var errStop = errors.New("stop")

// HasDir reports whether any file lies under directory dir (ending in
// '/'): one seek.
func (p *Publication) HasDir(ctx context.Context, dir string) (bool, error) {
	if p == nil || p.Root.IsZero() || Private(dir) {
		return false, nil
	}
	found := false
	err := tree.Prefix(ctx, p.getter(), p.Root, dir, func(tree.Entry) error {
		found = true
		return errStop
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return found, err
}

// Open opens the content of f, a file of p.
func (p *Publication) Open(ctx context.Context, f *File) (io.ReadCloser, error) {
	if f.Content != nil {
		return io.NopCloser(bytes.NewReader(f.Content)), nil
	}
	return p.objs.OpenBlob(ctx, f.ID)
}

// ReadFile returns the content of the file at path.
func (p *Publication) ReadFile(ctx context.Context, path string) ([]byte, bool, error) {
	f, ok, err := p.Lookup(ctx, path)
	if err != nil || !ok {
		return nil, false, err
	}
	rc, err := p.Open(ctx, f)
	if err != nil {
		return nil, false, err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	return data, err == nil, err
}

// Walk calls fn for every file of p in path order (publisher state
// skipped): a checkout writing them all.
func (p *Publication) Walk(ctx context.Context, fn func(f *File) error) error {
	if p == nil || p.Root.IsZero() {
		return nil
	}
	return tree.Walk(ctx, p.getter(), p.Root, func(e tree.Entry) error {
		if Private(e.Path) {
			return nil
		}
		return fn(p.file(&e))
	})
}

// Change is a record that differs between two versions: Old is nil for
// an added record, New for a removed one.
type Change struct {
	Old, New *repo.Record
}

// Incremental is an optional capability of a Publisher that writes its
// publication into the store as it goes, and derives the publication of a
// version from an earlier one and the records that differ, so that a
// commit of k files costs O(k·log n), not what the version holds.
type Incremental interface {
	// Build writes the publication of v into w (which starts empty),
	// streaming: it need not hold the version or its files in memory.
	Build(ctx context.Context, st *repo.Store, v *repo.Version, w *Writer) error
	// UpdateFrom writes into w, which starts as prev, the publication of v:
	// changes are the records that differ between prev's version and v.
	UpdateFrom(ctx context.Context, st *repo.Store, prev *Publication, changes []Change, v *repo.Version, w *Writer) error
}

// maxPending bounds the changes a Writer holds before it applies them to
// its tree: what bounds its memory, whatever a publication holds.
const maxPending = 2048

// maxStaged bounds the objects a Writer stages before it flushes them.
const maxStaged = 4096

// Writer writes a publication tree: each file as a blob as it comes, its
// record into the tree a few thousand at a time.
type Writer struct {
	// Params are the distribution's settings the publication is made
	// under.
	Params  Params
	ctx     context.Context
	objs    *objects.Store
	ov      *overlay
	root    objects.ID
	pending map[string]*tree.Entry // nil: remove
	staged  int
	// streamed is set once a file was streamed (Create): its content is
	// not in memory, so the publication is synced before it is served.
	streamed bool
}

func newWriter(ctx context.Context, objs *objects.Store, root objects.ID) (*Writer, error) {
	w := &Writer{ctx: ctx, objs: objs, ov: newOverlay(objs), root: root, pending: map[string]*tree.Entry{}}
	if root.IsZero() {
		id, err := tree.Empty(ctx, w.ov)
		if err != nil {
			return nil, err
		}
		w.root = id
	}
	return w, nil
}

// Put writes a file.
func (w *Writer) Put(path, contentType string, content []byte) error {
	if err := w.PutReader(path, contentType, bytes.NewReader(content)); err != nil {
		return err
	}
	w.ov.keep(objects.Sum(content), content)
	return nil
}

// PutReader writes a file, streaming its content from r.
func (w *Writer) PutReader(path, contentType string, r io.Reader) error {
	if path == "" || Private(path) {
		return fmt.Errorf("publication file %q: invalid path", path)
	}
	res, err := w.ov.batch.PutBlob(w.ctx, r)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	e := &tree.Entry{Path: path, SHA256: res.ID, Size: res.Size}
	if contentType != "" {
		e.Metadata = map[string]string{MetaContentType: contentType}
	}
	w.staged++
	return w.set(e)
}

// SetPrivate sets a record of publisher state; its path must begin with
// PrivatePrefix.
func (w *Writer) SetPrivate(e tree.Entry) error {
	if !Private(e.Path) {
		return fmt.Errorf("publication state %q: not under %s", e.Path, PrivatePrefix)
	}
	return w.set(&e)
}

// Remove removes the file or state record at path, if any.
func (w *Writer) Remove(path string) error {
	w.pending[path] = nil
	return w.spill()
}

func (w *Writer) set(e *tree.Entry) error {
	w.pending[e.Path] = e
	return w.spill()
}

func (w *Writer) spill() error {
	if len(w.pending) < maxPending && w.staged < maxStaged {
		return nil
	}
	return w.Flush()
}

// Flush applies what was written to the tree, and makes it durable
// once enough is staged. Reads see it afterwards.
func (w *Writer) Flush() error {
	if len(w.pending) > 0 {
		changes := make([]tree.Change, 0, len(w.pending))
		for p, e := range w.pending {
			changes = append(changes, tree.Change{Path: p, Entry: e})
		}
		slices.SortFunc(changes, func(a, b tree.Change) int { return strings.Compare(a.Path, b.Path) })
		root, err := tree.Apply(w.ctx, w.ov, w.root, changes)
		if err != nil {
			return fmt.Errorf("publication tree: %w", err)
		}
		w.root = root
		clear(w.pending)
		w.staged += len(changes) / 8 // tree objects
	}
	if w.staged >= maxStaged {
		return w.sync()
	}
	return nil
}

// sync makes the staged blobs and objects durable and visible and starts
// a new batch, so that a batch's bookkeeping stays bounded.
func (w *Writer) sync() error {
	if err := w.ov.flush(w.ctx); err != nil {
		return err
	}
	w.staged = 0
	return nil
}

// Root applies pending changes and returns the tree as written so far:
// immutable, so it can be read while writing goes on.
func (w *Writer) Root() (objects.ID, error) {
	if err := w.Flush(); err != nil {
		return objects.ID{}, err
	}
	return w.root, nil
}

// Getter reads the tree objects written so far, staged ones included.
func (w *Writer) Getter() tree.Getter { return w.ov }

// Prefix calls fn, in path order, for every record under prefix of the
// tree as written so far.
func (w *Writer) Prefix(prefix string, fn func(tree.Entry) error) error {
	root, err := w.Root()
	if err != nil {
		return err
	}
	return tree.Prefix(w.ctx, w.ov, root, prefix, fn)
}

// Get returns the record at path of the tree as written so far.
func (w *Writer) Get(path string) (tree.Entry, bool, error) {
	root, err := w.Root()
	if err != nil {
		return tree.Entry{}, false, err
	}
	return tree.Get(w.ctx, w.ov, root, path)
}

// finish writes out everything and returns the tree's root.
func (w *Writer) finish() (objects.ID, error) {
	root, err := w.Root()
	if err != nil {
		return objects.ID{}, err
	}
	if err := w.sync(); err != nil {
		return objects.ID{}, err
	}
	return root, nil
}

// maxUnsynced bounds what a publication may hold in memory while its
// objects are synced behind the request that built it.
const maxUnsynced = 8 << 20

// finishLater is finish for a small change: it applies what was written
// and returns the root and a Publication that reads it from memory, and
// sync, which makes it durable (then reads go to the store). ok is false
// when there is too much to hold; finish then.
func (w *Writer) finishLater(version objects.ID) (pub *Publication, sync func(context.Context) error, ok bool, err error) {
	root, err := w.Root()
	if err != nil {
		return nil, nil, false, err
	}
	if w.streamed || !w.ov.keepBlobs || w.ov.bytes > maxUnsynced {
		return nil, nil, false, nil
	}
	pub = &Publication{Version: version, Root: root, objs: w.objs}
	ov := w.ov
	pub.ov.Store(ov)
	return pub, func(ctx context.Context) (err error) {
		defer func() {
			ov.ok = err == nil
			close(ov.done)
		}()
		if under := ov.under; under != nil {
			// What this tree shares with the one it came from must be
			// durable first.
			<-under.done
			if !under.ok {
				return fmt.Errorf("the publication updated from was not stored")
			}
		}
		if err := ov.batch.Flush(ctx); err != nil {
			return err
		}
		pub.ov.Store(nil)
		ov.mu.Lock()
		ov.m, ov.blobs, ov.bytes, ov.under = map[objects.ID][]byte{}, map[objects.ID][]byte{}, 0, nil
		ov.mu.Unlock()
		return nil
	}, true, nil
}

func (w *Writer) abort() { w.ov.batch.Abort() }

// overlay writes objects through a batch and reads them back before the
// batch is flushed.
type overlay struct {
	objs  *objects.Store
	batch *objects.Batch
	mu    sync.Mutex
	m     map[objects.ID][]byte // objects
	blobs map[objects.ID][]byte // small blobs
	bytes int                   // in m and blobs
	// under is the overlay of the publication this one is updated from,
	// if that one is not synced yet.
	under *overlay
	// keepBlobs makes it remember small blobs (see finishLater).
	keepBlobs bool
	// done is closed when a publication read from memory is synced (ok)
	// or failed to be.
	done chan struct{}
	ok   bool
}

func newOverlay(objs *objects.Store) *overlay {
	return &overlay{objs: objs, batch: objs.NewBatch(), m: map[objects.ID][]byte{}, blobs: map[objects.ID][]byte{}, done: make(chan struct{})}
}

// keep remembers the content of a blob written through the batch, while
// it is small enough to serve from memory.
func (o *overlay) keep(id objects.ID, data []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.keepBlobs || o.bytes > maxUnsynced {
		return
	}
	if _, ok := o.blobs[id]; !ok {
		o.blobs[id] = data
		o.bytes += len(data)
	}
}

func (o *overlay) blob(id objects.ID) ([]byte, bool) {
	o.mu.Lock()
	data, ok := o.blobs[id]
	under := o.under
	o.mu.Unlock()
	if !ok && under != nil {
		return under.blob(id)
	}
	return data, ok
}

func (o *overlay) GetObject(ctx context.Context, id objects.ID) ([]byte, error) {
	o.mu.Lock()
	data, ok := o.m[id]
	under := o.under
	o.mu.Unlock()
	if ok {
		return data, nil
	}
	if under != nil {
		return under.GetObject(ctx, id)
	}
	return o.objs.GetObject(ctx, id)
}

func (o *overlay) PutObject(ctx context.Context, data []byte) (objects.PutResult, error) {
	res, err := o.batch.PutObject(ctx, data)
	if err == nil && res.New {
		o.mu.Lock()
		o.m[res.ID] = data
		o.bytes += len(data)
		o.mu.Unlock()
	}
	return res, err
}

func (o *overlay) flush(ctx context.Context) error {
	o.mu.Lock()
	under := o.under
	o.mu.Unlock()
	if under != nil {
		<-under.done // what this tree shares with it must be durable first
		if !under.ok {
			return fmt.Errorf("the publication updated from was not stored")
		}
	}
	if err := o.batch.Flush(ctx); err != nil {
		return err
	}
	o.batch = o.objs.NewBatch()
	o.mu.Lock()
	o.m, o.blobs, o.bytes = map[objects.ID][]byte{}, map[objects.ID][]byte{}, 0
	o.mu.Unlock()
	return nil
}

// FileWriter streams the content of one file into a blob; see Create.
type FileWriter struct {
	w           *Writer
	path, ctype string
	pw          *io.PipeWriter
	done        chan struct{}
	res         objects.PutResult
	err         error
}

// Create starts a file whose content is written to the returned
// FileWriter and which is recorded when it is closed: for files too large
// to hold in memory.
func (w *Writer) Create(path, contentType string) (*FileWriter, error) {
	if path == "" || Private(path) {
		return nil, fmt.Errorf("publication file %q: invalid path", path)
	}
	w.streamed = true
	pr, pw := io.Pipe()
	f := &FileWriter{w: w, path: path, ctype: contentType, pw: pw, done: make(chan struct{})}
	batch := w.ov.batch
	go func() {
		defer close(f.done)
		f.res, f.err = batch.PutBlob(w.ctx, pr)
		pr.CloseWithError(f.err) // unblocks a writer when PutBlob failed
	}()
	return f, nil
}

func (f *FileWriter) Write(p []byte) (int, error) { return f.pw.Write(p) }

// Close ends the content, waits for the blob and records the file.
func (f *FileWriter) Close() error {
	_ = f.pw.Close()
	<-f.done
	if f.err != nil {
		return fmt.Errorf("write %s: %w", f.path, f.err)
	}
	// Recorded without a flush: another FileWriter may still be writing
	// into the current batch.
	e := &tree.Entry{Path: f.path, SHA256: f.res.ID, Size: f.res.Size}
	if f.ctype != "" {
		e.Metadata = map[string]string{MetaContentType: f.ctype}
	}
	f.w.pending[f.path] = e
	return nil
}

// Abort drops the file.
func (f *FileWriter) Abort(err error) {
	f.pw.CloseWithError(err)
	<-f.done
}

// Blob returns the blob a closed FileWriter wrote.
func (f *FileWriter) Blob() (objects.ID, int64) { return f.res.ID, f.res.Size }

// SetFile records a file whose content is the blob id of size bytes,
// already written (by this Writer, or stored).
func (w *Writer) SetFile(path, contentType string, id objects.ID, size int64) error {
	if path == "" || Private(path) {
		return fmt.Errorf("publication file %q: invalid path", path)
	}
	e := &tree.Entry{Path: path, SHA256: id, Size: size}
	if contentType != "" {
		e.Metadata = map[string]string{MetaContentType: contentType}
	}
	w.staged++
	return w.set(e)
}
