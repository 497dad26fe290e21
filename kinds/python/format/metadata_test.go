package format_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/python/format"
)

func TestParseMetadata(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     format.Metadata
	}{
		{"plain", "Metadata-Version: 2.1\nName: alpha\nVersion: 1.0\nRequires-Python: >=3.7\n\nBody: not a header\n",
			format.Metadata{MetadataVersion: "2.1", Name: "alpha", Version: "1.0", RequiresPython: ">=3.7"}},
		{"crlf and case", "metadata-version: 2.3\r\nNAME:Foo.Bar\r\nversion:   1.0.0  \r\n\r\n",
			format.Metadata{MetadataVersion: "2.3", Name: "Foo.Bar", Version: "1.0.0"}},
		{"folded", "Name: a\nVersion: 1\nRequires-Python: >=3.8,\n   <4\nSummary: x\n",
			format.Metadata{Name: "a", Version: "1", RequiresPython: ">=3.8, <4"}},
		{"repeatable fields", "Name: a\nVersion: 1\nRequires-Dist: b\nRequires-Dist: c\nClassifier: x\nClassifier: y\n",
			format.Metadata{Name: "a", Version: "1"}},
		{"no trailing newline", "Name: a\nVersion: 2", format.Metadata{Name: "a", Version: "2"}},
		// Python's email parser ends the headers at a line that is not one.
		{"body without blank line", "Name: a\nVersion: 1\nthis is the description\nName: b\n", format.Metadata{Name: "a", Version: "1"}},
		{"description field folded", "Name: a\nDescription: line one\n        |line two\nVersion: 3\n", format.Metadata{Name: "a", Version: "3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := format.ParseMetadata([]byte(tc.in))
			require.NoError(t, err)
			require.Equal(t, tc.want, *m)
		})
	}

	for name, in := range map[string]string{
		"no name":            "Version: 1.0\n",
		"no version":         "Name: a\n",
		"empty name":         "Name: \nVersion: 1\n",
		"bad name":           "Name: a b\nVersion: 1\n",
		"bad version":        "Name: a\nVersion: one\n",
		"two names":          "Name: a\nName: b\nVersion: 1\n",
		"two versions":       "Name: a\nVersion: 1\nVersion: 2\n",
		"two requires":       "Name: a\nVersion: 1\nRequires-Python: >=3\nRequires-Python: <4\n",
		"control char":       "Name: a\nVersion: 1\nRequires-Python: >=3\x01\n",
		"bad utf-8":          "Name: a\nVersion: 1\nRequires-Python: >=3\xff\n",
		"name in body":       "Version: 1\n\nName: a\n",
		"huge requires":      "Name: a\nVersion: 1\nRequires-Python: " + strings.Repeat(">=3,", 1000) + "\n",
		"empty":              "",
		"header after junk":  "junk\nName: a\nVersion: 1\n",
		"space in field key": "Na me: a\nName: a\n",
	} {
		_, err := format.ParseMetadata([]byte(in))
		require.ErrorIs(t, err, format.ErrInvalid, name)
	}
}
