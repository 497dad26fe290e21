package format

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ArMember is one member of an ar archive: its content lies at Offset
// for Size bytes of the archive.
type ArMember struct {
	Name   string
	Offset int64
	Size   int64
}

// ErrAr reports an ar archive that is malformed, truncated or over a limit.
var ErrAr = errors.New("invalid ar archive")

const (
	arMagic      = "!<arch>\n"
	arHeaderSize = 60
	// MaxArMembers bounds the members read: a .deb has three, and dpkg
	// ignores a few more it does not know.
	MaxArMembers = 64
)

// ReadAr lists the members of the ar archive r of size bytes. Every
// header is checked: its size is a decimal number that, with the header,
// fits in the file, and its name is a plain file name (the GNU trailing
// slash dropped). Nothing is read but the headers.
func ReadAr(r io.ReaderAt, size int64) ([]ArMember, error) {
	magic := make([]byte, len(arMagic))
	if size < int64(len(arMagic)) {
		return nil, fmt.Errorf("%w: %d bytes, shorter than the ar magic", ErrAr, size)
	}
	if _, err := r.ReadAt(magic, 0); err != nil {
		return nil, fmt.Errorf("%w: read magic: %w", ErrAr, err)
	}
	if string(magic) != arMagic {
		return nil, fmt.Errorf("%w: no ar magic (not a .deb)", ErrAr)
	}
	var out []ArMember
	off := int64(len(arMagic))
	hdr := make([]byte, arHeaderSize)
	for off < size {
		if len(out) == MaxArMembers {
			return nil, fmt.Errorf("%w: more than %d members", ErrAr, MaxArMembers)
		}
		if size-off < arHeaderSize {
			return nil, fmt.Errorf("%w: truncated member header at offset %d", ErrAr, off)
		}
		if _, err := r.ReadAt(hdr, off); err != nil {
			return nil, fmt.Errorf("%w: read member header at offset %d: %w", ErrAr, off, err)
		}
		m, err := parseArHeader(hdr)
		if err != nil {
			return nil, fmt.Errorf("%w: member at offset %d: %w", ErrAr, off, err)
		}
		m.Offset = off + arHeaderSize
		if m.Size > size-m.Offset {
			return nil, fmt.Errorf("%w: member %s says %d bytes, the file has %d after its header (truncated?)", ErrAr, m.Name, m.Size, size-m.Offset)
		}
		for _, o := range out {
			if o.Name == m.Name {
				return nil, fmt.Errorf("%w: member %s given twice", ErrAr, m.Name)
			}
		}
		out = append(out, m)
		off = m.Offset + m.Size
		if off%2 == 1 && off < size {
			off++ // members start at even offsets
		}
	}
	return out, nil
}

// parseArHeader reads a 60-byte member header: name[16] mtime[12]
// uid[6] gid[6] mode[8] size[10] "`\n".
func parseArHeader(h []byte) (ArMember, error) {
	if string(h[58:60]) != "`\n" {
		return ArMember{}, fmt.Errorf("bad header terminator")
	}
	name := strings.TrimRight(string(h[0:16]), " ")
	name = strings.TrimSuffix(name, "/") // GNU ar
	if err := checkMemberName(name); err != nil {
		return ArMember{}, err
	}
	sz := strings.TrimRight(string(h[48:58]), " ")
	if sz == "" || !allDigits(sz) {
		return ArMember{}, fmt.Errorf("member %s: size %q is not a decimal number", name, sz)
	}
	n, err := strconv.ParseInt(sz, 10, 64)
	if err != nil {
		return ArMember{}, fmt.Errorf("member %s: size %q: %w", name, sz, err)
	}
	return ArMember{Name: name, Size: n}, nil
}

// checkMemberName accepts plain names of printable ASCII: no path
// separators, nothing GNU's long-name table or BSD's #1/ would name.
func checkMemberName(n string) error {
	if n == "" || n == "." || n == ".." {
		return fmt.Errorf("invalid member name %q", n)
	}
	for _, c := range []byte(n) {
		if c <= ' ' || c > '~' || c == '/' || c == '\\' {
			return fmt.Errorf("invalid member name %q", n)
		}
	}
	if strings.HasPrefix(n, "#1") {
		return fmt.Errorf("member name %q: BSD long names are not used in .deb files", n)
	}
	return nil
}
