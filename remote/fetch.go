package remote

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

// openFunc returns a package's bytes.
type openFunc func(ctx context.Context, p Package) (io.ReadCloser, error)

// packageOpener returns how the packages of s are read: from the bytes
// the index already holds (Package.Data), through the Syncer's own client
// (Opener), or by a resumable GET of their URL with up.Client.
func packageOpener(s Syncer, up Upstream) openFunc {
	o, _ := s.(Opener)
	return func(ctx context.Context, p Package) (io.ReadCloser, error) {
		switch {
		case p.Data != nil:
			return io.NopCloser(bytes.NewReader(p.Data)), nil
		case o != nil:
			return o.Open(ctx, up, p)
		default:
			return up.Client.Open(ctx, p.URL, p.Size)
		}
	}
}

// download streams p's bytes, read with open, into a batch of its own
// while hashing them (and into w, if not nil), and checks the result
// against p.SHA256 and p.Size. On success the caller owns the batch (Flush
// it, or Adopt it into another); on any error nothing stays staged.
// progress, if set, is called with each count of bytes read.
func (m *Manager) download(ctx context.Context, open openFunc, p Package, w io.Writer, progress func(int64)) (*objects.Batch, error) {
	id, size := p.SHA256, p.Size
	rc, err := open(ctx, p)
	if err != nil {
		return nil, err
	}
	defer rc.Close() // a read body's Close error says nothing about the content
	// One byte more than expected is enough to tell the body is too long.
	var src io.Reader = io.LimitReader(rc, size+1)
	if progress != nil {
		src = &countingReader{r: src, fn: progress}
	}
	if w != nil {
		src = io.TeeReader(src, w)
	}
	b := m.st.Objects().NewBatch()
	res, err := b.PutBlob(ctx, src)
	if err != nil {
		b.Abort()
		return nil, err
	}
	switch {
	case res.Size > size:
		b.Abort()
		return nil, fmt.Errorf("%w: upstream sent more than the %d bytes expected", ErrSizeMismatch, size)
	case res.Size != size:
		b.Abort()
		return nil, fmt.Errorf("%w: upstream sent %d bytes, expected %d", ErrSizeMismatch, res.Size, size)
	case res.ID != id:
		b.Abort()
		return nil, fmt.Errorf("%w: upstream sent %s, expected %s", ErrDigestMismatch, res.ID, id)
	}
	return b, nil
}

type countingReader struct {
	r  io.Reader
	fn func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.fn(int64(n))
	}
	return n, err
}

// FetchBlob writes the bytes of rec to w, fetching them from the
// record's upstream if the store does not hold them yet. It is what
// serve, cat and checkout call for records synced with the on_demand
// policy (repo.IsOnDemand).
//
// If the blob rec.SHA256 is stored, FetchBlob copies it to w (reading it
// verifies it). Otherwise rec must name an upstream URL
// (repo.MetaURL) and the remote whose settings to use (repo.MetaRemote):
// FetchBlob GETs the URL with that remote's client (TLS, proxy,
// credentials, timeouts, retries and resumption after a dropped
// connection) and streams the body into the object store and into w at
// the same time, hashing it as it goes. When the body ends it compares
// sha256 and size with rec:
//
//   - a match flushes the blob, so it is durable and later reads (and
//     fsck) find it in the store; FetchBlob returns nil;
//   - a mismatch stores nothing and returns an error matching
//     ErrDigestMismatch or ErrSizeMismatch.
//
// Bytes reach w before they are verified. On any error the caller must
// treat what w received as garbage: an HTTP handler should abort the
// response (panic(http.ErrAbortHandler), or not send a Content-Length it
// did not fill) so that the client sees a broken transfer rather than
// wrong bytes. Sending the headers with rec.Size as Content-Length
// before calling FetchBlob makes a short body detectable by any client.
//
// If writing to w fails (the client went away), FetchBlob still finishes
// the download and stores the blob when it verifies, so the next request
// finds it, and then returns the write error.
//
// Other errors: ErrNotOnDemand if rec has no URL and no stored blob,
// ErrRemoteNotFound if its remote was deleted, a *httpx.StatusError for
// a final HTTP failure. Concurrent calls for the same record are safe
// (each downloads; the store keeps one copy).
func (m *Manager) FetchBlob(ctx context.Context, rec repo.Record, w io.Writer) error {
	objs := m.st.Objects()
	has, err := objs.HasBlob(ctx, rec.SHA256)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", rec.Path, err)
	}
	if has {
		return copyStored(ctx, objs, rec, w)
	}
	if !repo.IsOnDemand(rec) {
		return fmt.Errorf("fetch %s: %w", rec.Path, ErrNotOnDemand)
	}
	url := rec.Metadata[repo.MetaURL]
	r, doc, err := m.load(ctx, rec.Metadata[repo.MetaRemote])
	if err != nil {
		return fmt.Errorf("fetch %s: %w", rec.Path, err)
	}
	c, err := m.client(r, doc)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", rec.Path, err)
	}
	syncer, _ := m.reg.Lookup(r.Kind) // an unknown kind reads with a plain GET
	open := packageOpener(syncer, Upstream{Remote: *r, Client: c, KnownSize: m.knownSize, OpenStored: m.st.Objects().OpenBlob})
	// The final byte waits until the blob is stored: a client that saw
	// the whole file and asks again then finds it in the store instead of
	// making the server fetch it a second time.
	sw := &softWriter{w: w, hold: rec.Size}
	b, err := m.download(ctx, open, Package{Path: rec.Path, URL: url, SHA256: rec.SHA256, Size: rec.Size}, sw, nil)
	if err != nil {
		return fmt.Errorf("fetch %s from %s: %w", rec.Path, url, err)
	}
	if err := b.Flush(ctx); err != nil {
		b.Abort()
		return fmt.Errorf("fetch %s: store: %w", rec.Path, err)
	}
	m.blobsStored(rec.SHA256)
	sw.release()
	if sw.err != nil {
		return fmt.Errorf("fetch %s: write: %w", rec.Path, sw.err)
	}
	return nil
}

func copyStored(ctx context.Context, objs *objects.Store, rec repo.Record, w io.Writer) error {
	// A blob is reused by digest alone: a record that says another size
	// (an upstream listed it so) must not be given bytes of this one.
	st, err := objs.StatBlob(ctx, rec.SHA256)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", rec.Path, err)
	}
	if st.Size != rec.Size {
		return fmt.Errorf("fetch %s: %w: blob %s has %d bytes, the record says %d", rec.Path, ErrSizeMismatch, rec.SHA256, st.Size, rec.Size)
	}
	rc, err := objs.OpenBlob(ctx, rec.SHA256)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", rec.Path, err)
	}
	_, err = io.Copy(w, rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fetch %s: %w", rec.Path, err)
	}
	return nil
}

// softWriter writes to w until w fails, then swallows the rest so that
// the download it is fed from can finish; err keeps the failure. With
// hold > 0 (the expected size) it keeps the last byte back until release.
type softWriter struct {
	w    io.Writer
	err  error
	hold int64 // bytes still to come, including the held one
	last []byte
}

func (s *softWriter) Write(p []byte) (int, error) {
	n := len(p)
	if s.hold > 0 {
		if int64(len(p)) >= s.hold {
			s.last = append(s.last[:0], p[s.hold-1:s.hold]...)
			p = p[:s.hold-1]
		}
		s.hold -= min(int64(n), s.hold)
	}
	s.write(p)
	return n, nil
}

func (s *softWriter) write(p []byte) {
	if s.err == nil && len(p) > 0 {
		if _, err := s.w.Write(p); err != nil {
			s.err = err
		}
	}
}

// release writes the held byte.
func (s *softWriter) release() {
	s.write(s.last)
	s.last = nil
}
