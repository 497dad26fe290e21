package upstream

import (
	"strings"
	"testing"
	"time"

	"github.com/pkgvc/pkgvc/kinds/deb"
	"github.com/pkgvc/pkgvc/objects"
)

// FuzzPackages feeds arbitrary text to the stanza checks: an error or
// entries, never a panic, and every entry accepted has a safe pool path.
func FuzzPackages(f *testing.F) {
	f.Add(stanza)
	f.Add(stanza + "\n" + strings.Replace(stanza, "foo", "bar", -1))
	f.Add("Package: a\n b\n\n\n")
	f.Fuzz(func(t *testing.T, text string) {
		_ = readEntries(strings.NewReader(text), "main", "amd64", func(e *entry) error {
			pp := e.PoolPath()
			if strings.Contains(pp, "..") || strings.Contains(pp, "//") || !strings.HasPrefix(pp, "pool/main/") {
				t.Fatalf("unsafe pool path %q", pp)
			}
			// The commit of the sync takes the record it makes.
			if err := (deb.Kind{}).CheckDigest(pp, objects.ID{}, e.metadata()); err != nil {
				t.Fatalf("entry %+v: record refused: %v", e, err)
			}
			return nil
		})
	})
}

// FuzzRelease checks the Release reader never panics.
func FuzzRelease(f *testing.F) {
	f.Add(releaseText)
	f.Fuzz(func(t *testing.T, text string) {
		_, _ = parseRelease([]byte(text), "stable", time.Now())
	})
}
