package objects_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/objects"
)

// cutReader gives data, then fails with err (a dropped connection reads
// as a wrapped io.ErrUnexpectedEOF).
type cutReader struct {
	r   io.Reader
	err error
}

func (c *cutReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if errors.Is(err, io.EOF) {
		return n, c.err
	}
	return n, err
}

// TestPutBlobUnexpectedEOF: a reader failing with io.ErrUnexpectedEOF (a
// connection dropped mid-body, a truncated stream) fails the Put with
// that error: it is not the end of the content, and nothing is stored.
func TestPutBlobUnexpectedEOF(t *testing.T) {
	ctx := context.Background()
	cut := fmt.Errorf("GET http://upstream/blob: after some bytes: %w", io.ErrUnexpectedEOF)
	for _, size := range []int{10, 100 << 10, 3 << 20} { // within the sample, past it, past a copy buffer
		for _, compressible := range []bool{false, true} {
			for _, em := range envs {
				t.Run(fmt.Sprintf("%s/%d/%v", em.name, size, compressible), func(t *testing.T) {
					e := em.make(t)
					data := bytes.Repeat([]byte("compressible "), size/13+1)[:size]
					if !compressible {
						data = randomBytes(size, uint64(size))
					}
					b := e.s.NewBatch()
					_, err := b.PutBlob(ctx, &cutReader{r: bytes.NewReader(data), err: cut})
					require.ErrorIs(t, err, io.ErrUnexpectedEOF)
					require.ErrorContains(t, err, "http://upstream/blob")
					b.Abort()
					_, err = e.s.StatBlob(ctx, objects.Sum(data))
					require.ErrorIs(t, err, objects.ErrNotFound)
				})
			}
		}
	}
}
