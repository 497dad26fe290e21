package format

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a dpkg version, [epoch:]upstream[-revision] (Debian policy
// 5.6.12).
type Version struct {
	Epoch    uint32
	Upstream string
	Revision string // "" when the version has none
}

// maxEpoch is the largest epoch dpkg accepts (INT_MAX).
const maxEpoch = 1<<31 - 1

// ParseVersion parses and checks a dpkg version as dpkg does: the epoch
// is a number, the upstream version starts with a digit and holds only
// alphanumerics and . + ~ - (a hyphen only when there is a revision) and
// : (only after an epoch), the revision only alphanumerics and . + ~.
func ParseVersion(s string) (Version, error) {
	var v Version
	if s == "" {
		return v, fmt.Errorf("empty version")
	}
	if strings.TrimSpace(s) != s || strings.ContainsAny(s, " \t\n\r") {
		return v, fmt.Errorf("version %q holds whitespace", s)
	}
	rest := s
	if e, r, ok := strings.Cut(s, ":"); ok {
		if e == "" {
			return v, fmt.Errorf("version %q: empty epoch", s)
		}
		n, err := strconv.ParseUint(e, 10, 32)
		if err != nil || !allDigits(e) || n > maxEpoch {
			return v, fmt.Errorf("version %q: epoch %q is not a number up to %d", s, e, maxEpoch)
		}
		v.Epoch, rest = uint32(n), r
	}
	up := rest
	if i := strings.LastIndexByte(rest, '-'); i >= 0 {
		up, v.Revision = rest[:i], rest[i+1:]
		if v.Revision == "" {
			return v, fmt.Errorf("version %q: empty revision", s)
		}
	}
	if up == "" {
		return v, fmt.Errorf("version %q: empty upstream version", s)
	}
	if up[0] < '0' || up[0] > '9' {
		return v, fmt.Errorf("version %q: upstream version does not start with a digit", s)
	}
	for _, c := range []byte(up) {
		if !isAlnum(c) && !strings.ContainsRune(".+~-:", rune(c)) {
			return v, fmt.Errorf("version %q: invalid character %q in upstream version", s, c)
		}
	}
	for _, c := range []byte(v.Revision) {
		if !isAlnum(c) && !strings.ContainsRune(".+~", rune(c)) {
			return v, fmt.Errorf("version %q: invalid character %q in revision", s, c)
		}
	}
	v.Upstream = up
	return v, nil
}

// String spells v as dpkg does, the epoch only when not zero or when the
// upstream version holds a colon (which only an epoch allows).
func (v Version) String() string {
	s := v.Upstream
	if v.Epoch != 0 || strings.Contains(s, ":") {
		s = strconv.FormatUint(uint64(v.Epoch), 10) + ":" + s
	}
	if v.Revision != "" {
		s += "-" + v.Revision
	}
	return s
}

// NoEpoch is the version as pool file names spell it, without its epoch.
func (v Version) NoEpoch() string {
	if v.Revision == "" {
		return v.Upstream
	}
	return v.Upstream + "-" + v.Revision
}

// Compare orders a and b as dpkg does: -1, 0 or +1.
func (v Version) Compare(w Version) int {
	switch {
	case v.Epoch < w.Epoch:
		return -1
	case v.Epoch > w.Epoch:
		return 1
	}
	if c := compareFragment(v.Upstream, w.Upstream); c != 0 {
		return c
	}
	return compareFragment(v.Revision, w.Revision)
}

// CompareVersions orders two version strings as `dpkg --compare-versions`
// does; a version that does not parse sorts before one that does, and two
// that do not parse compare as strings.
func CompareVersions(a, b string) int {
	va, ea := ParseVersion(a)
	vb, eb := ParseVersion(b)
	switch {
	case ea != nil && eb != nil:
		return strings.Compare(a, b)
	case ea != nil:
		return -1
	case eb != nil:
		return 1
	}
	return va.Compare(vb)
}

// compareFragment is dpkg's verrevcmp: alternating runs of non-digits,
// compared character by character with order, and of digits, compared as
// numbers (of any length).
func compareFragment(a, b string) int {
	for a != "" || b != "" {
		// Non-digit prefix.
		for (a != "" && !isDigit(a[0])) || (b != "" && !isDigit(b[0])) {
			ac, bc := 0, 0
			if a != "" && !isDigit(a[0]) {
				ac = order(a[0])
			}
			if b != "" && !isDigit(b[0]) {
				bc = order(b[0])
			}
			if ac != bc {
				return sign(ac - bc)
			}
			if a != "" && !isDigit(a[0]) {
				a = a[1:]
			}
			if b != "" && !isDigit(b[0]) {
				b = b[1:]
			}
		}
		// Digit run, as numbers: leading zeros dropped, then the longer
		// run is larger, else the first different digit decides.
		da, db := digitRun(a), digitRun(b)
		a, b = a[len(da):], b[len(db):]
		da, db = strings.TrimLeft(da, "0"), strings.TrimLeft(db, "0")
		if len(da) != len(db) {
			return sign(len(da) - len(db))
		}
		if c := strings.Compare(da, db); c != 0 {
			return c
		}
	}
	return 0
}

// order is dpkg's character weight: ~ before the end of a string, the end
// before letters, letters before everything else.
func order(c byte) int {
	switch {
	case isDigit(c):
		return 0
	case isAlpha(c):
		return int(c)
	case c == '~':
		return -1
	}
	return int(c) + 256
}

func digitRun(s string) string {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return s[:i]
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

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }

func allDigits(s string) bool {
	for _, c := range []byte(s) {
		if !isDigit(c) {
			return false
		}
	}
	return s != ""
}
