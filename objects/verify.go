package objects

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
)

// verifyReader hashes content while delivering it and always holds back
// at least one byte until the source reached EOF and the digest (and the
// expected size, when known) has been checked. A corrupt blob therefore
// never yields its complete content: the error comes first.
type verifyReader struct {
	id    ID
	src   io.Reader
	close func() error
	h     hash.Hash
	size  int64 // expected content size, or -1 if unknown
	n     int64 // bytes read from src

	buf        *[]byte
	pool       *sync.Pool
	start, end int // buffered, hashed, not yet delivered bytes

	verified bool
	err      error
	closed   bool
}

func newVerifyReader(id ID, src io.Reader, size int64, closeFn func() error, buf *[]byte, pool *sync.Pool) *verifyReader {
	return &verifyReader{id: id, src: src, close: closeFn, h: sha256.New(), size: size, buf: buf, pool: pool}
}

func (v *verifyReader) Read(p []byte) (int, error) {
	if v.closed {
		return 0, errors.New("read of closed blob reader")
	}
	for {
		pending := v.end - v.start
		buf := *v.buf
		if v.verified {
			if pending == 0 {
				return 0, io.EOF
			}
			n := copy(p, buf[v.start:v.end])
			v.start += n
			return n, nil
		}
		if v.err != nil {
			return 0, v.err
		}
		if len(p) == 0 {
			return 0, nil
		}
		if pending > 1 {
			n := copy(p, buf[v.start:v.end-1])
			v.start += n
			return n, nil
		}
		// At most one byte pending: refill behind it.
		if v.start > 0 {
			copy(buf, buf[v.start:v.end])
			v.end -= v.start
			v.start = 0
		}
		n, err := v.src.Read(buf[v.end:])
		if n > 0 {
			v.h.Write(buf[v.end : v.end+n])
			v.end += n
			v.n += int64(n)
			if v.size >= 0 && v.n > v.size {
				v.err = fmt.Errorf("blob %s: %w: longer than its size header %d", v.id, ErrCorrupt, v.size)
				continue
			}
		}
		switch {
		case errors.Is(err, io.EOF):
			v.finish()
		case err != nil:
			v.err = err
		}
	}
}

func (v *verifyReader) finish() {
	if v.size >= 0 && v.n != v.size {
		v.err = fmt.Errorf("blob %s: %w: %d bytes, size header says %d", v.id, ErrCorrupt, v.n, v.size)
		return
	}
	if got := ID(v.h.Sum(nil)); got != v.id {
		v.err = fmt.Errorf("blob %s: %w: content has digest %s", v.id, ErrCorrupt, got)
		return
	}
	v.verified = true
}

func (v *verifyReader) Close() error {
	if v.closed {
		return nil
	}
	v.closed = true
	v.pool.Put(v.buf)
	v.buf = nil
	return v.close()
}
