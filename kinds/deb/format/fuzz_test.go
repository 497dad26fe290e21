package format_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/pkgvc/pkgvc/kinds/deb/format"
	"github.com/pkgvc/pkgvc/kinds/deb/format/debtest"
)

// FuzzParseParagraphs: any input parses or fails with ErrSyntax, and what
// parses writes back to text that parses to the same fields.
func FuzzParseParagraphs(f *testing.F) {
	f.Add(packagesText)
	f.Add(helloControl)
	f.Add("Suite: stable\nSHA256:\n abc 12 main/binary-all/Packages\n")
	f.Add("A: 1\n\n\n B")
	f.Add("A:\n\t.\n")
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := format.ParseParagraphs(strings.NewReader(s))
		if err != nil {
			if !strings.Contains(err.Error(), "line ") {
				t.Fatalf("error without a line number: %v", err)
			}
			return
		}
		for _, p := range ps {
			again, err := format.ParseControl([]byte(p.String()))
			if err != nil {
				t.Fatalf("%q written back as %q: %v", s, p.String(), err)
			}
			if again.String() != p.String() {
				t.Fatalf("round trip changed %q to %q", p.String(), again.String())
			}
		}
	})
}

// FuzzReadDeb: any bytes are a .deb or an error, never a panic.
func FuzzReadDeb(f *testing.F) {
	// Compressed seeds only: the fuzzer slows down a lot on inputs of a
	// few KiB, which plain tar members are.
	spec := debtest.Spec{Package: "x", Version: "1.0", Architecture: "all", Gzip: true}
	f.Add(spec.Bytes())
	f.Add([]byte("!<arch>\n"))
	f.Add(debtest.Ar([]debtest.Member{{Name: "debian-binary", Data: []byte("2.0\n")}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = format.ReadDeb(context.Background(), bytes.NewReader(b), int64(len(b)), format.Limits{ControlTar: 1 << 20, DataTar: 1 << 20})
	})
}

// FuzzReadAr: members read always lie within the file.
func FuzzReadAr(f *testing.F) {
	f.Add(debtest.Ar([]debtest.Member{{Name: "a", Data: []byte("odd")}, {Name: "b/", Data: []byte("even")}}))
	f.Add([]byte("!<arch>\nx"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, err := format.ReadAr(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		for _, m := range ms {
			if m.Offset < 0 || m.Size < 0 || m.Offset+m.Size > int64(len(b)) {
				t.Fatalf("member %+v outside a file of %d bytes", m, len(b))
			}
		}
	})
}

// FuzzCompareVersions: the order is antisymmetric and agrees with
// equality of the parsed versions.
func FuzzCompareVersions(f *testing.F) {
	for _, p := range versionPairs {
		f.Add(p.a, p.b)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, ba := format.CompareVersions(a, b), format.CompareVersions(b, a)
		if ab != -ba || ab < -1 || ab > 1 {
			t.Fatalf("compare(%q, %q) = %d, compare(%q, %q) = %d", a, b, ab, b, a, ba)
		}
		if format.CompareVersions(a, a) != 0 {
			t.Fatalf("%q differs from itself", a)
		}
		if v, err := format.ParseVersion(a); err == nil {
			if again, err := format.ParseVersion(v.String()); err != nil || again.Compare(v) != 0 {
				t.Fatalf("%q spelled %q: %v", a, v.String(), err)
			}
		}
	})
}

// FuzzParseRelations: any field parses or fails, and what parses writes
// back to text that parses the same.
func FuzzParseRelations(f *testing.F) {
	f.Add("libc6 (>= 2.34), a | b:any [amd64 !i386] <!nocheck>")
	f.Add("a (>2),")
	f.Fuzz(func(t *testing.T, s string) {
		rs, err := format.ParseRelations(s)
		if err != nil {
			return
		}
		again, err := format.ParseRelations(rs.String())
		if err != nil || again.String() != rs.String() {
			t.Fatalf("%q written as %q: %v", s, rs.String(), err)
		}
	})
}
