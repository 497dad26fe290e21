package layering

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pkgvc/pkgvc/kinds/all"
)

// The core never names a content kind: adding a kind is a folder under
// kinds/ and one line in kinds/all. Only the composition roots (app/,
// cmd/, bench/) may import kinds/all, and nothing outside kinds/ imports
// one kind's packages.
func TestCoreImportsNoKind(t *testing.T) {
	mod, mine, _ := goList(t)
	for _, p := range mine {
		path := rel(mod, p.ImportPath)
		if inKinds(path) {
			// A kind shares nothing with another but the core.
			own := kindOf(path)
			for _, imp := range p.Imports {
				if ip := rel(mod, imp); strings.HasPrefix(imp, mod+"/") && inKinds(ip) && own != "all" && kindOf(ip) != own {
					t.Errorf("%s imports %s: a kind shares nothing with another kind but the core", path, ip)
				}
			}
			continue
		}
		if isFixture(path) {
			continue
		}
		for _, imp := range p.Imports {
			ip := rel(mod, imp)
			if !inKinds(ip) || !strings.HasPrefix(imp, mod+"/") {
				continue
			}
			list := ip == "kinds/all" || strings.HasPrefix(ip, "kinds/all/")
			if list && isRoot(path) {
				continue
			}
			if list {
				t.Errorf("%s imports kinds/all: only the composition roots (app/, cmd/) list the kinds; take what the package needs as a parameter", path)
				continue
			}
			t.Errorf("%s imports %s: the core reaches a kind only through the interfaces it defines, wired by kinds/all", path, ip)
		}
	}
}

// TestCoreComparesNoKindName fails on code outside kinds/ that compares
// a kind's name, switches on it, or declares it as a default: the kinds
// decide their own behaviour, and kinds/all names the default.
func TestCoreComparesNoKindName(t *testing.T) {
	names := map[string]bool{}
	for _, n := range all.Kinds().Names() {
		names[n] = true
	}
	isKind := func(e ast.Expr) (string, bool) {
		lit, ok := e.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(lit.Value)
		return s, err == nil && names[s]
	}
	mod, mine, _ := goList(t)
	for _, p := range mine {
		if inKinds(rel(mod, p.ImportPath)) {
			continue
		}
		for _, f := range p.GoFiles {
			fn := filepath.Join(p.Dir, f)
			fset := token.NewFileSet()
			file, err := parser.ParseFile(fset, fn, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			report := func(n ast.Node, what, name string) {
				t.Errorf("%s: %s the kind name %q: let the kind decide (a capability it implements) or kinds/all name it", fset.Position(n.Pos()), what, name)
			}
			ast.Inspect(file, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.BinaryExpr:
					if n.Op == token.EQL || n.Op == token.NEQ {
						for _, side := range []ast.Expr{n.X, n.Y} {
							if k, ok := isKind(side); ok {
								report(n, "compares", k)
							}
						}
					}
				case *ast.SwitchStmt:
					if n.Tag == nil {
						break
					}
					for _, c := range n.Body.List {
						for _, e := range c.(*ast.CaseClause).List {
							if k, ok := isKind(e); ok {
								report(e, "switches on", k)
							}
						}
					}
				case *ast.ValueSpec:
					for i, v := range n.Values {
						if k, ok := isKind(v); ok && i < len(n.Names) && strings.Contains(strings.ToLower(n.Names[i].Name), "kind") {
							report(v, "declares", k)
						}
					}
				case *ast.CompositeLit:
					// A struct field Kind set to a kind, or a --kind flag's default.
					flagKind := false
					for _, el := range n.Elts {
						if kv, ok := el.(*ast.KeyValueExpr); ok {
							if key, ok := kv.Key.(*ast.Ident); ok && key.Name == "Name" {
								if lit, ok := kv.Value.(*ast.BasicLit); ok && lit.Value == `"kind"` {
									flagKind = true
								}
							}
						}
					}
					for _, el := range n.Elts {
						kv, ok := el.(*ast.KeyValueExpr)
						if !ok {
							continue
						}
						key, ok := kv.Key.(*ast.Ident)
						if !ok {
							continue
						}
						if k, ok := isKind(kv.Value); ok && (key.Name == "Kind" || flagKind && key.Name == "Value") {
							report(kv, "sets a default of", k)
						}
					}
				}
				return true
			})
		}
	}
}

// inKinds reports whether path (inside the module) is a kind's package or
// kinds/all.
func inKinds(path string) bool { return strings.HasPrefix(path, "kinds/") }

// kindOf is the kind whose folder holds path ("python" for
// kinds/python/format).
func kindOf(path string) string {
	k, _, _ := strings.Cut(strings.TrimPrefix(path, "kinds/"), "/")
	return k
}

// isFixture reports whether path is a package of test fixtures
// (repo/repotest), which may build stores of real kinds.
func isFixture(path string) bool { return strings.HasSuffix(path, "test") }

// isRoot reports whether path is a composition root, which may list the
// kinds.
func isRoot(path string) bool {
	for _, r := range []string{"app", "cmd", "bench"} {
		if path == r || strings.HasPrefix(path, r+"/") {
			return true
		}
	}
	return false
}
