package objects

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/pkgvc/pkgvc/internal/clockcache"
)

const (
	defaultSampleSize = 64 << 10
	copyBufferSize    = 512 << 10
	readBufferSize    = 256 << 10
	blobHeaderSize    = 8

	// maxObjectSize bounds the decoded size of a small object; anything
	// larger is treated as corrupt instead of exhausting memory.
	maxObjectSize = 64 << 20
	// maxBlobWindow bounds the zstd window a blob stream may ask for.
	maxBlobWindow = 128 << 20

	objectRaw  = 0
	objectZstd = 1
)

// BlobStat describes a stored blob.
type BlobStat struct {
	Size       int64 // content size
	Stored     int64 // bytes as stored, header included
	Compressed bool
}

// Option configures a Store.
type Option func(*Store)

// WithTempDir sets the directory for local staging files, used when the
// backend is not a Stager. The default is os.TempDir().
func WithTempDir(dir string) Option {
	return func(s *Store) { s.tempDir = dir }
}

// WithSampleSize sets how many leading bytes of a blob are trial-compressed
// to decide whether the blob is stored compressed. n <= 0 disables blob
// compression. The default is 64 KiB.
func WithSampleSize(n int) Option {
	return func(s *Store) { s.sampleSize = max(n, 0) }
}

// Store is the content-addressed store of blobs and small objects on top
// of a Backend. It is safe for concurrent use.
type Store struct {
	b       Backend
	stager  Stager
	syncer  Syncer
	toucher Toucher
	pather  LocalPather
	locker  Locker
	plock   procLock // when the backend is not a Locker

	tempDir    string
	sampleSize int

	sampleEnc *zstd.Encoder // SpeedFastest, EncodeAll only
	objectEnc *zstd.Encoder // SpeedDefault, EncodeAll only
	objectDec *zstd.Decoder // DecodeAll only

	bufPool    sync.Pool // *[]byte of copyBufferSize
	samplePool sync.Pool // *[]byte of sampleSize
	readPool   sync.Pool // *[]byte of readBufferSize
	encPool    sync.Pool // *zstd.Encoder, streaming
	decPool    sync.Pool // *zstd.Decoder, streaming

	cache atomic.Pointer[clockcache.Cache[ID, []byte]] // see CacheObjects
}

// New returns a Store on b.
func New(b Backend, opts ...Option) *Store {
	s := &Store{b: b, sampleSize: defaultSampleSize}
	// Staging and local paths bypass Put and Open: only the outermost
	// backend's count, so that a decorator sees every write and read.
	// What safety relies on is found through decorators (see As).
	s.stager, _ = b.(Stager)
	s.pather, _ = b.(LocalPather)
	s.syncer, _ = As[Syncer](b)
	s.toucher, _ = As[Toucher](b)
	s.locker, _ = As[Locker](b)
	for _, o := range opts {
		o(s)
	}
	procs := runtime.GOMAXPROCS(0)
	s.sampleEnc = mustEncoder(zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(procs))
	s.objectEnc = mustEncoder(zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(procs),
		zstd.WithEncoderCRC(false))
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(procs), zstd.WithDecoderMaxMemory(maxObjectSize))
	if err != nil {
		panic(fmt.Sprintf("objects: zstd decoder options: %v", err))
	}
	s.objectDec = dec
	return s
}

// mustEncoder builds an encoder from constant options, which cannot fail.
func mustEncoder(opts ...zstd.EOption) *zstd.Encoder {
	e, err := zstd.NewWriter(nil, opts...)
	if err != nil {
		panic(fmt.Sprintf("objects: zstd encoder options: %v", err))
	}
	return e
}

// Keys.

func blobKey(id ID) string {
	h := id.String()
	return "blobs/" + h[:2] + "/" + h
}

func blobZstKey(id ID) string { return blobKey(id) + ".zst" }

// damagedKey marks blob id as having failed verification (an empty
// object): the next put of its content verifies the stored copy and
// replaces it if it is still damaged.
func damagedKey(id ID) string { return "damaged/blob-" + id.String() }

func objectKey(id ID) string {
	h := id.String()
	return "objects/" + h[:2] + "/" + h
}

// parseKey parses "<dir>/<2 hex>/<64 hex><suffix>".
func parseKey(key, dir, suffix string) (ID, bool) {
	rest, ok := strings.CutPrefix(key, dir+"/")
	if !ok {
		return ID{}, false
	}
	rest, ok = strings.CutSuffix(rest, suffix)
	if !ok || len(rest) != 2+1+64 || rest[2] != '/' || rest[:2] != rest[3:5] {
		return ID{}, false
	}
	var id ID
	if _, err := hex.Decode(id[:], []byte(rest[3:])); err != nil || id.String() != rest[3:] {
		return ID{}, false
	}
	return id, true
}

func parseBlobKey(key string) (ID, bool) {
	if id, ok := parseKey(key, "blobs", ""); ok {
		return id, true
	}
	return parseKey(key, "blobs", ".zst")
}

// Pools.

func (s *Store) getBuf(p *sync.Pool, size int) *[]byte {
	if b, ok := p.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, size)
	return &b
}

func (s *Store) getEncoder(w io.Writer) *zstd.Encoder {
	if e, ok := s.encPool.Get().(*zstd.Encoder); ok {
		e.Reset(w)
		return e
	}
	e := mustEncoder(zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))
	e.Reset(w)
	return e
}

func (s *Store) putEncoder(e *zstd.Encoder) {
	e.Reset(nil)
	s.encPool.Put(e)
}

func (s *Store) getDecoder() *zstd.Decoder {
	if d, ok := s.decPool.Get().(*zstd.Decoder); ok {
		return d
	}
	d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(maxBlobWindow))
	if err != nil {
		panic(fmt.Sprintf("objects: zstd decoder options: %v", err))
	}
	return d
}

func (s *Store) putDecoder(d *zstd.Decoder) {
	if d.Reset(nil) == nil {
		s.decPool.Put(d)
	}
}

// Reading blobs.

// OpenBlob opens the content of blob id. The reader verifies the digest
// while streaming and withholds the final byte until it has been checked:
// on a mismatch Read returns an error wrapping ErrCorrupt, so a corrupt
// blob never yields its complete (wrong) content.
func (s *Store) OpenBlob(ctx context.Context, id ID) (io.ReadCloser, error) {
	rc, err := s.b.Open(ctx, blobKey(id), 0, -1)
	if err == nil {
		return newVerifyReader(id, rc, -1, rc.Close, s.getBuf(&s.readPool, readBufferSize), &s.readPool), nil
	}
	if !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("open blob %s: %w", id, err)
	}
	zr, size, err := s.openCompressed(ctx, id)
	if err != nil {
		return nil, err
	}
	return newVerifyReader(id, zr, size, zr.Close, s.getBuf(&s.readPool, readBufferSize), &s.readPool), nil
}

// OpenBlobRange reads length bytes of blob id's content from offset
// (length < 0: to the end). The bytes are not verified; VerifyBlob and
// OpenBlob are. A range beyond the end yields fewer bytes or none.
func (s *Store) OpenBlobRange(ctx context.Context, id ID, offset, length int64) (io.ReadCloser, error) {
	if offset < 0 {
		return nil, fmt.Errorf("open blob %s: negative offset %d", id, offset)
	}
	rc, err := s.b.Open(ctx, blobKey(id), offset, length)
	if err == nil {
		return rc, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("open blob %s: %w", id, err)
	}
	zr, size, err := s.openCompressed(ctx, id)
	if err != nil {
		return nil, err
	}
	offset = min(offset, size)
	if _, err := io.CopyN(io.Discard, zr, offset); err != nil {
		_ = zr.Close() // the skip error is the one that matters
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("blob %s: %w: shorter than its header says", id, ErrCorrupt)
		}
		return nil, err
	}
	if length < 0 {
		return zr, nil
	}
	return &readCloser{Reader: io.LimitReader(zr, length), Closer: zr}, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// openCompressed opens the ".zst" form of id and returns a decoding reader
// positioned at the start of the content and the size from the header.
func (s *Store) openCompressed(ctx context.Context, id ID) (*zstdReader, int64, error) {
	rc, err := s.b.Open(ctx, blobZstKey(id), 0, -1)
	if errors.Is(err, ErrNotFound) {
		return nil, 0, fmt.Errorf("blob %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("open blob %s: %w", id, err)
	}
	size, err := readBlobHeader(id, rc)
	if err != nil {
		_ = rc.Close() // the header error is the one that matters
		return nil, 0, err
	}
	src := &errReader{r: rc}
	dec := s.getDecoder()
	zr := &zstdReader{s: s, id: id, dec: dec, src: src, rc: rc}
	if err := dec.Reset(src); err != nil {
		zr.err = zr.wrap(err)
	}
	return zr, size, nil
}

func readBlobHeader(id ID, r io.Reader) (int64, error) {
	var hdr [blobHeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, fmt.Errorf("blob %s: %w: short header", id, ErrCorrupt)
		}
		return 0, fmt.Errorf("read blob %s: %w", id, err)
	}
	size := binary.BigEndian.Uint64(hdr[:])
	if size > 1<<62 {
		return 0, fmt.Errorf("blob %s: %w: bad size header %d", id, ErrCorrupt, size)
	}
	return int64(size), nil
}

// errReader remembers the error of the underlying (backend) reader, so
// that decoder errors can be told apart from I/O errors.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		e.err = err
	}
	return n, err
}

// zstdReader decodes a compressed blob; decoder failures become ErrCorrupt.
type zstdReader struct {
	s      *Store
	id     ID
	dec    *zstd.Decoder
	src    *errReader
	rc     io.Closer
	err    error
	closed bool
}

func (z *zstdReader) wrap(err error) error {
	if z.src.err != nil {
		return fmt.Errorf("read blob %s: %w", z.id, z.src.err)
	}
	return fmt.Errorf("blob %s: %w: %w", z.id, ErrCorrupt, err)
}

func (z *zstdReader) Read(p []byte) (int, error) {
	if z.err != nil {
		return 0, z.err
	}
	if z.closed {
		return 0, errors.New("read of closed blob reader")
	}
	n, err := z.dec.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		z.err = z.wrap(err)
		return n, z.err
	}
	return n, err
}

func (z *zstdReader) Close() error {
	if z.closed {
		return nil
	}
	z.closed = true
	z.s.putDecoder(z.dec)
	z.dec = nil
	return z.rc.Close()
}

// StatBlob describes blob id.
func (s *Store) StatBlob(ctx context.Context, id ID) (BlobStat, error) {
	info, err := s.b.Stat(ctx, blobKey(id))
	if err == nil {
		return BlobStat{Size: info.Size, Stored: info.Size}, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return BlobStat{}, fmt.Errorf("stat blob %s: %w", id, err)
	}
	info, err = s.b.Stat(ctx, blobZstKey(id))
	if errors.Is(err, ErrNotFound) {
		return BlobStat{}, fmt.Errorf("blob %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return BlobStat{}, fmt.Errorf("stat blob %s: %w", id, err)
	}
	rc, err := s.b.Open(ctx, blobZstKey(id), 0, blobHeaderSize)
	if err != nil {
		return BlobStat{}, fmt.Errorf("stat blob %s: %w", id, err)
	}
	defer rc.Close()
	size, err := readBlobHeader(id, rc)
	if err != nil {
		return BlobStat{}, err
	}
	return BlobStat{Size: size, Stored: info.Size, Compressed: true}, nil
}

// statBlob returns the Info of whichever form of blob id exists.
func (s *Store) statBlob(ctx context.Context, id ID) (Info, bool, error) {
	for _, key := range []string{blobKey(id), blobZstKey(id)} {
		info, err := s.b.Stat(ctx, key)
		if err == nil {
			return info, true, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return Info{}, false, fmt.Errorf("stat blob %s: %w", id, err)
		}
	}
	return Info{}, false, nil
}

// HasBlob reports whether blob id is stored (raw or compressed).
func (s *Store) HasBlob(ctx context.Context, id ID) (bool, error) {
	_, ok, err := s.statBlob(ctx, id)
	return ok, err
}

// VerifyBlob reads blob id completely and checks its digest and, for a
// compressed blob, its size header. It returns an error wrapping
// ErrCorrupt or ErrNotFound when they apply.
//
// A blob found corrupt is marked damaged, so that storing its content
// again (a commit, a sync, fsck --repair) replaces it rather than
// deduplicating against it; a blob found whole loses a mark it had.
func (s *Store) VerifyBlob(ctx context.Context, id ID) error {
	err := s.verifyBlob(ctx, id)
	switch {
	case errors.Is(err, ErrCorrupt):
		if merr := s.b.Put(ctx, damagedKey(id), bytes.NewReader(nil), 0); merr != nil {
			return errors.Join(err, fmt.Errorf("mark blob %s damaged: %w", id, merr))
		}
	case err == nil && s.markedDamaged(ctx, id):
		if derr := s.b.Delete(ctx, damagedKey(id)); derr != nil && !errors.Is(derr, ErrNotFound) {
			return fmt.Errorf("clear damage mark of blob %s: %w", id, derr)
		}
	}
	return err
}

// markedDamaged reports whether blob id carries a damage mark.
func (s *Store) markedDamaged(ctx context.Context, id ID) bool {
	_, err := s.b.Stat(ctx, damagedKey(id))
	return err == nil
}

// verifyBlob reads blob id completely, checking it.
func (s *Store) verifyBlob(ctx context.Context, id ID) error {
	rc, err := s.OpenBlob(ctx, id)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, rc)
	if cerr := rc.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close blob %s: %w", id, cerr)
	}
	return err
}

// TempDir returns the directory of local temporary files (see
// WithTempDir), for callers that stage content before a Put, such as
// chunked uploads.
func (s *Store) TempDir() string {
	if s.tempDir == "" {
		return os.TempDir()
	}
	return s.tempDir
}

// BlobPath returns the path of the file holding blob id's raw content, if
// the backend is local (a LocalPather) and the blob is stored uncompressed.
// The file is read-only and may be hard-linked, never written.
func (s *Store) BlobPath(id ID) (string, bool) {
	if s.pather == nil {
		return "", false
	}
	return s.pather.LocalPath(blobKey(id))
}

// Small objects.

// encodeObject returns the stored form of a small object: a format byte
// (objectRaw or objectZstd) followed by the data, compressed if that saves
// at least 10 %.
func encodeObject(enc *zstd.Encoder, data []byte) []byte {
	if len(data) >= 32 {
		c := enc.EncodeAll(data, []byte{objectZstd})
		if 10*(len(c)-1) <= 9*len(data) {
			return c
		}
	}
	out := make([]byte, 1, 1+len(data))
	out[0] = objectRaw
	return append(out, data...)
}

// decodeObject reverses encodeObject. Malformed input yields ErrCorrupt.
func decodeObject(dec *zstd.Decoder, stored []byte) ([]byte, error) {
	if len(stored) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrCorrupt)
	}
	switch stored[0] {
	case objectRaw:
		return stored[1:], nil
	case objectZstd:
		data, err := dec.DecodeAll(stored[1:], nil)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		return data, nil
	default:
		return nil, fmt.Errorf("%w: unknown format byte %d", ErrCorrupt, stored[0])
	}
}

// GetObject returns small object id, verified: the SHA-256 of the decoded
// bytes must equal id, else the error wraps ErrCorrupt. With CacheObjects,
// an object read and verified before comes from memory (see Uncached).
func (s *Store) GetObject(ctx context.Context, id ID) ([]byte, error) {
	cache := s.objectCache(ctx)
	if cache != nil {
		if data, ok := cache.Get(id); ok {
			return data, nil
		}
	}
	rc, err := s.b.Open(ctx, objectKey(id), 0, -1)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("object %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("open object %s: %w", id, err)
	}
	defer rc.Close()
	stored, err := io.ReadAll(io.LimitReader(rc, maxObjectSize+2))
	if err != nil {
		return nil, fmt.Errorf("read object %s: %w", id, err)
	}
	if len(stored) > maxObjectSize+1 {
		return nil, fmt.Errorf("object %s: %w: larger than %d bytes", id, ErrCorrupt, maxObjectSize)
	}
	data, err := decodeObject(s.objectDec, stored)
	if err != nil {
		return nil, fmt.Errorf("object %s: %w", id, err)
	}
	if Sum(data) != id {
		return nil, fmt.Errorf("object %s: %w: digest mismatch", id, ErrCorrupt)
	}
	if cache != nil {
		cache.Add(id, data, int64(len(data))+cachedObjectOverhead)
	}
	return data, nil
}

// HasObject reports whether small object id is stored.
func (s *Store) HasObject(ctx context.Context, id ID) (bool, error) {
	_, err := s.b.Stat(ctx, objectKey(id))
	if err == nil {
		return true, nil
	}
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return false, fmt.Errorf("stat object %s: %w", id, err)
}

// Listing.

// ListBlobs calls fn for every stored blob key (raw or ".zst"; Info.Key
// tells which), in no particular order. Keys that are not well-formed blob
// keys are skipped. An error from fn stops the walk and is returned.
func (s *Store) ListBlobs(ctx context.Context, fn func(ID, Info) error) error {
	return s.b.List(ctx, "blobs/", func(info Info) error {
		if id, ok := parseBlobKey(info.Key); ok {
			return fn(id, info)
		}
		return nil
	})
}

// ListObjects calls fn for every stored small object, in no particular
// order. An error from fn stops the walk and is returned.
func (s *Store) ListObjects(ctx context.Context, fn func(ID, Info) error) error {
	return s.b.List(ctx, "objects/", func(info Info) error {
		if id, ok := parseKey(info.Key, "objects", ""); ok {
			return fn(id, info)
		}
		return nil
	})
}

// ErrInvalidPrefix is returned by FindObjects for a prefix that is not 2
// to 64 hex digits.
var ErrInvalidPrefix = errors.New("invalid id prefix")

// FindObjects returns the small objects whose hex id starts with
// hexPrefix (2 to 64 hex digits, any case), sorted; for git-like short ids.
func (s *Store) FindObjects(ctx context.Context, hexPrefix string) ([]ID, error) {
	p := strings.ToLower(hexPrefix)
	if len(p) < 2 || len(p) > 64 || strings.Trim(p, "0123456789abcdef") != "" {
		return nil, fmt.Errorf("%w: %q", ErrInvalidPrefix, hexPrefix)
	}
	var ids []ID
	err := s.b.List(ctx, "objects/"+p[:2]+"/"+p, func(info Info) error {
		if id, ok := parseKey(info.Key, "objects", ""); ok && strings.HasPrefix(id.String(), p) {
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find objects %s: %w", p, err)
	}
	slices.SortFunc(ids, func(a, b ID) int { return bytes.Compare(a[:], b[:]) })
	return slices.Compact(ids), nil
}

// Deleting.

// DeleteBlob deletes blob id (both forms, if both exist) unless it was
// modified at or after ifOlderThan, the garbage collector's grace period;
// the modification time is re-read right before deleting. A zero
// ifOlderThan deletes unconditionally. It reports whether anything was
// deleted; a blob that does not exist yields an error wrapping ErrNotFound.
func (s *Store) DeleteBlob(ctx context.Context, id ID, ifOlderThan time.Time) (bool, error) {
	return s.deleteKeys(ctx, "blob "+id.String(), ifOlderThan, blobKey(id), blobZstKey(id))
}

// DeleteObject deletes small object id, with DeleteBlob's semantics.
func (s *Store) DeleteObject(ctx context.Context, id ID, ifOlderThan time.Time) (bool, error) {
	deleted, err := s.deleteKeys(ctx, "object "+id.String(), ifOlderThan, objectKey(id))
	if deleted {
		if c := s.cache.Load(); c != nil {
			c.Remove(id)
		}
	}
	return deleted, err
}

func (s *Store) deleteKeys(ctx context.Context, what string, ifOlderThan time.Time, keys ...string) (bool, error) {
	found, deleted := false, false
	for _, key := range keys {
		info, err := s.b.Stat(ctx, key)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return deleted, fmt.Errorf("delete %s: %w", what, err)
		}
		found = true
		if !ifOlderThan.IsZero() && !info.ModTime.Before(ifOlderThan) {
			continue
		}
		if r, ok := As[Reaper](s.b); ok && !ifOlderThan.IsZero() {
			ok, err := r.DeleteIfOlder(ctx, key, ifOlderThan)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return deleted, fmt.Errorf("delete %s: %w", what, err)
			}
			deleted = deleted || ok
			continue
		}
		err = s.b.Delete(ctx, key)
		if errors.Is(err, ErrNotFound) {
			continue // deleted concurrently
		}
		if err != nil {
			return deleted, fmt.Errorf("delete %s: %w", what, err)
		}
		deleted = true
	}
	if !found {
		return false, fmt.Errorf("delete %s: %w", what, ErrNotFound)
	}
	return deleted, nil
}

// Sync makes everything written to the backend so far durable, if the
// backend needs that (is a Syncer).
func (s *Store) Sync(ctx context.Context) error {
	if s.syncer == nil {
		return nil
	}
	return s.syncer.Sync(ctx)
}

// CleanTemp removes temporary files older than olderThan that crashed
// writers left behind, if the backend stages in temporary files.
func (s *Store) CleanTemp(ctx context.Context, olderThan time.Time) (int, error) {
	if c, ok := As[TempCleaner](s.b); ok {
		return c.CleanTemp(ctx, olderThan)
	}
	return 0, nil
}
