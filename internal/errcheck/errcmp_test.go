package errcheck

import (
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/pkgvc/pkgvc/internal/golist"
)

type listed = golist.Package

// TestNoErrorComparison fails on any == or != (or switch case) between
// two errors in the module's non-test code, nil excepted.
func TestNoErrorComparison(t *testing.T) {
	mod, mine, pkgs, err := golist.Module("-deps", "-export")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("checking %d packages of %s", len(mine), mod)

	fset := token.NewFileSet()
	lookup := func(path string) (io.ReadCloser, error) {
		dep, ok := pkgs[path]
		if !ok || dep.Export == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(dep.Export)
	}
	// One importer: it keeps what it read for every package.
	imp := importer.ForCompiler(fset, "gc", lookup).(types.ImporterFrom)
	var problems []string
	for _, p := range mine {
		problems = append(problems, checkPackage(t, fset, imp, p)...)
	}
	for _, pr := range problems {
		t.Error(pr)
	}
}

// checkPackage type-checks p from source, its imports from their export
// data, and returns the error comparisons it finds.
func checkPackage(t *testing.T, fset *token.FileSet, imp types.ImporterFrom, p *listed) []string {
	var files []*ast.File
	for _, name := range append(append([]string{}, p.GoFiles...), p.CgoFiles...) {
		f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, 0)
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		files = append(files, f)
	}
	conf := types.Config{
		Importer: importerFunc(func(path string) (*types.Package, error) {
			if m, ok := p.ImportMap[path]; ok {
				path = m
			}
			return imp.ImportFrom(path, p.Dir, 0)
		}),
		Error: func(error) {}, // cgo and the like: check what type-checks
	}
	info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}}
	_, _ = conf.Check(p.ImportPath, fset, files, info)
	return errorComparisons(fset, files, info)
}

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }

var errorType = types.Universe.Lookup("error").Type().Underlying().(*types.Interface)

// isError reports whether e is a value (not the nil literal) whose type
// implements error.
func isError(info *types.Info, e ast.Expr) (ok, iface bool) {
	tv, found := info.Types[e]
	if !found || tv.IsNil() || tv.Type == nil {
		return false, false
	}
	if !types.Implements(tv.Type, errorType) && !types.Implements(types.NewPointer(tv.Type), errorType) {
		return false, false
	}
	return types.Implements(tv.Type, errorType), types.IsInterface(tv.Type)
}

// errorComparisons finds == and != between two errors, at least one of
// interface type, and switch statements whose tag and a case are such.
func errorComparisons(fset *token.FileSet, files []*ast.File, info *types.Info) []string {
	var out []string
	both := func(a, b ast.Expr) bool {
		ea, ia := isError(info, a)
		eb, ib := isError(info, b)
		return ea && eb && (ia || ib)
	}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BinaryExpr:
				if (n.Op == token.EQL || n.Op == token.NEQ) && both(n.X, n.Y) {
					out = append(out, fmt.Sprintf("%s: errors compared with %s: use errors.Is or errors.As", fset.Position(n.OpPos), n.Op))
				}
			case *ast.SwitchStmt:
				if n.Tag == nil {
					break
				}
				for _, s := range n.Body.List {
					for _, c := range s.(*ast.CaseClause).List {
						if both(n.Tag, c) {
							out = append(out, fmt.Sprintf("%s: error compared in a switch case: use errors.Is or errors.As", fset.Position(c.Pos())))
						}
					}
				}
			}
			return true
		})
	}
	return out
}
