package format

import (
	"fmt"
	"strings"

	pep440 "github.com/aquasecurity/go-pep440-version"
)

// NormalizeName returns the PEP 503 normalized form of a project name:
// lower case, with each run of '-', '_' and '.' replaced by one '-'.
func NormalizeName(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	sep := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '-' || c == '_' || c == '.':
			sep = true
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if sep {
			b.WriteByte('-')
			sep = false
		}
		b.WriteByte(c)
	}
	if sep {
		b.WriteByte('-')
	}
	return b.String()
}

// IsNormalized reports whether name is its own NormalizeName.
func IsNormalized(name string) bool { return NormalizeName(name) == name }

// ValidName reports whether name is a valid project name (PEP 508): ASCII
// letters and digits, with '-', '_' and '.' inside but not at either end.
func ValidName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if alnum {
			continue
		}
		if (c != '-' && c != '_' && c != '.') || i == 0 || i == len(name)-1 {
			return false
		}
	}
	return true
}

// MaxVersionLen bounds a version string; PEP 440 sets no limit, but no real
// version comes near it.
const MaxVersionLen = 256

// ParseVersion parses a PEP 440 version (leniently, as pip does: a leading
// 'v', surrounding spaces, upper case and the alternative spellings of
// pre-, post- and dev-releases are accepted).
func ParseVersion(v string) (pep440.Version, error) {
	if len(v) > MaxVersionLen {
		return pep440.Version{}, fmt.Errorf("%w: version of %d bytes is too long", ErrInvalid, len(v))
	}
	pv, err := pep440.Parse(v)
	if err != nil {
		return pep440.Version{}, fmt.Errorf("%w: %q is not a PEP 440 version", ErrInvalid, v)
	}
	return pv, nil
}

// NormalizeVersion returns the PEP 440 normalized form of v, as
// packaging.version.Version's str() would.
func NormalizeVersion(v string) (string, error) {
	pv, err := ParseVersion(v)
	if err != nil {
		return "", err
	}
	return normalized(pv), nil
}

// CanonicalVersion returns one spelling for the versions PEP 440 calls
// equal: the normalized form with the release segment's trailing zeros
// dropped ("01.0", "1.0.0" and "1" all give "1"; "1.0.0rc1" gives "1rc1"),
// as packaging.utils.canonicalize_version does.
func CanonicalVersion(v string) (string, error) {
	n, err := NormalizeVersion(v)
	if err != nil {
		return "", err
	}
	epoch, rest := "", n
	if i := strings.IndexByte(n, '!'); i >= 0 {
		epoch, rest = n[:i+1], n[i+1:]
	}
	end := 0 // the release segment: N(.N)*
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; c >= '0' && c <= '9' {
			end = i + 1
		} else if c != '.' || end != i {
			break
		}
	}
	release := rest[:end]
	for strings.HasSuffix(release, ".0") {
		release = strings.TrimSuffix(release, ".0")
	}
	return epoch + release + rest[end:], nil
}

// normalized fixes up the library's String for the local segment, which
// PEP 440 normalizes too: separators become '.', numeric parts lose leading
// zeros.
func normalized(pv pep440.Version) string {
	local := pv.Local()
	if local == "" {
		return pv.String()
	}
	parts := strings.FieldsFunc(local, func(r rune) bool { return r == '-' || r == '_' || r == '.' })
	for i, p := range parts {
		if strings.Trim(p, "0123456789") == "" {
			if p = strings.TrimLeft(p, "0"); p == "" {
				p = "0"
			}
			parts[i] = p
		}
	}
	return pv.Public() + "+" + strings.Join(parts, ".")
}

// CompareVersions orders two versions as PEP 440 does (-1, 0 or +1).
// Invalid versions sort before valid ones, and among themselves as strings.
func CompareVersions(a, b string) int {
	va, erra := ParseVersion(a)
	vb, errb := ParseVersion(b)
	switch {
	case erra != nil && errb != nil:
		return strings.Compare(a, b)
	case erra != nil:
		return -1
	case errb != nil:
		return 1
	}
	return va.Compare(vb)
}

// sameNameVersion reports whether stem, a file name or directory name
// without its suffix, is "{name}-{version}" for a name and version that
// normalize to those given (normalized already). Names may hold '-', so
// every split is tried.
func sameNameVersion(stem, name, version string) bool {
	for i := 0; i < len(stem); i++ {
		if stem[i] != '-' {
			continue
		}
		if NormalizeName(stem[:i]) != name {
			continue
		}
		if v, err := NormalizeVersion(stem[i+1:]); err == nil && v == version {
			return true
		}
	}
	return false
}
