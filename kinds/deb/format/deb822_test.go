package format_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/deb/format"
)

const packagesText = `Package: hello-a
Version: 1.0
Architecture: all
Depends: hello-b (>= 2.0),
 libc6
Description: first line
 second line
 .
 after an empty line

  
Package: hello-b
version: 2:2.0-1   
Filename: pool/main/h/hello-b/hello-b_2.0-1_all.deb
`

func TestParseParagraphs(t *testing.T) {
	ps, err := format.ParseParagraphs(strings.NewReader(packagesText))
	require.NoError(t, err)
	require.Len(t, ps, 2)
	a, b := ps[0], ps[1]
	require.Equal(t, 1, a.Line)
	require.Equal(t, 12, b.Line)
	require.Equal(t, []string{"Package", "Version", "Architecture", "Depends", "Description"}, fieldNames(a), "field order kept")
	require.Equal(t, "hello-b (>= 2.0),\n libc6", a.Value("depends"), "case-insensitive lookup, continuation kept")
	require.Equal(t, "first line\n second line\n .\n after an empty line", a.Value("Description"))
	require.Equal(t, "2:2.0-1", b.Value("VERSION"), "surrounding whitespace trimmed")
	_, ok := b.Get("Depends")
	require.False(t, ok)

	// String writes the paragraph back as it was read.
	require.Equal(t, strings.Join(strings.Split(packagesText, "\n")[:9], "\n"), a.String())
	require.Equal(t, "Package: hello-a\nVersion: 1.0", a.Without("architecture", "Depends", "Description").String())

	// A Release file's lists: a field whose first line is empty.
	rel, err := format.ParseParagraphs(strings.NewReader("Suite: stable\nSHA256:\n abc 12 main/binary-all/Packages\n def 3 main/binary-all/Packages.gz\n"))
	require.NoError(t, err)
	require.Equal(t, "\n abc 12 main/binary-all/Packages\n def 3 main/binary-all/Packages.gz", rel[0].Value("sha256"))
	require.Equal(t, "Suite: stable\nSHA256:\n abc 12 main/binary-all/Packages\n def 3 main/binary-all/Packages.gz", rel[0].String())

	// No trailing newline, CRLF, blank lines before and after.
	ps, err = format.ParseParagraphs(strings.NewReader("\n\nA: 1\r\nB: 2"))
	require.NoError(t, err)
	require.Equal(t, "A: 1\nB: 2", ps[0].String())
	ps, err = format.ParseParagraphs(strings.NewReader(""))
	require.NoError(t, err)
	require.Empty(t, ps)
}

func TestParseParagraphsErrors(t *testing.T) {
	for text, want := range map[string]string{
		"A: 1\n continued\nB 2\n":                 "line 3: line is neither a field",
		" starts with a continuation\n":           "line 1: continuation line outside a field",
		"A: 1\na: 2\n":                            "line 2: field a given twice",
		"A: 1\n\n# comment\n":                     "line 3: comment lines",
		"A: 1\n: no name\n":                       "line 2: empty field name",
		"A: 1\nB\x01: x\n":                        "line 2: invalid character",
		"-A: 1\n":                                 "line 1: field name \"-A\" starts with -",
		"A: " + strings.Repeat("x", 2<<20) + "\n": "line 1: line longer than",
	} {
		_, err := format.ParseParagraphs(strings.NewReader(text))
		require.ErrorIs(t, err, format.ErrSyntax, "%.30q", text)
		require.ErrorContains(t, err, want, "%.30q", text)
	}
	_, err := format.ParseControl([]byte("Package: a\n\nPackage: b\n"))
	require.ErrorContains(t, err, "line 3: control file holds a second paragraph")
	_, err = format.ParseControl([]byte("\n\n"))
	require.ErrorContains(t, err, "holds no fields")
}

func TestReaderStreams(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 1000; i++ {
		b.WriteString("Package: p\nVersion: 1\n\n")
	}
	r := format.NewReader(strings.NewReader(b.String()))
	n := 0
	for {
		_, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		n++
	}
	require.Equal(t, 1000, n)
	_, err := r.Next()
	require.ErrorIs(t, err, io.EOF, "EOF stays")
}

func fieldNames(p format.Paragraph) []string {
	var out []string
	for _, f := range p.Fields {
		out = append(out, f.Name)
	}
	return out
}
