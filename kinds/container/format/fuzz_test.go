package format_test

import (
	"encoding/json"
	"testing"

	"github.com/pkgvc/pkgvc/kinds/container/format"
)

// FuzzParse checks that Parse never panics and that what it accepts is
// consistent: every descriptor has a supported digest and a media type.
func FuzzParse(f *testing.F) {
	f.Add("", []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`))
	f.Fuzz(func(t *testing.T, ct string, data []byte) {
		m, err := format.Parse(ct, data)
		if err != nil {
			return
		}
		if !format.IsManifestType(m.MediaType) {
			t.Fatalf("accepted media type %q", m.MediaType)
		}
		all := append(m.Blobs(), m.Manifests...)
		if m.Subject != nil {
			all = append(all, *m.Subject)
		}
		for _, d := range all {
			if _, err := format.ParseDigest(d.Digest); err != nil || d.MediaType == "" || d.Size < 0 {
				t.Fatalf("accepted descriptor %+v", d)
			}
		}
		if _, err := json.Marshal(m); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzParseDigest checks that an accepted digest is a sha256 one.
func FuzzParseDigest(f *testing.F) {
	f.Add("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	f.Fuzz(func(t *testing.T, d string) {
		hx, err := format.ParseDigest(d)
		if err == nil && (len(hx) != 64 || d != "sha256:"+hx) {
			t.Fatalf("accepted %q as %q", d, hx)
		}
	})
}
