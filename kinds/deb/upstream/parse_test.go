package upstream

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/deb/format"
)

const releaseText = `Origin: test
Suite: stable
Codename: bookworm
Date: Mon, 07 Dec 2026 10:00:00 UTC
Components: main
Architectures: amd64
SHA256:
 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 0 main/binary-amd64/Packages
 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 20 main/binary-amd64/Packages.gz
`

func TestParseRelease(t *testing.T) {
	now := time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)
	r, err := parseRelease([]byte(releaseText), "bookworm", now)
	require.NoError(t, err, "the codename names the suite too")
	require.Equal(t, "main/binary-amd64/Packages.gz", r.pickIndex("main", "amd64"), "compressed first")
	require.Equal(t, "", r.pickIndex("main", "arm64"))
	_, err = parseRelease([]byte(releaseText), "testing", now)
	require.ErrorContains(t, err, "not \"testing\"")
	_, err = parseRelease([]byte(releaseText+"Valid-Until: Mon, 07 Dec 2026 12:00:00 UTC\n"), "stable", now)
	require.ErrorContains(t, err, "expired")
	_, err = parseRelease([]byte(strings.Replace(releaseText, " 20 ", " x ", 1)), "stable", now)
	require.ErrorContains(t, err, "bad hash or size")
	_, err = parseRelease([]byte(strings.Split(releaseText, "SHA256:")[0]), "stable", now)
	require.ErrorContains(t, err, "no SHA256 list")
	_, err = parseRelease([]byte("Suite: stable\n\nSuite: other\n"), "stable", now)
	require.ErrorContains(t, err, "2 paragraphs")
}

const stanza = `Package: foo
Source: foo-src (1.0-1)
Version: 1:1.0-1
Architecture: amd64
Depends: libc6 (>= 2.34)
Filename: pool/main/f/foo-src/foo_1.0-1_amd64.deb
Size: 1234
MD5sum: 0123456789abcdef0123456789abcdef
SHA256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
Description: a foo
 with two lines
Description-md5: 0123456789abcdef0123456789abcdef
`

func oneParagraph(t *testing.T, text string) format.Paragraph {
	t.Helper()
	ps, err := format.ParseParagraphs(strings.NewReader(text))
	require.NoError(t, err)
	require.Len(t, ps, 1)
	return ps[0]
}

func TestParseEntry(t *testing.T) {
	e, err := parseEntry(oneParagraph(t, stanza), "main", "amd64")
	require.NoError(t, err)
	require.Equal(t, "pool/main/f/foo-src/foo_1.0-1_amd64.deb", e.PoolPath())
	require.Equal(t, "Package: foo\nSource: foo-src (1.0-1)\nVersion: 1:1.0-1\nArchitecture: amd64\nDepends: libc6 (>= 2.34)\nDescription: a foo\n with two lines", e.Control)
	m := e.metadata()
	require.Equal(t, "foo-src", m["Source"])
	require.NotContains(t, m, "SHA1", "no SHA1 in the stanza: none made up")

	for name, text := range map[string]string{
		"no SHA256":      strings.Replace(stanza, "SHA256: e3b0", "X-SHA256: e3b0", 1),
		"no Filename":    strings.Replace(stanza, "Filename:", "X-Filename:", 1),
		"no Version":     strings.Replace(stanza, "Version: 1:1.0-1\n", "", 1),
		"bad size":       strings.Replace(stanza, "Size: 1234", "Size: -1", 1),
		"short SHA256":   strings.Replace(stanza, "b855\n", "\n", 1),
		"traversal":      strings.Replace(stanza, "Filename: pool/", "Filename: ../../", 1),
		"absolute":       strings.Replace(stanza, "Filename: pool/", "Filename: /pool/", 1),
		"other arch":     strings.Replace(stanza, "Architecture: amd64", "Architecture: arm64", 1),
		"bad name":       strings.Replace(stanza, "Package: foo", "Package: Foo_", 1),
		"bad version":    strings.Replace(stanza, "Version: 1:1.0-1", "Version: v1", 1),
		"bad source":     strings.Replace(stanza, "Source: foo-src", "Source: ../x", 1),
		"bad md5":        strings.Replace(stanza, "MD5sum: 0123", "MD5sum: zz23", 1),
		"dotted segment": strings.Replace(stanza, "Filename: pool/main/", "Filename: pool/./main/", 1),
	} {
		_, err := parseEntry(oneParagraph(t, text), "main", "amd64")
		require.Error(t, err, name)
		require.Contains(t, strings.ToLower(err.Error()), "foo", "the error names the package: %s", name)
	}
}
