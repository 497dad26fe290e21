package tree

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"strings"
	"unicode"

	"github.com/pkgvc/pkgvc/objects"
)

// Entry is one package record: where it sits in the version, what it holds.
type Entry struct {
	Path     string            `json:"path"`
	SHA256   objects.ID        `json:"sha256"`
	Size     int64             `json:"size"`
	Metadata map[string]string `json:"metadata"`
}

// Equal reports whether two records are identical.
func (e Entry) Equal(o Entry) bool {
	return e.Path == o.Path && e.SHA256 == o.SHA256 && e.Size == o.Size && maps.Equal(e.Metadata, o.Metadata)
}

// ErrInvalidPath reports a package path that is not a clean relative path.
var ErrInvalidPath = errors.New("invalid package path")

// MaxPathLen bounds a package path, as file systems and URLs do.
const MaxPathLen = 4096

// MaxSegmentLen bounds one segment of a package path in bytes: the
// longest file name of the common file systems, so a checkout can write
// every path.
const MaxSegmentLen = 255

// ValidatePath checks a package path: relative, '/'-separated, no empty, "." or
// ".." segment, no segment starting with '@' (reserved for version URLs), no
// backslash or control characters, at most MaxPathLen bytes and
// MaxSegmentLen bytes a segment.
func ValidatePath(p string) error {
	bad := func(why string) error { return fmt.Errorf("%w %q: %s", ErrInvalidPath, p, why) }
	switch {
	case p == "":
		return bad("empty")
	case len(p) > MaxPathLen:
		return bad(fmt.Sprintf("longer than %d bytes", MaxPathLen))
	case strings.HasPrefix(p, "/"):
		return bad("absolute paths are not allowed")
	}
	for _, r := range p {
		if r == 0 || unicode.IsControl(r) {
			return bad("control character")
		}
		if r == '\\' {
			return bad("backslash")
		}
		if r == unicode.ReplacementChar {
			return bad("not valid UTF-8")
		}
	}
	for _, seg := range strings.Split(p, "/") {
		switch {
		case seg == "":
			return bad("empty segment")
		case seg == "." || seg == "..":
			return bad("'.' and '..' segments are not allowed")
		case strings.HasPrefix(seg, "@"):
			return bad("segments may not start with '@'")
		case len(seg) > MaxSegmentLen:
			return bad(fmt.Sprintf("a segment is longer than %d bytes (%d), more than a file name may hold", MaxSegmentLen, len(seg)))
		}
	}
	return nil
}

// pathKey is the digest that places a path in the trie.
type pathKey [32]byte

func keyOf(p string) pathKey { return sha256.Sum256([]byte(p)) }

// nibble returns the d-th hex digit of the key.
func (k pathKey) nibble(d int) int {
	b := k[d/2]
	if d%2 == 0 {
		return int(b >> 4)
	}
	return int(b & 0x0f)
}
