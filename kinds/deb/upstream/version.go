package upstream

// dpkg version parsing and ordering, to be replaced by kinds/deb/format's.

import (
	"fmt"
	"strconv"
	"strings"
)

// debVersion is a parsed epoch:upstream-revision.
type debVersion struct {
	epoch              int
	upstream, revision string
}

// parseVersion parses a Debian version as dpkg does.
func parseVersion(s string) (debVersion, error) {
	var v debVersion
	if s == "" || strings.ContainsAny(s, " \t\n") {
		return v, fmt.Errorf("version %q: empty or white space", s)
	}
	rest := s
	if e, r, ok := strings.Cut(s, ":"); ok {
		n, err := strconv.Atoi(e)
		if err != nil || n < 0 {
			return v, fmt.Errorf("version %q: bad epoch", s)
		}
		v.epoch, rest = n, r
	}
	if i := strings.LastIndexByte(rest, '-'); i >= 0 {
		v.upstream, v.revision = rest[:i], rest[i+1:]
		if v.revision == "" {
			return v, fmt.Errorf("version %q: empty revision", s)
		}
	} else {
		v.upstream = rest
	}
	if v.upstream == "" || v.upstream[0] < '0' || v.upstream[0] > '9' {
		return v, fmt.Errorf("version %q: must start with a digit", s)
	}
	for _, c := range v.upstream {
		if !isAlnum(c) && !strings.ContainsRune(".+~-:", c) {
			return v, fmt.Errorf("version %q: bad character %q", s, c)
		}
	}
	for _, c := range v.revision {
		if !isAlnum(c) && !strings.ContainsRune(".+~", c) {
			return v, fmt.Errorf("version %q: bad character %q in revision", s, c)
		}
	}
	return v, nil
}

func isAlnum(c rune) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// compareVersions orders two versions as dpkg does; an unparsable one
// sorts before any other (compared as text among themselves).
func compareVersions(a, b string) int {
	va, ea := parseVersion(a)
	vb, eb := parseVersion(b)
	switch {
	case ea != nil && eb != nil:
		return strings.Compare(a, b)
	case ea != nil:
		return -1
	case eb != nil:
		return 1
	}
	if va.epoch != vb.epoch {
		if va.epoch < vb.epoch {
			return -1
		}
		return 1
	}
	if c := verrevcmp(va.upstream, vb.upstream); c != 0 {
		return c
	}
	return verrevcmp(va.revision, vb.revision)
}

// order is dpkg's weight of a non-digit character.
func order(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return 0
	case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		return int(c)
	case c == '~':
		return -1
	case c != 0:
		return int(c) + 256
	}
	return 0
}

// verrevcmp is dpkg's comparison of one version part.
func verrevcmp(a, b string) int {
	i, j := 0, 0
	at := func(s string, k int) byte {
		if k < len(s) {
			return s[k]
		}
		return 0
	}
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	for i < len(a) || j < len(b) {
		first := 0
		for (i < len(a) && !isDigit(a[i])) || (j < len(b) && !isDigit(b[j])) {
			ac, bc := order(at(a, i)), order(at(b, j))
			if i < len(a) && isDigit(a[i]) {
				ac = 0
			}
			if j < len(b) && isDigit(b[j]) {
				bc = 0
			}
			if ac != bc {
				return sign(ac - bc)
			}
			i++
			j++
		}
		for i < len(a) && a[i] == '0' {
			i++
		}
		for j < len(b) && b[j] == '0' {
			j++
		}
		for i < len(a) && isDigit(a[i]) && j < len(b) && isDigit(b[j]) {
			if first == 0 {
				first = int(a[i]) - int(b[j])
			}
			i++
			j++
		}
		if i < len(a) && isDigit(a[i]) {
			return 1
		}
		if j < len(b) && isDigit(b[j]) {
			return -1
		}
		if first != 0 {
			return sign(first)
		}
	}
	return 0
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}
