package publication

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/pkgvc/pkgvc/objects"
)

// readWindow is how much rangeReaderAt reads at once: zip reads its
// directory in small pieces, and each range of a compressed blob is
// decompressed from the start.
const readWindow = 256 << 10

// rangeReaderAt reads a blob with ranged reads, keeping the last window.
// It serves one goroutine.
type rangeReaderAt struct {
	ctx  context.Context // the Publish call's, for its reads only
	s    *objects.Store
	id   objects.ID
	size int64
	win  []byte
	off  int64 // offset of win in the blob
}

func (b *rangeReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("blob %s: negative offset %d", b.id, off)
	}
	n := 0
	for n < len(p) && off < b.size {
		if off >= b.off && off < b.off+int64(len(b.win)) {
			c := copy(p[n:], b.win[off-b.off:])
			n += c
			off += int64(c)
			continue
		}
		if err := b.fill(off, len(p)-n); err != nil {
			return n, err
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// fill reads the window at off, at least want bytes if the blob has them.
func (b *rangeReaderAt) fill(off int64, want int) error {
	length := min(int64(max(want, readWindow)), b.size-off)
	rc, err := b.s.OpenBlobRange(b.ctx, b.id, off, length)
	if err != nil {
		return err
	}
	defer rc.Close()
	if int64(cap(b.win)) < length {
		b.win = make([]byte, length)
	}
	b.win = b.win[:length]
	got, err := io.ReadFull(rc, b.win)
	b.win, b.off = b.win[:got], off
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("blob %s: %w: shorter than its record says", b.id, objects.ErrCorrupt)
	}
	return err
}
