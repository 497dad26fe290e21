package upstream

import (
	"strings"
	"testing"
	"time"
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
