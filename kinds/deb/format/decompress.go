package format

import (
	"bufio"
	"compress/bzip2"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// ErrTooLarge reports content over a reader's limit.
var ErrTooLarge = errors.New("over the size limit")

// Compression suffixes of .deb tar members and archive indexes.
const (
	CompNone  = ""
	CompGzip  = ".gz"
	CompXz    = ".xz"
	CompZstd  = ".zst"
	CompBzip2 = ".bz2"
)

// maxZstdWindow bounds the memory a zstd stream may ask for.
const maxZstdWindow = 128 << 20

// Decompress returns a reader of r's content compressed as comp, and a
// function to release it. It yields at most limit bytes, then fails with
// ErrTooLarge, so that a small file cannot expand without bound.
func Decompress(r io.Reader, comp string, limit int64) (io.Reader, func(), error) {
	var (
		out     io.Reader
		release = func() {}
	)
	switch comp {
	case CompNone:
		out = r
	case CompGzip:
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, fmt.Errorf("gzip: %w", err)
		}
		out, release = zr, func() { _ = zr.Close() }
	case CompXz:
		zr, err := xz.NewReader(bufio.NewReader(newXzGuard(r, MaxXzDict)))
		if err != nil {
			return nil, nil, fmt.Errorf("xz: %w", err)
		}
		out = zr
	case CompZstd:
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(maxZstdWindow), zstd.WithDecoderMaxMemory(uint64(max(limit, 1))))
		if err != nil {
			return nil, nil, fmt.Errorf("zstd: %w", err)
		}
		out, release = zr, zr.Close
	case CompBzip2:
		out = bzip2.NewReader(r)
	default:
		return nil, nil, fmt.Errorf("unknown compression %q", comp)
	}
	return &limitReader{r: out, left: limit, comp: comp}, release, nil
}

// limitReader fails with ErrTooLarge past its limit, and names the
// compression in decompression errors.
type limitReader struct {
	r    io.Reader
	left int64
	comp string
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// One byte more tells a stream that ends here from a longer one.
		var b [1]byte
		n, err := l.r.Read(b[:])
		if n > 0 {
			return 0, ErrTooLarge
		}
		return 0, l.wrap(err)
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, l.wrap(err)
}

func (l *limitReader) wrap(err error) error {
	if err == nil || errors.Is(err, io.EOF) || l.comp == CompNone {
		return err
	}
	return fmt.Errorf("%s: %w", strings.TrimPrefix(l.comp, "."), err)
}

// splitCompression splits a member name such as "control.tar.xz" into
// "control.tar" and ".xz".
func splitCompression(name string) (string, string) {
	for _, c := range []string{CompGzip, CompXz, CompZstd, CompBzip2} {
		if base, ok := strings.CutSuffix(name, c); ok {
			return base, c
		}
	}
	return name, CompNone
}
