package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/pkgvc/pkgvc/api/wire"
	"github.com/pkgvc/pkgvc/internal/parallel"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

// maxBuffered bounds the chunk held in memory for a reader that cannot be
// read again.
const maxBuffered = 8 << 20

// PutBlob uploads size bytes of r (size < 0: unknown) in chunks and stores
// them as a blob. A chunk that fails is sent again from the offset the
// server reports, so a dropped connection costs at most one chunk. When
// want is not zero the server refuses other bytes and keeps nothing.
func (c *Client) PutBlob(ctx context.Context, r io.Reader, size int64, want objects.ID) (objects.ID, error) {
	return c.putBlob(ctx, r, size, want, nil)
}

// source hands out the bytes of an upload by range: an io.ReaderAt is read
// again as needed; another reader is buffered one chunk at a time.
type source struct {
	ra    io.ReaderAt
	r     io.Reader
	buf   []byte
	bufAt int64 // offset of buf[0]
	eof   bool
}

// next makes [off, off+n) available and returns n, at most limit; 0 at the end.
func (s *source) next(off, limit, size int64) (int64, error) {
	if s.ra != nil {
		return min(limit, size-off), nil
	}
	if end := s.bufAt + int64(len(s.buf)); off < end {
		return end - off, nil
	}
	if s.eof {
		return 0, nil
	}
	if s.buf == nil {
		s.buf = make([]byte, 0, min(limit, maxBuffered))
	}
	n, err := io.ReadFull(s.r, s.buf[:cap(s.buf)])
	s.bufAt, s.buf = off, s.buf[:n]
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		s.eof = true
	case err != nil:
		return 0, err
	}
	return int64(n), nil
}

func (s *source) section(off, n int64) io.Reader {
	if s.ra != nil {
		return io.NewSectionReader(s.ra, off, n)
	}
	return bytes.NewReader(s.buf[off-s.bufAt : off-s.bufAt+n])
}

func (c *Client) putBlob(ctx context.Context, r io.Reader, size int64, want objects.ID, progress func(int64)) (objects.ID, error) {
	src := &source{r: r}
	if ra, ok := r.(io.ReaderAt); ok && size >= 0 {
		src = &source{ra: ra}
	}
	var up wire.Upload
	if err := c.do(ctx, http.MethodPost, "/uploads", nil, nil, &up); err != nil {
		return objects.ID{}, fmt.Errorf("upload: %w", err)
	}
	abandon := func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = c.do(cctx, http.MethodDelete, "/uploads/"+up.ID, nil, nil, nil)
	}
	h := sha256.New()
	var off int64
	fails := 0
	for {
		n, err := src.next(off, c.chunkSize, size)
		if err != nil {
			abandon()
			return objects.ID{}, err
		}
		if n == 0 {
			break
		}
		state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			return objects.ID{}, err
		}
		got, err := c.putChunk(ctx, up.ID, off, n, size, io.TeeReader(src.section(off, n), h))
		if err == nil && got == off+n {
			if progress != nil {
				progress(n)
			}
			off, fails = got, 0
			continue
		}
		if err == nil {
			err = fmt.Errorf("upload %s: the server holds %d bytes after a chunk ending at %d", up.ID, got, off+n)
		}
		if !retryable(err) && !errors.Is(err, wire.ErrOffsetMismatch) || fails >= c.retries || ctx.Err() != nil {
			abandon()
			return objects.ID{}, fmt.Errorf("upload: %w", err)
		}
		fails++
		if err := sleep(ctx, c.backoff<<(fails-1)); err != nil {
			abandon()
			return objects.ID{}, err
		}
		// Resume where the server is: rewind the digest to the chunk's
		// start and hash what the server kept of it.
		at, err := c.uploadOffset(ctx, up.ID)
		if err != nil {
			if retryable(err) {
				continue // the chunk is sent again from off
			}
			return objects.ID{}, fmt.Errorf("upload: %w", err)
		}
		if at < off || at > off+n {
			abandon()
			return objects.ID{}, fmt.Errorf("upload %s: the server holds %d bytes, outside the chunk %d-%d sent", up.ID, at, off, off+n)
		}
		if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
			return objects.ID{}, err
		}
		if _, err := io.Copy(h, src.section(off, at-off)); err != nil {
			abandon()
			return objects.ID{}, err
		}
		if progress != nil {
			progress(at - off)
		}
		off = at
	}
	if size >= 0 && off != size {
		abandon()
		return objects.ID{}, fmt.Errorf("%w upload: %d bytes read, %d announced", repo.ErrInvalid, off, size)
	}
	var sum objects.ID
	copy(sum[:], h.Sum(nil))
	if want.IsZero() {
		want = sum
	}
	total := off
	var blob wire.Blob
	err := c.do(ctx, http.MethodPost, "/uploads/"+up.ID+"/finish", nil, wire.FinishBody{SHA256: want, Size: &total}, &blob)
	if err != nil {
		if !errors.Is(err, wire.ErrDigestMismatch) {
			abandon()
		}
		return objects.ID{}, fmt.Errorf("upload: %w", err)
	}
	return blob.SHA256, nil
}

// putChunk sends [off, off+n) and returns the upload's new offset.
func (c *Client) putChunk(ctx context.Context, id string, off, n, size int64, body io.Reader) (int64, error) {
	req, err := c.request(ctx, http.MethodPut, "/uploads/"+id, nil, body)
	if err != nil {
		return 0, err
	}
	total := "*"
	if size >= 0 {
		total = strconv.FormatInt(size, 10)
	}
	req.ContentLength = n
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Content-Range", "bytes "+strconv.FormatInt(off, 10)+"-"+strconv.FormatInt(off+n-1, 10)+"/"+total)
	resp, err := c.send(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return strconv.ParseInt(resp.Header.Get(wire.HeaderUploadOffset), 10, 64)
}

// uploadOffset asks how many bytes the server holds.
func (c *Client) uploadOffset(ctx context.Context, id string) (int64, error) {
	var up wire.Upload
	if err := c.do(ctx, http.MethodGet, "/uploads/"+id, nil, nil, &up); err != nil {
		return 0, err
	}
	return up.Offset, nil
}

// uploadAdds uploads local files, a few at once, and returns their records.
func (c *Client) uploadAdds(ctx context.Context, adds []repo.Add, progress func(done, total int64)) ([]repo.Record, error) {
	out := make([]repo.Record, len(adds))
	var total, done atomic.Int64
	for _, a := range adds {
		total.Add(a.Size)
	}
	report := func(n int64) {
		if progress != nil {
			progress(done.Add(n), total.Load())
		}
	}
	err := parallel.Do(ctx, len(adds), c.workers, func(ctx context.Context, i int) error {
		rec, err := c.uploadFile(ctx, adds[i], report)
		out[i] = rec
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *Client) uploadFile(ctx context.Context, a repo.Add, progress func(int64)) (repo.Record, error) {
	f, err := os.Open(a.File)
	if err != nil {
		return repo.Record{}, fmt.Errorf("add %s: %w", a.File, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return repo.Record{}, fmt.Errorf("add %s: %w", a.File, err)
	}
	if !fi.Mode().IsRegular() {
		return repo.Record{}, fmt.Errorf("%w: add %s: not a regular file", repo.ErrInvalid, a.File)
	}
	id, err := c.putBlob(ctx, f, fi.Size(), objects.ID{}, progress)
	if err != nil {
		return repo.Record{}, fmt.Errorf("add %s: %w", a.File, err)
	}
	return repo.Record{Path: a.Path, SHA256: id, Size: fi.Size()}, nil
}
