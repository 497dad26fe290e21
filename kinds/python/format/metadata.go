package format

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Metadata is the part of a distribution's core metadata (METADATA in a
// wheel, PKG-INFO in an sdist) that pkgvc uses.
type Metadata struct {
	MetadataVersion string // Metadata-Version, as written
	Name            string // Name, as written (not normalized)
	Version         string // Version, as written (not normalized)
	RequiresPython  string // Requires-Python, whitespace folded
}

// maxRequiresPython bounds the Requires-Python field.
const maxRequiresPython = 1024

// ParseMetadata reads core metadata, an RFC 822 style header block. It is
// as lenient as Python's email parser about what it does not use (a line
// that is not a header ends the headers; the body is the description), and
// strict about what it does: Name must be a valid project name, Version a
// PEP 440 version, neither nor Requires-Python given twice, and
// Requires-Python free of control characters.
func ParseMetadata(data []byte) (*Metadata, error) {
	var m Metadata
	fields := map[string]*string{
		"metadata-version": &m.MetadataVersion,
		"name":             &m.Name,
		"version":          &m.Version,
		"requires-python":  &m.RequiresPython,
	}
	seen := map[string]bool{}
	var cur *string // the field being read, for continuation lines
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			break // the body
		}
		if line[0] == ' ' || line[0] == '\t' {
			if cur != nil {
				*cur += string(line)
			}
			continue
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !fieldName(line[:colon]) {
			break // not a header: what follows is the body
		}
		key := strings.ToLower(string(line[:colon]))
		cur = nil
		if p, ok := fields[key]; ok {
			if seen[key] {
				return nil, fmt.Errorf("%w: core metadata gives %s twice", ErrInvalid, line[:colon])
			}
			seen[key] = true
			*p = string(line[colon+1:])
			cur = p
		}
	}
	m.MetadataVersion = strings.TrimSpace(m.MetadataVersion)
	m.Name = strings.TrimSpace(m.Name)
	m.Version = strings.TrimSpace(m.Version)
	m.RequiresPython = strings.Join(strings.Fields(m.RequiresPython), " ")
	switch {
	case m.Name == "":
		return nil, fmt.Errorf("%w: core metadata has no Name", ErrInvalid)
	case !ValidName(m.Name):
		return nil, fmt.Errorf("%w: core metadata Name %q is not a valid project name", ErrInvalid, m.Name)
	case m.Version == "":
		return nil, fmt.Errorf("%w: core metadata has no Version", ErrInvalid)
	}
	if _, err := NormalizeVersion(m.Version); err != nil {
		return nil, fmt.Errorf("core metadata Version: %w", err)
	}
	if len(m.RequiresPython) > maxRequiresPython || !utf8.ValidString(m.RequiresPython) || strings.ContainsFunc(m.RequiresPython, isControl) {
		return nil, fmt.Errorf("%w: core metadata Requires-Python %.64q is not a version specifier", ErrInvalid, m.RequiresPython)
	}
	return &m, nil
}

// fieldName reports whether b is an RFC 5322 field name: printable ASCII
// without ':' or space.
func fieldName(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

func isControl(r rune) bool { return r < ' ' || r == 0x7f }
