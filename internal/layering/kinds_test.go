package layering

import (
	"fmt"
	"sort"
	"strings"
	"testing"
)

// kindBlind are the core packages that know no content kind by its
// package: they reach the kinds through the interfaces they define, and
// the composition root (app) and the commands through kinds/all.
var kindBlind = []string{"api", "api/...", "content/...", "remote/...", "publish/...", "uploads/...", "tasks/...", "checkout/...", "app/...", "cmd/..."}

// kindLists are the kind packages kindBlind packages may import: the
// lists of kinds.
var kindLists = []string{"kinds/all/..."}

// TestCoreNamesNoKind fails on a kindBlind package importing a content
// kind's package (such as kinds/python/format) rather than reaching it
// through an interface.
func TestCoreNamesNoKind(t *testing.T) {
	mod, mine, _ := goList(t)
	graph := map[string][]string{}
	for _, p := range mine {
		for _, imp := range p.Imports {
			if imp == mod || strings.HasPrefix(imp, mod+"/") {
				graph[rel(mod, p.ImportPath)] = append(graph[rel(mod, p.ImportPath)], rel(mod, imp))
			}
		}
	}
	for _, pr := range kindImports(graph) {
		t.Error(pr)
	}
}

// kindImports lists the imports of kind packages by kindBlind packages
// in graph.
func kindImports(graph map[string][]string) []string {
	var out []string
	for pkg, deps := range graph {
		if !covered(kindBlind, pkg) {
			continue
		}
		for _, d := range deps {
			if (d == "kinds" || strings.HasPrefix(d, "kinds/")) && !covered(kindLists, d) {
				out = append(out, fmt.Sprintf("%s imports %s: the core reaches a kind through an interface it defines (an optional capability), which the kind implements and kinds/all lists", pkg, d))
			}
		}
	}
	sort.Strings(out)
	return out
}

// covered reports whether path is one of entries ("x", or "x/..." for x
// and below).
func covered(entries []string, path string) bool {
	for _, e := range entries {
		dir, all := strings.CutSuffix(e, "/...")
		if path == dir || all && strings.HasPrefix(path, dir+"/") {
			return true
		}
	}
	return false
}

func TestKindImportsFound(t *testing.T) {
	got := kindImports(map[string][]string{
		"content":        {"kinds/python/format", "repo"},
		"api/server":     {"kinds/python"},
		"cmd/pkgvc":      {"kinds/all", "kinds/all/commands"},
		"kinds/all":      {"kinds/python"},
		"repo/repotest":  {"kinds/file"},
		"remote/mirror":  {"kinds/container/format"},
		"application/go": {"kinds/python"},
	})
	want := []string{"api/server imports kinds/python", "content imports kinds/python/format", "remote/mirror imports kinds/container/format"}
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i], w) {
			t.Errorf("problem %d: got %q, want it to start %q", i, got[i], w)
		}
	}
}
