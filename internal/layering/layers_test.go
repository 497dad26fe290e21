package layering

import (
	"fmt"
	pathpkg "path"
	"sort"
	"strings"
	"testing"
)

// layer is a set of packages at one height. A package may import the
// packages of any layer below its own, and, within its layer, only those
// its own entry covers (repo/tree may not import repo: each has its own
// entry); entries of one layer are independent of each other.
type layer struct {
	name string
	// pkgs are paths inside the module: "x" is package x alone, "x/..."
	// is x and every package below it. A package belongs to the most
	// specific entry that covers it, wherever it is in the table.
	pkgs []string
}

// layers is the module's table, bottom first. To add a package, put it
// (or the directory it starts) in the lowest layer above everything it
// imports; a package that must not import another of its layer gets an
// entry of its own.
var layers = []layer{
	{"helpers", []string{"internal/...", "httpx/...", "options/..."}},
	{"objects", []string{"objects/..."}},
	{"storage", []string{"refs/...", "meta/...", "repo/tree/..."}},
	// Beside the storage: what keeps its documents in meta, or reads
	// trees, and needs no repository.
	{"beside storage", []string{"auth/...", "keys/..."}},
	// The file formats of the content kinds, read without a repository.
	// A kind that follows the layout of docs/kinds.md needs no row: the
	// patterns place its folders.
	{"kind formats", []string{"kinds/*/format/...", "kinds/file/pulpmanifest/..."}},
	{"repo", []string{"repo/..."}},
	// Each kind's validation of its packages (repo.Kind).
	{"content kinds", []string{"kinds/*", "kinds/python/simplepage/..."}},
	// Engines over repositories: the storage-level porcelain beside repo
	// (uploads, the store-location registry) and what builds on it.
	{"engines", []string{"uploads/...", "location/...", "dist/...", "publish", "remote/...", "tasks/..."}},
	{"serving", []string{"checkout/...", "content/..."}},
	// Each kind's upstream, publication and routes: they check out (file)
	// and serve (container).
	{"kind plugins", []string{"kinds/*/upstream/...", "kinds/*/publication/...", "kinds/container/registry/..."}},
	// The list of kinds.
	{"kind list", []string{"kinds/all/..."}},
	{"api", []string{"api"}},
	{"api wire", []string{"api/wire/..."}},
	{"api implementations", []string{"api/local/...", "api/server/...", "api/client/..."}},
	// The commands content kinds bring to the command line, built on api,
	// and their list.
	{"kind commands", []string{"kinds/*/*cli/..."}},
	{"kind command list", []string{"kinds/all/commands/..."}},
	{"composition root", []string{"app/..."}},
	{"commands", []string{"cmd/...", "bench/..."}},
}

// TestImportsFlowDown fails on a package of the module that imports one
// above it (or a peer entry of its layer), and on a package the table
// does not place.
func TestImportsFlowDown(t *testing.T) {
	mod, mine, _ := goList(t)
	graph := map[string][]string{}
	for _, p := range mine {
		var deps []string
		for _, imp := range p.Imports {
			if m, ok := p.ImportMap[imp]; ok {
				imp = m
			}
			if imp == mod || strings.HasPrefix(imp, mod+"/") {
				deps = append(deps, rel(mod, imp))
			}
		}
		graph[rel(mod, p.ImportPath)] = deps
	}
	for _, pr := range checkLayers(layers, graph) {
		t.Error(pr)
	}
}

// place returns the layer and entry of path: the most specific entry that
// covers it (the longest directory; "x" before "x/..."); ok is false when
// none does.
func place(table []layer, path string) (level int, entry string, ok bool) {
	best := -1
	for i, l := range table {
		for _, e := range l.pkgs {
			dir, all := strings.CutSuffix(e, "/...")
			if covers(dir, all, path) {
				score := 2 * len(dir)
				if !all {
					score++
				}
				if score > best {
					best, level, entry, ok = score, i, e, true
				}
			}
		}
	}
	return level, entry, ok
}

// covers reports whether the entry dir (its segments may be path.Match
// patterns: "kinds/*/format", the same folder of every kind), with all
// for "/...", covers path.
func covers(dir string, all bool, path string) bool {
	want, got := strings.Split(dir, "/"), strings.Split(path, "/")
	if len(got) < len(want) || !all && len(got) != len(want) {
		return false
	}
	for i, w := range want {
		if ok, _ := pathpkg.Match(w, got[i]); !ok {
			return false
		}
	}
	return true
}

// checkLayers returns what breaks table in graph (package path → the
// module packages it imports).
func checkLayers(table []layer, graph map[string][]string) []string {
	var out, unknown []string
	for pkg, deps := range graph {
		lp, ep, ok := place(table, pkg)
		if !ok {
			unknown = append(unknown, fmt.Sprintf("%s (imports %s)", pkg, strings.Join(deps, ", ")))
			continue
		}
		for _, dep := range deps {
			ld, ed, ok := place(table, dep)
			switch {
			case !ok:
				// Reported as unknown itself.
			case ld > lp:
				out = append(out, fmt.Sprintf("%s (layer %q) imports %s of layer %q above it: imports flow down: move what it uses down, or have the layer above pass it in",
					pkg, table[lp].name, dep, table[ld].name))
			case ld == lp && ed != ep:
				out = append(out, fmt.Sprintf("%s (%s) imports %s (%s), another entry of layer %q: entries of a layer are independent; give one a layer of its own in layers_test.go if it really builds on the other",
					pkg, ep, dep, ed, table[lp].name))
			}
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		out = append(out, fmt.Sprintf("packages in no layer: add each to the table in internal/layering/layers_test.go, in the lowest layer above everything it imports:\n\t%s",
			strings.Join(unknown, "\n\t")))
	}
	sort.Strings(out)
	return out
}

// The checker finds an upward import, an import between two entries of
// one layer and a package the table does not place, and accepts imports
// down and within an entry.
func TestCheckLayers(t *testing.T) {
	table := []layer{
		{"low", []string{"a/...", "b"}},
		{"high", []string{"c/..."}},
		{"top", []string{"a/special", "e/..."}},
		{"above e", []string{"e"}},
	}
	graph := map[string][]string{
		"a":         nil,
		"a/x":       {"a"},             // within an entry: fine
		"c":         {"a", "a/x", "b"}, // down: fine
		"a/special": {"c"},             // the most specific entry places it on top: fine
		"b":         {"c"},             // up
		"a/y":       {"b"},             // peer entry
		"d":         {"a"},             // unknown
		"e":         {"e/x"},           // "e" before "e/...": fine
	}
	got := checkLayers(table, graph)
	if len(got) != 3 {
		t.Fatalf("want 3 problems, got %d:\n%s", len(got), strings.Join(got, "\n"))
	}
	for i, want := range []string{"a/y (a/...) imports b (b)", "b (layer \"low\") imports c", "packages in no layer"} {
		if !strings.HasPrefix(got[i], want) {
			t.Errorf("problem %d: got %q, want it to start %q", i, got[i], want)
		}
	}
	if !strings.Contains(got[2], "\td (imports a)") {
		t.Errorf("the unknown package is not named: %q", got[2])
	}
}
