package app_test

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// rootOnly are the constructors whose values a process must have once:
// only the composition root (this package) may call them, and it hands
// the one value to every server.
var rootOnly = []struct {
	pkg, name string
	why       string
}{
	{"github.com/pkgvc/pkgvc/auth", "NewLimiter", "a limiter per server gives a password guesser a budget per server"},
	{"github.com/pkgvc/pkgvc/uploads", "New", "an engine per server sweeps, counts and claims sessions on its own: the process's servers must share one"},
}

const rootPkg = "github.com/pkgvc/pkgvc/app"

// constructorUses returns "file:line: pkg.name" for every reference to a
// rootOnly constructor in f, whose package is pkgPath.
func constructorUses(fset *token.FileSet, f *ast.File, pkgPath string) []string {
	imports := map[string]string{} // local name -> import path
	var dots []string              // paths imported with "."
	for _, is := range f.Imports {
		p, _ := strconv.Unquote(is.Path.Value)
		name := path.Base(p)
		if is.Name != nil {
			name = is.Name.Name
		}
		if name == "." {
			dots = append(dots, p)
			continue
		}
		imports[name] = p
	}
	var uses []string
	report := func(n ast.Node, pkg, name string) {
		for _, c := range rootOnly {
			if c.pkg == pkg && c.name == name {
				uses = append(uses, fset.Position(n.Pos()).String()+": "+pkg+"."+name+" ("+c.why+")")
			}
		}
	}
	sels := map[*ast.Ident]bool{} // x.Name: not the package's own Name
	decls := map[*ast.Ident]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CompositeLit:
			// T{Name: v}: a field's name, unresolved as a use would be.
			for _, e := range n.Elts {
				if kv, ok := e.(*ast.KeyValueExpr); ok {
					if id, ok := kv.Key.(*ast.Ident); ok {
						sels[id] = true
					}
				}
			}
		case *ast.SelectorExpr:
			sels[n.Sel] = true
			if x, ok := n.X.(*ast.Ident); ok {
				if p, ok := imports[x.Name]; ok {
					report(n, p, n.Sel.Name)
				}
			}
		case *ast.FuncDecl:
			decls[n.Name] = true
		}
		return true
	})
	// A use inside the constructor's own package: an identifier that no
	// declaration of this file shadows (declared in another file, it is
	// unresolved here). An unresolved one may as well come from a package
	// imported with ".".
	ast.Inspect(f, func(n ast.Node) bool {
		id, ok := n.(*ast.Ident)
		if !ok || sels[id] || decls[id] {
			return true
		}
		if id.Obj == nil || id.Obj.Kind == ast.Fun {
			report(id, pkgPath, id.Name)
		}
		if id.Obj == nil {
			for _, p := range dots {
				report(id, p, id.Name)
			}
		}
		return true
	})
	return uses
}

// TestRootOnlyConstructors: the module's non-test code calls the
// constructors of rootOnly in the composition root only.
func TestRootOnlyConstructors(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	mod := modulePath(t, filepath.Join(root, "go.mod"))
	fset := token.NewFileSet()
	var bad []string
	files := 0
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(p))
		pkgPath := mod
		if rel != "." {
			pkgPath += "/" + filepath.ToSlash(rel)
		}
		if pkgPath == rootPkg {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			return err
		}
		files++
		bad = append(bad, constructorUses(fset, f, pkgPath)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("checked only %d files under %s", files, root)
	}
	for _, b := range bad {
		t.Errorf("%s: call it in package app only", b)
	}
}

// The check sees a call through any import name, a dot import, a
// function value, and a call inside the constructor's own package.
func TestConstructorUsesFound(t *testing.T) {
	for _, tc := range []struct {
		pkg, src string
		want     int
	}{
		{"example.com/x", `package x
import lim "github.com/pkgvc/pkgvc/auth"
var f = lim.NewLimiter
func g() { lim.NewLimiter(1, 0, 0) }`, 2},
		{"github.com/pkgvc/pkgvc/auth", `package auth
func NewLimiter(int) int { return 0 }
func g() { NewLimiter(1) }`, 1},
		{"github.com/pkgvc/pkgvc/auth", `package auth
func g() { NewLimiter(1); x.NewLimiter(2) }`, 1},
		{"example.com/x", `package x
import "github.com/pkgvc/pkgvc/auth"
func g() { auth.New(nil); var NewLimiter = 1; _ = NewLimiter }`, 0},
		{"github.com/pkgvc/pkgvc/uploads", `package uploads
type Blob struct{ New bool }
func g(res Blob) Blob { return Blob{New: res.New} }`, 0},
		{"github.com/pkgvc/pkgvc/uploads", `package uploads
func g() any { return []any{New(nil)} }`, 1},
		{"github.com/pkgvc/pkgvc/content", `package content
import . "github.com/pkgvc/pkgvc/auth"
var second = NewLimiter(10, 0, 0)`, 1},
		{"example.com/x", `package x
import . "github.com/pkgvc/pkgvc/uploads"
var f = New`, 1},
		{"example.com/x", `package x
import . "github.com/pkgvc/pkgvc/auth"
func g() { var NewLimiter = 1; _ = NewLimiter }`, 0},
	} {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, "x.go", tc.src, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := constructorUses(fset, f, tc.pkg); len(got) != tc.want {
			t.Errorf("%s: found %q, want %d", tc.src, got, tc.want)
		}
	}
}

func modulePath(t *testing.T, gomod string) string {
	t.Helper()
	fh, err := os.Open(gomod)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if m, ok := strings.CutPrefix(sc.Text(), "module "); ok {
			return strings.TrimSpace(m)
		}
	}
	t.Fatal("no module line in go.mod")
	return ""
}
