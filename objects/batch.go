package objects

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"
	"time"

	"github.com/pkgvc/pkgvc/internal/parallel"
)

// PutResult describes a blob or object written by a Batch.
type PutResult struct {
	ID     ID
	Size   int64 // content size
	Stored int64 // bytes as stored
	New    bool  // false if it already existed (in the store or this batch)
}

// Batch stages blobs and small objects and makes them visible together on
// Flush. Nothing put in a batch is visible before Flush. It is safe for
// concurrent use by several goroutines.
type Batch struct {
	s *Store

	mu         sync.Mutex
	blobs      map[ID]PutResult
	objects    map[ID]PutResult
	pending    []pendingItem
	newObjects int
	newBytes   int64
}

type pendingItem struct {
	m   map[ID]PutResult // Batch.blobs or Batch.objects
	id  ID
	key string
	st  Staged
	// damaged is the key of a stored copy that failed verification, which
	// this item replaces: removed (if another form) after the commit, and
	// the damage mark with it.
	damaged string
}

// NewBatch starts a batch.
func (s *Store) NewBatch() *Batch {
	return &Batch{s: s, blobs: make(map[ID]PutResult), objects: make(map[ID]PutResult)}
}

// Stats reports how many blobs and objects this batch wrote and their
// stored size; deduplicated puts are not counted.
func (b *Batch) Stats() (newObjects int, newBytes int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.newObjects, b.newBytes
}

// stage starts a staged write: in place if the backend is a Stager, else
// in a local temporary file that Commit Puts.
func (s *Store) stage(ctx context.Context) (Staged, error) {
	if s.stager != nil {
		return s.stager.Stage(ctx)
	}
	dir := s.tempDir
	if dir == "" {
		dir = os.TempDir()
	}
	f, err := os.CreateTemp(dir, "pkgvc-stage-*")
	if err != nil {
		return nil, fmt.Errorf("stage: %w", err)
	}
	return &tempStaged{b: s.b, f: f, name: f.Name()}, nil
}

// PutBlob stores the content of r as a blob. It reads r once, hashing,
// possibly compressing and writing in one pass, without holding the whole
// content in memory. The first sample of the content decides whether the
// blob is stored zstd-compressed.
func (b *Batch) PutBlob(ctx context.Context, r io.Reader) (PutResult, error) {
	s := b.s
	var sample []byte
	var samplePtr *[]byte
	if s.sampleSize > 0 {
		samplePtr = s.getBuf(&s.samplePool, s.sampleSize)
		defer s.samplePool.Put(samplePtr)
		sample = *samplePtr
	}
	n, eof, err := readFull(r, sample)
	if err != nil {
		return PutResult{}, fmt.Errorf("put blob: read: %w", err)
	}
	sample = sample[:n]
	compress := n > 0 && s.compressible(sample)

	st, err := s.stage(ctx)
	if err != nil {
		return PutResult{}, fmt.Errorf("put blob: %w", err)
	}
	h := sha256.New()
	var size, stored int64
	if compress {
		size, stored, err = s.writeCompressed(ctx, st, h, sample, r, eof)
	} else {
		size, err = s.writeRaw(ctx, st, h, sample, r, eof)
		stored = size
	}
	if cerr := st.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		_ = st.Abort() // the write error is the one that matters
		return PutResult{}, fmt.Errorf("put blob: %w", err)
	}
	id := ID(h.Sum(nil))
	key := blobKey(id)
	if compress {
		key = blobZstKey(id)
	}
	res := PutResult{ID: id, Size: size, Stored: stored, New: true}

	if old, ok := b.lookup(b.blobs, id); ok {
		_ = st.Abort() // a leftover temporary is harmless; gc removes it
		return old, nil
	}
	info, found, err := s.statBlob(ctx, id)
	if err != nil {
		_ = st.Abort() // the stat error is the one that matters
		return PutResult{}, fmt.Errorf("put blob: %w", err)
	}
	if found && s.damagedCopy(ctx, id, info, size) {
		// Storing the same content repairs a damaged copy: this one
		// replaces it on Flush instead of deduplicating against it.
		return b.recordRepair(res, key, st, info.Key), nil
	}
	if found {
		kept, err := s.touch(ctx, info.Key)
		if err != nil {
			_ = st.Abort()
			return PutResult{}, fmt.Errorf("put blob %s: %w", id, err)
		}
		if kept {
			_ = st.Abort() // a leftover temporary is harmless; gc removes it
			res.Stored, res.New = info.Size, false
			return b.record(b.blobs, res, key, nil), nil
		}
		// gc took it between the stat and the touch: store this copy.
	}
	return b.record(b.blobs, res, key, st), nil
}

// damagedCopy reports whether the stored blob id (info), which a put of
// size bytes of the same content found, is damaged. The dedup fast path
// stays one stat: a raw copy of another size is damaged outright, and only
// a blob marked damaged (by VerifyBlob, as fsck runs it) is read and
// verified again. A mark found wrong is cleared.
func (s *Store) damagedCopy(ctx context.Context, id ID, info Info, size int64) bool {
	if info.Key == blobKey(id) && info.Size != size {
		return true
	}
	if !s.markedDamaged(ctx, id) {
		return false
	}
	err := s.verifyBlob(ctx, id)
	if err == nil {
		_ = s.b.Delete(ctx, damagedKey(id)) // a stale mark: best effort
		return false
	}
	return errors.Is(err, ErrCorrupt)
}

// recordRepair queues st under key to replace the damaged stored copy at
// damaged.
func (b *Batch) recordRepair(res PutResult, key string, st Staged, damaged string) PutResult {
	b.mu.Lock()
	defer b.mu.Unlock()
	if old, ok := b.blobs[res.ID]; ok {
		_ = st.Abort() // another put of this batch repairs it already
		old.New = false
		return old
	}
	b.blobs[res.ID] = res
	b.pending = append(b.pending, pendingItem{m: b.blobs, id: res.ID, key: key, st: st, damaged: damaged})
	b.newObjects++
	b.newBytes += res.Stored
	return res
}

// lookup returns the earlier result for id in m, marked not new.
func (b *Batch) lookup(m map[ID]PutResult, id ID) (PutResult, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	res, ok := m[id]
	res.New = false
	return res, ok
}

// record remembers res; if new, it queues st for Flush under key. Should
// another goroutine have recorded the same id meanwhile, st is discarded.
func (b *Batch) record(m map[ID]PutResult, res PutResult, key string, st Staged) PutResult {
	b.mu.Lock()
	defer b.mu.Unlock()
	if old, ok := m[res.ID]; ok || !res.New {
		if res.New {
			_ = st.Abort() // a leftover temporary is harmless; gc removes it
			res = old
			res.New = false
		}
		m[res.ID] = res
		return res
	}
	m[res.ID] = res
	b.pending = append(b.pending, pendingItem{m: m, id: res.ID, key: key, st: st})
	b.newObjects++
	b.newBytes += res.Stored
	return res
}

// touch freshens key's modification time if the backend can, so that gc's
// grace period protects an old object a new write reuses. It reports false
// if the object is gone (gc took it): the caller must then store its copy.
// Together with the backend's Reaper, which moves an object aside before it
// checks the time, either the touch lands first and gc keeps the object,
// or gc moves it first and the touch finds nothing.
func (s *Store) touch(ctx context.Context, key string) (bool, error) {
	if s.toucher == nil {
		return true, nil
	}
	err := s.toucher.Touch(ctx, key, time.Now())
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("touch %s: %w", key, err)
	}
	return true, nil
}

// compressible trial-compresses sample and reports whether that saves at
// least 10 %.
func (s *Store) compressible(sample []byte) bool {
	bufp := s.getBuf(&s.bufPool, copyBufferSize)
	defer s.bufPool.Put(bufp)
	c := s.sampleEnc.EncodeAll(sample, (*bufp)[:0])
	return 10*len(c) <= 9*len(sample)
}

// writeRaw writes sample and the rest of r to w, hashing into h.
func (s *Store) writeRaw(ctx context.Context, w io.Writer, h hash.Hash, sample []byte, r io.Reader, eof bool) (int64, error) {
	h.Write(sample)
	if _, err := w.Write(sample); err != nil {
		return 0, err
	}
	size := int64(len(sample))
	if eof {
		return size, nil
	}
	n, err := s.pump(ctx, w, h, r)
	return size + n, err
}

// pump copies r to w, hashing into h, and returns the number of bytes.
// Reading, hashing and writing run as a three-stage pipeline (a reader
// goroutine, this goroutine, a writer goroutine) over a few large buffers,
// so that ingest runs close to hashing speed (or, compressing, to zstd's);
// pump returns only after both goroutines have finished.
func (s *Store) pump(ctx context.Context, w io.Writer, h hash.Hash, r io.Reader) (int64, error) {
	var size int64
	type chunk struct {
		buf *[]byte
		n   int
	}
	const nbuf = 4
	free := make(chan *[]byte, nbuf)
	filled := make(chan chunk, nbuf)
	full := make(chan chunk, nbuf)
	stop := make(chan struct{}) // closed when the writer fails
	werrc := make(chan error, 1)
	for range nbuf {
		free <- s.getBuf(&s.bufPool, copyBufferSize)
	}

	var rerr error // set by the reader before it closes filled
	go func() {
		defer close(filled)
		for {
			var buf *[]byte
			select {
			case <-stop:
				return
			default:
			}
			select {
			case buf = <-free:
			case <-stop:
				return
			}
			if err := ctx.Err(); err != nil {
				free <- buf
				rerr = err
				return
			}
			// r may be an upstream's decoder: its panic fails this Put.
			var n int
			var eof bool
			err := parallel.Safe(func() (err error) {
				n, eof, err = readFull(r, *buf)
				return err
			})
			if n > 0 {
				filled <- chunk{buf, n}
			} else {
				free <- buf
			}
			if eof && err == nil {
				return
			}
			if err != nil {
				rerr = fmt.Errorf("read: %w", err)
				return
			}
		}
	}()
	go func() {
		var werr error
		for c := range full {
			if werr == nil {
				werr = parallel.Safe(func() error {
					_, err := w.Write((*c.buf)[:c.n])
					return err
				})
				if werr != nil {
					close(stop)
				}
			}
			free <- c.buf
		}
		werrc <- werr
	}()

	for c := range filled {
		h.Write((*c.buf)[:c.n])
		size += int64(c.n)
		full <- c
	}
	close(full)
	werr := <-werrc
	for range nbuf {
		s.bufPool.Put(<-free)
	}
	if rerr != nil {
		return size, rerr
	}
	return size, werr
}

// countWriter counts bytes written to w.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writeCompressed writes the compressed blob format to st: an 8-byte
// big-endian size placeholder, the zstd stream of sample plus the rest of
// r, then the real size into the header. It hashes the content into h and
// returns the content size and the stored size.
func (s *Store) writeCompressed(ctx context.Context, st Staged, h hash.Hash, sample []byte, r io.Reader, eof bool) (size, stored int64, err error) {
	var hdr [blobHeaderSize]byte
	if _, err := st.Write(hdr[:]); err != nil {
		return 0, 0, err
	}
	cw := &countWriter{w: st, n: blobHeaderSize}
	enc := s.getEncoder(cw)
	defer s.putEncoder(enc)

	h.Write(sample)
	if _, err := enc.Write(sample); err != nil {
		return 0, 0, err
	}
	size = int64(len(sample))
	if !eof {
		n, err := s.pump(ctx, enc, h, r)
		if err != nil {
			return 0, 0, err
		}
		size += n
	}
	if err := enc.Close(); err != nil {
		return 0, 0, err
	}
	binary.BigEndian.PutUint64(hdr[:], uint64(size))
	if _, err := st.WriteAt(hdr[:], 0); err != nil {
		return 0, 0, err
	}
	return size, cw.n, nil
}

// PutObject stores a small object (a tree node or commit, well under
// 1 MiB); its ID is Sum(data).
func (b *Batch) PutObject(ctx context.Context, data []byte) (PutResult, error) {
	s := b.s
	id := Sum(data)
	if old, ok := b.lookup(b.objects, id); ok {
		return old, nil
	}
	key := objectKey(id)
	res := PutResult{ID: id, Size: int64(len(data)), New: true}
	info, err := s.b.Stat(ctx, key)
	switch {
	case err == nil:
		kept, err := s.touch(ctx, key)
		if err != nil {
			return PutResult{}, fmt.Errorf("put object %s: %w", id, err)
		}
		if kept {
			res.Stored, res.New = info.Size, false
			return b.record(b.objects, res, key, nil), nil
		}
		// gc took it between the stat and the touch: store it again.
	case !errors.Is(err, ErrNotFound):
		return PutResult{}, fmt.Errorf("put object %s: %w", id, err)
	}

	stored := encodeObject(s.objectEnc, data)
	res.Stored = int64(len(stored))
	var st Staged
	if s.stager != nil {
		if st, err = s.stager.Stage(ctx); err != nil {
			return PutResult{}, fmt.Errorf("put object %s: %w", id, err)
		}
		_, err = st.Write(stored)
		if cerr := st.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			_ = st.Abort() // the write error is the one that matters
			return PutResult{}, fmt.Errorf("put object %s: %w", id, err)
		}
	} else {
		// Without a Stager keep the (small) encoded object in memory
		// rather than in one temporary file each.
		st = &memStaged{b: s.b, data: stored}
	}
	return b.record(b.objects, res, key, st), nil
}

// Flush makes everything staged in the batch durable and then visible:
// backend Sync, commit (rename) every staged item, Sync again. Backends
// without a Stager get one Put per item instead. The batch stays usable.
// If Flush fails, the items not yet committed stay staged for a later
// Flush or Abort.
func (b *Batch) Flush(ctx context.Context) error {
	s := b.s
	b.mu.Lock()
	items := b.pending
	b.pending = nil
	b.mu.Unlock()
	if len(items) == 0 {
		return nil
	}
	requeue := func(rest []pendingItem) {
		b.mu.Lock()
		b.pending = append(b.pending, rest...)
		b.mu.Unlock()
	}
	if s.stager != nil && s.syncer != nil {
		if err := s.syncer.Sync(ctx); err != nil {
			requeue(items)
			return fmt.Errorf("flush: %w", err)
		}
	}
	for i, it := range items {
		if err := ctx.Err(); err != nil {
			requeue(items[i:])
			return fmt.Errorf("flush: %w", err)
		}
		if err := it.st.Commit(ctx, it.key); err != nil {
			requeue(items[i:])
			return fmt.Errorf("flush %s: %w", it.key, err)
		}
	}
	if s.syncer != nil {
		if err := s.syncer.Sync(ctx); err != nil {
			return fmt.Errorf("flush: %w", err)
		}
	}
	for _, it := range items {
		if it.damaged == "" {
			continue
		}
		// The good copy is durable: the damaged one (in its other form,
		// which readers might try first) and the mark go.
		if it.damaged != it.key {
			if err := s.b.Delete(ctx, it.damaged); err != nil && !errors.Is(err, ErrNotFound) {
				return fmt.Errorf("flush: remove damaged %s: %w", it.damaged, err)
			}
		}
		if err := s.b.Delete(ctx, damagedKey(it.id)); err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("flush: %w", err)
		}
	}
	return nil
}

// Abort discards everything staged and not yet flushed, removing staged
// temporary files.
func (b *Batch) Abort() {
	b.mu.Lock()
	items := b.pending
	b.pending = nil
	for _, it := range items {
		// Forget the id so that a later put stages it again.
		delete(it.m, it.id)
	}
	b.mu.Unlock()
	for _, it := range items {
		_ = it.st.Abort() // best effort; gc removes leftover temporaries
	}
}

// tempStaged stages into a local temporary file and Puts it on Commit.
type tempStaged struct {
	b    Backend
	f    *os.File
	name string
	size int64
}

func (t *tempStaged) Write(p []byte) (int, error) {
	if t.f == nil {
		return 0, os.ErrClosed
	}
	n, err := t.f.Write(p)
	t.size += int64(n)
	return n, err
}

func (t *tempStaged) WriteAt(p []byte, off int64) (int, error) {
	if t.f == nil {
		return 0, os.ErrClosed
	}
	return t.f.WriteAt(p, off)
}

func (t *tempStaged) Close() error {
	if t.f == nil {
		return nil
	}
	err := t.f.Close()
	t.f = nil
	return err
}

func (t *tempStaged) Commit(ctx context.Context, key string) error {
	if err := t.Close(); err != nil {
		return err
	}
	f, err := os.Open(t.name)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := t.b.Put(ctx, key, f, t.size); err != nil {
		return err
	}
	return t.Abort()
}

func (t *tempStaged) Abort() error {
	cerr := t.Close()
	if t.name == "" {
		return cerr
	}
	err := os.Remove(t.name)
	t.name = ""
	return errors.Join(cerr, err)
}

// memStaged holds a small encoded object in memory and Puts it on Commit.
type memStaged struct {
	b    Backend
	data []byte
}

func (m *memStaged) Write(p []byte) (int, error) {
	m.data = append(m.data, p...)
	return len(p), nil
}

func (m *memStaged) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > int64(len(m.data)) {
		return 0, errors.New("write beyond staged data")
	}
	return copy(m.data[off:], p), nil
}

func (m *memStaged) Close() error { return nil }

func (m *memStaged) Commit(ctx context.Context, key string) error {
	return m.b.Put(ctx, key, bytes.NewReader(m.data), int64(len(m.data)))
}

func (m *memStaged) Abort() error {
	m.data = nil
	return nil
}

// readFull fills buf from r, as io.ReadFull does, but ends only at r's
// io.EOF: an io.ErrUnexpectedEOF that r returns (a connection dropped
// mid-body, a truncated stream) is an error, not the end of the content.
func readFull(r io.Reader, buf []byte) (n int, eof bool, err error) {
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		switch {
		case errors.Is(err, io.EOF):
			return n, true, nil
		case err != nil:
			return n, false, err
		}
	}
	return n, false, nil
}
