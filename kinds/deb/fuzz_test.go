package deb_test

import (
	"strings"
	"testing"

	"github.com/pkgvc/pkgvc/kinds/deb"
	"github.com/pkgvc/pkgvc/kinds/deb/format"
	"github.com/pkgvc/pkgvc/objects"
)

// FuzzRecordMetadata: a Packages stanza or control file either is refused
// or gives metadata whose control text parses back to the same fields,
// without the index's own fields, and a pool path the kind accepts.
func FuzzRecordMetadata(f *testing.F) {
	f.Add("Package: hello-a\nVersion: 1:1.0-1\nArchitecture: all\nSource: hello (1.0)\nDepends: hello-b (>= 2.0)\nFilename: pool/main/h/hello/hello-a_1.0-1_all.deb\nSize: 12\nSHA256: ab\nDescription: x\n y\n")
	f.Add("Package: libx1\nVersion: 2.0~rc1\nArchitecture: amd64\n")
	f.Add("Package: a\nVersion: 1\n")
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := format.ParseParagraphs(strings.NewReader(s))
		if err != nil || len(ps) == 0 {
			return
		}
		meta, err := deb.RecordMetadata(ps[0])
		if err != nil {
			return
		}
		ctl, err := format.ParseControl([]byte(meta[deb.MetaControl]))
		if err != nil {
			t.Fatalf("control %q does not parse: %v", meta[deb.MetaControl], err)
		}
		for _, f := range deb.IndexFields {
			if _, ok := ctl.Get(f); ok {
				t.Fatalf("control keeps index field %s", f)
			}
		}
		if ctl.Value("Package") != meta[deb.MetaPackage] || ctl.Value("Version") != meta[deb.MetaVersion] {
			t.Fatalf("metadata %v disagrees with its control", meta)
		}
		p, err := deb.Kind{}.Place("x.deb", meta, nil)
		if err != nil {
			t.Fatalf("valid metadata %v not placed: %v", meta, err)
		}
		if err := (deb.Kind{}).CheckPath(p); err != nil {
			t.Fatalf("placed at %s, refused: %v", p, err)
		}
		// Committed again by digest (a sync, a copy), it is taken.
		if err := (deb.Kind{}).CheckDigest(p, objects.ID{}, meta); err != nil {
			t.Fatalf("metadata %v at %s refused by digest: %v", meta, p, err)
		}
	})
}
