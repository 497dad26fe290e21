package format

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// MaxXzDict is the largest LZMA2 dictionary an .xz may ask for. The xz
// reader allocates (and, reusing memory, clears) the dictionary a block
// header names, up to 4 GiB for a file of a few bytes; xz -9 uses 64 MiB.
const MaxXzDict = 128 << 20

// xzGuard passes an .xz stream through while following its structure
// (stream headers, block headers, LZMA2 chunk headers, which give their
// sizes, indexes, footers), and fails before a block header naming a
// dictionary over max reaches the reader.
type xzGuard struct {
	r     *bufio.Reader
	max   int64
	out   []byte // checked bytes not yet returned
	state func() error
	check int   // size of each block's check field
	n     int64 // bytes of the current block or index
	skip  int64 // data bytes to pass through before the next chunk
	err   error
}

var errXzStructure = errors.New("xz: malformed stream")

func newXzGuard(r io.Reader, max int64) *xzGuard {
	g := &xzGuard{r: bufio.NewReader(r), max: max}
	g.state = g.streamHeader
	return g
}

func (g *xzGuard) Read(p []byte) (int, error) {
	for len(g.out) == 0 {
		if g.err != nil {
			return 0, g.err
		}
		g.out = g.out[:0]
		if err := g.state(); err != nil {
			g.out = nil // the failed step's bytes are not passed on
			if errors.Is(err, io.EOF) && g.state == nil {
				err = io.EOF
			} else if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			g.err = err
		}
	}
	n := copy(p, g.out)
	g.out = g.out[n:]
	return n, nil
}

// take reads n bytes into out and returns them.
func (g *xzGuard) take(n int) ([]byte, error) {
	start := len(g.out)
	g.out = append(g.out, make([]byte, n)...)
	if _, err := io.ReadFull(g.r, g.out[start:]); err != nil {
		g.out = g.out[:start] // an error, not bytes never read
		return nil, err
	}
	return g.out[start:], nil
}

func (g *xzGuard) streamHeader() error {
	h, err := g.take(12)
	if err != nil {
		return err
	}
	if !bytes.Equal(h[:6], []byte{0xFD, '7', 'z', 'X', 'Z', 0}) {
		return fmt.Errorf("%w: no stream header", errXzStructure)
	}
	switch c := h[7] & 0x0F; {
	case c == 0:
		g.check = 0
	case c <= 3:
		g.check = 4
	case c <= 6:
		g.check = 8
	case c <= 9:
		g.check = 16
	case c <= 12:
		g.check = 32
	default:
		g.check = 64
	}
	g.state = g.block
	return nil
}

// block reads a block header, or the index indicator.
func (g *xzGuard) block() error {
	b, err := g.take(1)
	if err != nil {
		return err
	}
	if b[0] == 0 {
		g.n = 1
		g.state = g.index
		return nil
	}
	size := (int(b[0]) + 1) * 4
	rest, err := g.take(size - 1)
	if err != nil {
		return err
	}
	if err := g.checkBlockHeader(append([]byte{b[0]}, rest...)); err != nil {
		return err
	}
	g.n = int64(size)
	g.state = g.chunk
	return nil
}

// checkBlockHeader refuses an LZMA2 filter with too large a dictionary.
func (g *xzGuard) checkBlockHeader(h []byte) error {
	r := bytes.NewReader(h[2 : len(h)-4])
	flags := h[1]
	for _, bit := range []byte{0x40, 0x80} {
		if flags&bit != 0 {
			if _, err := binary.ReadUvarint(r); err != nil {
				return fmt.Errorf("%w: block header", errXzStructure)
			}
		}
	}
	for range int(flags&3) + 1 {
		id, err1 := binary.ReadUvarint(r)
		n, err2 := binary.ReadUvarint(r)
		if err1 != nil || err2 != nil || n > uint64(r.Len()) {
			return fmt.Errorf("%w: block header", errXzStructure)
		}
		props := make([]byte, n)
		_, _ = r.Read(props)
		if id == 0x21 && n == 1 {
			d := props[0] & 0x3F
			if d > 40 {
				return fmt.Errorf("%w: LZMA2 dictionary size byte %d", errXzStructure, d)
			}
			dict := int64(1<<32 - 1)
			if d < 40 {
				dict = int64(2|d&1) << (d/2 + 11)
			}
			if dict > g.max {
				return fmt.Errorf("%w: xz block asks for a %d MiB dictionary, more than the %d MiB allowed", ErrTooLarge, dict>>20, g.max>>20)
			}
		}
	}
	return nil
}

// chunk reads an LZMA2 chunk header.
func (g *xzGuard) chunk() error {
	c, err := g.take(1)
	if err != nil {
		return err
	}
	g.n++
	switch ctl := c[0]; {
	case ctl == 0:
		pad := (4 - g.n%4) % 4
		g.skip = pad + int64(g.check)
		g.state = g.data(g.block)
	case ctl == 1 || ctl == 2:
		s, err := g.take(2)
		if err != nil {
			return err
		}
		g.n += 2
		g.skip = int64(binary.BigEndian.Uint16(s)) + 1
		g.state = g.data(g.chunk)
	case ctl >= 0x80:
		n := 4
		if ctl >= 0xC0 {
			n = 5
		}
		s, err := g.take(n)
		if err != nil {
			return err
		}
		g.n += int64(n)
		g.skip = int64(binary.BigEndian.Uint16(s[2:4])) + 1
		g.state = g.data(g.chunk)
	default:
		return fmt.Errorf("%w: LZMA2 control byte %#x", errXzStructure, ctl)
	}
	return nil
}

// data passes g.skip bytes through, then goes on with next.
func (g *xzGuard) data(next func() error) func() error {
	return func() error {
		if g.skip == 0 {
			g.state = next
			return nil
		}
		b, err := g.take(int(min(g.skip, 32<<10)))
		if err != nil {
			return err
		}
		g.skip -= int64(len(b))
		g.n += int64(len(b))
		return nil
	}
}

// index reads the index (its records), then its padding, CRC and the
// stream footer.
func (g *xzGuard) index() error {
	count, err := g.varint()
	if err != nil {
		return err
	}
	g.skip = int64(count) * 2
	g.state = g.records
	return nil
}

func (g *xzGuard) records() error {
	if g.skip > 0 {
		if _, err := g.varint(); err != nil {
			return err
		}
		g.skip--
		return nil
	}
	g.skip = (4-g.n%4)%4 + 4 + 12
	g.state = g.data(g.afterStream)
	return nil
}

func (g *xzGuard) varint() (uint64, error) {
	var v uint64
	for i := range 9 {
		b, err := g.take(1)
		if err != nil {
			return 0, err
		}
		g.n++
		v |= uint64(b[0]&0x7F) << (7 * i)
		if b[0] < 0x80 {
			return v, nil
		}
	}
	return 0, fmt.Errorf("%w: index", errXzStructure)
}

// afterStream reads stream padding or the next stream's header.
func (g *xzGuard) afterStream() error {
	b, err := g.r.Peek(1)
	if errors.Is(err, io.EOF) {
		g.state = nil
		return io.EOF
	}
	if err != nil {
		return err
	}
	if b[0] == 0 {
		_, err := g.take(4)
		return err
	}
	g.state = g.streamHeader
	return nil
}
