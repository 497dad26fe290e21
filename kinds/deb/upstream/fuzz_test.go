package upstream

import (
	"strings"
	"testing"
	"time"
)

// FuzzPackages feeds arbitrary text to the Packages reader and stanza
// checks: an error or entries, never a panic, and every entry accepted
// has a safe pool path.
func FuzzPackages(f *testing.F) {
	f.Add(stanza)
	f.Add(stanza + "\n" + strings.Replace(stanza, "foo", "bar", -1))
	f.Add("Package: a\n b\n\n\n")
	f.Fuzz(func(t *testing.T, text string) {
		_ = readParagraphs(strings.NewReader(text), func(p paragraph) error {
			e, err := parseEntry(p, "main", "amd64")
			if err != nil {
				return nil
			}
			pp := e.PoolPath()
			if strings.Contains(pp, "..") || strings.Contains(pp, "//") || !strings.HasPrefix(pp, "pool/main/") {
				t.Fatalf("unsafe pool path %q", pp)
			}
			_, _ = parseRelations(e.Depends)
			_, _ = parseRelations(e.Provides)
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

// FuzzVersions checks dpkg ordering is antisymmetric and never panics.
func FuzzVersions(f *testing.F) {
	f.Add("1:1.0-1", "1.0~rc1")
	f.Add("1.0", "1.0")
	f.Fuzz(func(t *testing.T, a, b string) {
		if compareVersions(a, b) != -compareVersions(b, a) {
			t.Fatalf("%q vs %q is not antisymmetric", a, b)
		}
		_, _ = parseRelations(a)
	})
}
