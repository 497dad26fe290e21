package content

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pkgvc/pkgvc/internal/parallel"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

var zeroTime time.Time

// blobOverhead is the weight of a cached blob entry beside its content.
const blobOverhead = 256

// blobEntry is a raw blob file whose content was verified while it had
// ident; data holds the content of a small one.
type blobEntry struct {
	path string
	dir  *blobDir // for small ones: the directory of path, and
	name string   // the name of path in it
	// checked is when (UnixNano) the file was last seen unchanged.
	checked atomic.Int64
	ident   fileIdent
	data    []byte
	size    []string // Content-Length
	etag    []string
}

func quotedETag(id objects.ID) []string { return []string{`"` + id.String() + `"`} }

// serveRecord serves the content of a package record; Content-Type and
// Cache-Control are set.
func (s *Server) serveRecord(w http.ResponseWriter, r *http.Request, rec *repo.Record, ew ErrorWriter) {
	h := w.Header()
	// The cache is by digest: a record of another size (an upstream
	// listed it with this digest) is not one of its bytes.
	if be, ok := s.blobs.Get(rec.SHA256); ok && sizeIs(be.size, rec.Size) {
		h["Etag"] = be.etag
		if be.data != nil {
			now := time.Now().UnixNano()
			if now-be.checked.Load() < int64(s.recheck) {
				serveBytes(w, r, be)
				return
			}
			if id, ok := be.dir.statAt(be.name); ok && id == be.ident {
				be.checked.Store(now)
				serveBytes(w, r, be)
				return
			}
		} else if f, err := os.Open(be.path); err == nil {
			defer f.Close()
			if fi, err := f.Stat(); err == nil {
				if id, ok := identOfInfo(fi); ok && id == be.ident {
					http.ServeContent(w, r, "", zeroTime, f)
					return
				}
			}
			s.serveFile(w, r, rec, be.path, f, be.etag, ew)
			return
		}
	}
	s.serveBlob(w, r, rec, ew)
}

// sizeIs reports whether the Content-Length value size says n bytes,
// without formatting n anew on every request.
func sizeIs(size []string, n int64) bool {
	var buf [20]byte
	return len(size) == 1 && size[0] == string(strconv.AppendInt(buf[:0], n, 10))
}

// plainGet reports whether r is a GET of the whole content without
// conditions.
func plainGet(r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	for _, k := range []string{"Range", "If-None-Match", "If-Match", "If-Modified-Since", "If-Unmodified-Since"} {
		if _, ok := r.Header[k]; ok {
			return false
		}
	}
	return true
}

// serveBytes serves verified content from memory.
func serveBytes(w http.ResponseWriter, r *http.Request, be *blobEntry) {
	if plainGet(r) {
		h := w.Header()
		h["Content-Length"] = be.size
		h["Accept-Ranges"] = acceptRanges
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(be.data) // a client that went away is not an error
		return
	}
	http.ServeContent(w, r, "", zeroTime, bytes.NewReader(be.data))
}

// serveBlob serves a record's blob not yet known to be verified.
func (s *Server) serveBlob(w http.ResponseWriter, r *http.Request, rec *repo.Record, ew ErrorWriter) {
	ctx := r.Context()
	id := rec.SHA256
	etag := quotedETag(id)
	w.Header()["Etag"] = etag
	objs := s.st.Objects()
	if p, ok := objs.BlobPath(id); ok {
		f, err := os.Open(p)
		if err == nil {
			defer f.Close()
			s.serveFile(w, r, rec, p, f, etag, ew)
			return
		}
		if !errors.Is(err, fs.ErrNotExist) {
			s.internalTo(w, r, ew, "open "+rec.Path, err)
			return
		}
	}
	bs, err := objs.StatBlob(ctx, id)
	if errors.Is(err, objects.ErrNotFound) {
		s.serveMissing(w, r, rec, ew)
		return
	}
	if err != nil {
		s.internalTo(w, r, ew, "open "+rec.Path, err)
		return
	}
	if bs.Size != rec.Size {
		s.corrupt(w, r, rec, ew, fmt.Errorf("blob %s: %w: %d bytes, record says %d", id, objects.ErrCorrupt, bs.Size, rec.Size))
		return
	}
	if r.Method == http.MethodGet && r.Header.Get("Range") != "" {
		// Ranges are read unverified: the whole blob is checked first.
		if err := objs.VerifyBlob(ctx, id); err != nil { // and marks it damaged if it is
			if errors.Is(err, objects.ErrCorrupt) {
				s.corrupt(w, r, rec, ew, err)
			} else {
				s.internalTo(w, r, ew, "read "+rec.Path, err)
			}
			return
		}
	}
	sb := &storeBlob{ctx: ctx, objs: objs, id: id, size: bs.Size}
	defer sb.Close()
	http.ServeContent(w, r, "", zeroTime, sb)
	if sb.err != nil {
		s.abort(r, rec, sb.err)
	}
}

// serveFile serves a raw blob file f at p: a small one is read, verified
// and kept in memory; a larger one is streamed through a verifying reader
// that withholds its end on a mismatch.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, rec *repo.Record, p string, f *os.File, etag []string, ew ErrorWriter) {
	fi, err := f.Stat()
	if err != nil {
		s.internalTo(w, r, ew, "open "+rec.Path, err)
		return
	}
	ident, _ := identOfInfo(fi)
	id := rec.SHA256
	if fi.Size() != rec.Size {
		s.corrupt(w, r, rec, ew, fmt.Errorf("blob %s: %w: file has %d bytes, record says %d", id, objects.ErrCorrupt, fi.Size(), rec.Size))
		return
	}
	size := []string{strconv.FormatInt(rec.Size, 10)}
	if rec.Size <= maxSmallBlob && s.memBytes > 0 && r.Method == http.MethodGet {
		data := make([]byte, rec.Size)
		if _, err := io.ReadFull(f, data); err != nil {
			s.internalTo(w, r, ew, "read "+rec.Path, err)
			return
		}
		if objects.Sum(data) != id {
			s.corrupt(w, r, rec, ew, fmt.Errorf("blob %s: %w: digest mismatch", id, objects.ErrCorrupt))
			return
		}
		be := &blobEntry{path: p, ident: ident, data: data, size: size, etag: etag}
		be.checked.Store(time.Now().UnixNano())
		if be.dir, be.name = s.blobDirOf(p); be.dir != nil {
			s.blobs.Add(id, be, blobOverhead+rec.Size)
		}
		serveBytes(w, r, be)
		return
	}
	if r.Method == http.MethodGet && r.Header.Get("Range") != "" {
		// A range cannot be checked against the digest: the whole file is,
		// once, and remembered while the file stays as it was.
		if err := verifyFile(f, id, rec.Size); err != nil {
			s.corrupt(w, r, rec, ew, err)
			return
		}
		if fi2, err := f.Stat(); err == nil {
			if id2, ok := identOfInfo(fi2); ok && id2 == ident {
				s.blobs.Add(id, &blobEntry{path: p, ident: ident, size: size, etag: etag}, blobOverhead)
			}
		}
		http.ServeContent(w, r, "", zeroTime, f)
		return
	}
	vf := &verifyingFile{f: f, id: id, size: rec.Size}
	http.ServeContent(w, r, "", zeroTime, vf)
	if vf.verified {
		s.blobs.Add(id, &blobEntry{path: p, ident: ident, size: size, etag: etag}, blobOverhead)
	}
	if vf.err != nil {
		s.abort(r, rec, vf.err)
	}
}

// verifyFile checks that f holds size bytes of digest id.
func verifyFile(f *os.File, id objects.ID, size int64) error {
	h := sha256.New()
	n, err := io.Copy(h, io.NewSectionReader(f, 0, size+1))
	switch {
	case err != nil:
		return fmt.Errorf("blob %s: %w", id, err)
	case n != size:
		return fmt.Errorf("blob %s: %w: file has %d bytes, record says %d", id, objects.ErrCorrupt, n, size)
	case objects.ID(h.Sum(nil)) != id:
		return fmt.Errorf("blob %s: %w: digest mismatch", id, objects.ErrCorrupt)
	}
	return nil
}

// corrupt answers a request for content found corrupt before anything was
// sent.
func (s *Server) corrupt(w http.ResponseWriter, r *http.Request, rec *repo.Record, ew ErrorWriter, err error) {
	s.log.Error("corrupt content", "path", rec.Path, "err", err)
	ew.write(w, http.StatusInternalServerError, "internal error: the stored content of "+rec.Path+" is corrupt; run `pkgvc fsck`")
}

// abort cuts a response whose headers (and maybe part of whose body) went
// out, so that the client sees a broken transfer, never a complete wrong
// file.
func (s *Server) abort(r *http.Request, rec *repo.Record, err error) {
	if r.Context().Err() == nil {
		s.log.Error("response cut", "path", rec.Path, "err", err)
	}
	panic(http.ErrAbortHandler)
}

// serveMissing serves a record whose blob is not in the store: an on-demand
// one is fetched from its remote while streaming to the client.
func (s *Server) serveMissing(w http.ResponseWriter, r *http.Request, rec *repo.Record, ew ErrorWriter) {
	if !repo.IsOnDemand(*rec) {
		s.log.Error("missing content", "path", rec.Path, "blob", rec.SHA256)
		ew.write(w, http.StatusInternalServerError, "internal error: the content of "+rec.Path+" is missing from the store; run `pkgvc fsck`")
		return
	}
	if s.fetch == nil {
		ew.write(w, http.StatusServiceUnavailable, "unavailable: "+rec.Path+" is fetched on demand and this server cannot fetch")
		return
	}
	h := w.Header()
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, h.Get("Etag")) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h["Content-Length"] = []string{strconv.FormatInt(rec.Size, 10)}
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	cw := &startWriter{w: w}
	err := s.fetchLimited(r.Context(), rec, func(ctx context.Context) error { return s.fetch(ctx, *rec, cw) })
	if err == nil && cw.n != rec.Size {
		err = fmt.Errorf("fetch of %s gave %d bytes, want %d", rec.Path, cw.n, rec.Size)
	}
	if err == nil {
		return
	}
	var rl *RateLimitError
	if !cw.started && errors.As(err, &rl) {
		rl.SetRetryAfter(w)
		ew.write(w, http.StatusTooManyRequests, "too many requests: the upstream of remote "+rl.Remote+" asks to wait before "+rec.Path+" is fetched")
		return
	}
	if !cw.started {
		s.log.Error("fetch", "path", rec.Path, "err", err, parallel.LogStack(err))
		ew.write(w, http.StatusBadGateway, "bad gateway: fetching "+rec.Path+" from its remote failed: "+oneLine(err.Error()))
		return
	}
	s.abort(r, rec, err)
}

// etagMatch reports whether an If-None-Match list matches etag (weak
// comparison, as for GET).
func etagMatch(list, etag string) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// startWriter counts bytes and remembers whether anything was written.
type startWriter struct {
	w       io.Writer
	n       int64
	started bool
}

func (c *startWriter) Write(p []byte) (int, error) {
	c.started = true
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// verifyingFile is a ReadSeeker over the first size bytes of a raw blob
// file. Content read contiguously from offset 0 is hashed; the read that
// reaches the end checks the digest first and, on a mismatch, returns an
// error instead of the last bytes. Other ranges are not verified.
type verifyingFile struct {
	f        *os.File
	id       objects.ID
	size     int64
	pos      int64
	h        hash.Hash
	hashed   int64
	verified bool
	err      error
}

func (v *verifyingFile) Seek(off int64, whence int) (int64, error) {
	pos, err := seekPos(v.pos, v.size, off, whence)
	if err != nil {
		return 0, err
	}
	v.pos = pos
	return pos, nil
}

func (v *verifyingFile) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	if v.pos >= v.size {
		return 0, io.EOF
	}
	if rest := v.size - v.pos; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := v.f.ReadAt(p, v.pos)
	if n > 0 && v.pos == v.hashed && !v.verified {
		if v.h == nil {
			v.h = sha256.New()
		}
		v.h.Write(p[:n])
		v.hashed += int64(n)
		if v.hashed == v.size {
			if objects.ID(v.h.Sum(nil)) != v.id {
				v.err = fmt.Errorf("blob %s: %w: digest mismatch", v.id, objects.ErrCorrupt)
				return 0, v.err
			}
			v.verified = true
		}
	}
	v.pos += int64(n)
	switch {
	case errors.Is(err, io.EOF) && v.pos < v.size:
		v.err = fmt.Errorf("blob %s: %w: file shorter than %d bytes", v.id, objects.ErrCorrupt, v.size)
		return n, v.err
	case errors.Is(err, io.EOF):
		err = nil
	case err != nil:
		v.err = err
	}
	return n, err
}

// storeBlob is a ReadSeeker over a blob read through the object store (a
// compressed blob, or a backend without local files). A read from offset
// 0 goes through OpenBlob, which verifies and withholds the end of a
// corrupt blob; a read from elsewhere through OpenBlobRange. It holds the
// request's context because http.ServeContent, which drives it, passes
// none; it lives only as long as the request.
type storeBlob struct {
	ctx   context.Context
	objs  *objects.Store
	id    objects.ID
	size  int64
	pos   int64
	rc    io.ReadCloser
	rcPos int64
	err   error
}

func (b *storeBlob) Seek(off int64, whence int) (int64, error) {
	pos, err := seekPos(b.pos, b.size, off, whence)
	if err != nil {
		return 0, err
	}
	b.pos = pos
	return pos, nil
}

func (b *storeBlob) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.pos >= b.size {
		return 0, io.EOF
	}
	if b.rc != nil && b.rcPos != b.pos {
		_ = b.rc.Close() // only read from
		b.rc = nil
	}
	if b.rc == nil {
		var err error
		if b.pos == 0 {
			b.rc, err = b.objs.OpenBlob(b.ctx, b.id)
		} else {
			b.rc, err = b.objs.OpenBlobRange(b.ctx, b.id, b.pos, -1)
		}
		if err != nil {
			b.err = err
			return 0, err
		}
		b.rcPos = b.pos
	}
	n, err := b.rc.Read(p)
	b.pos += int64(n)
	b.rcPos += int64(n)
	if err != nil && !errors.Is(err, io.EOF) {
		b.err = err
	}
	return n, err
}

func (b *storeBlob) Close() error {
	if b.rc == nil {
		return nil
	}
	return b.rc.Close()
}

// seekPos computes the position a Seek moves to, as io.Seeker defines it.
func seekPos(pos, size, off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		off += pos
	case io.SeekEnd:
		off += size
	default:
		return 0, errors.New("seek: invalid whence")
	}
	if off < 0 {
		return 0, errors.New("seek: negative position")
	}
	return off, nil
}
