package layering

import (
	"strings"
	"testing"

	"github.com/pkgvc/pkgvc/internal/golist"
)

// listed is what `go list -json` says of a package.
type listed = golist.Package

// goList lists the module's packages (and, with deps, everything they
// import), each with its non-test files and imports.
func goList(t *testing.T, args ...string) (mod string, mine []*listed, all map[string]*listed) {
	t.Helper()
	mod, mine, all, err := golist.Module(args...)
	if err != nil {
		t.Fatal(err)
	}
	return mod, mine, all
}

// rel is p's path inside module mod ("" for the module's root package).
func rel(mod, p string) string {
	if p == mod {
		return ""
	}
	return strings.TrimPrefix(p, mod+"/")
}

// isInternal reports whether path (inside the module) is or is under an
// internal directory.
func isInternal(path string) bool {
	return path == "internal" || strings.HasPrefix(path, "internal/") ||
		strings.Contains(path, "/internal/") || strings.HasSuffix(path, "/internal")
}
