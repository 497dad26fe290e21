package layering

import (
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"testing"
)

// checkSnippet type-checks src as package example.com/m/pub, with
// example.com/m/internal/x available, and returns internalMentions.
func checkSnippet(t *testing.T, src string) []string {
	t.Helper()
	fset := token.NewFileSet()
	parse := func(name, s string) *ast.File {
		f, err := parser.ParseFile(fset, name, s, 0)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	xf := parse("x.go", "package x\n\ntype T struct{ A int }\n\ntype C interface{ ~int }\n")
	x, err := (&types.Config{Importer: importer.Default()}).Check("example.com/m/internal/x", fset, []*ast.File{xf}, nil)
	if err != nil {
		t.Fatal(err)
	}
	imp := importerFunc(func(path string) (*types.Package, error) {
		if path == x.Path() {
			return x, nil
		}
		return importer.Default().Import(path)
	})
	pf := parse("pub.go", src)
	pub, err := (&types.Config{Importer: imp}).Check("example.com/m/pub", fset, []*ast.File{pf}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return internalMentions(fset, "example.com/m", pub)
}

type importerFunc func(string) (*types.Package, error)

func (f importerFunc) Import(p string) (*types.Package, error) { return f(p) }

// Control: a direct mention is reported.
func TestSurfaceControl(t *testing.T) {
	got := checkSnippet(t, "package pub\n\nimport \"example.com/m/internal/x\"\n\nfunc F() x.T { return x.T{} }\n")
	if len(got) != 1 {
		t.Fatalf("control: %v", got)
	}
}

// A method promoted from an embedded unexported type is part of the
// exported type's method set: Pub.M returns an internal type.
func TestSurfacePromotedMethod(t *testing.T) {
	got := checkSnippet(t, `package pub

import "example.com/m/internal/x"

type inner struct{}

func (inner) M() x.T { return x.T{} }

type Pub struct{ inner }
`)
	if len(got) == 0 {
		t.Fatal("pub.Pub's promoted method M returns internal x.T: not reported")
	}
}

// Likewise a promoted field: Pub.X is an exported field of type x.T
// reached through an unexported embedded struct.
func TestSurfacePromotedField(t *testing.T) {
	got := checkSnippet(t, `package pub

import "example.com/m/internal/x"

type inner struct{ X x.T }

type Pub struct{ inner }
`)
	if len(got) == 0 {
		t.Fatal("pub.Pub's promoted field X of internal type x.T: not reported")
	}
}

// A generic function's type-parameter constraint is part of its
// signature.
func TestSurfaceFuncConstraint(t *testing.T) {
	got := checkSnippet(t, `package pub

import "example.com/m/internal/x"

func Zero[T x.C]() {}
`)
	if len(got) == 0 {
		t.Fatal("pub.Zero's type parameter constraint internal x.C: not reported")
	}
}

// A promoted method of a pointer-embedded type, on *Pub only.
func TestSurfacePromotedPointerMethod(t *testing.T) {
	got := checkSnippet(t, `package pub

import "example.com/m/internal/x"

type inner struct{}

func (*inner) M() x.T { return x.T{} }

type Pub struct{ *inner }
`)
	if len(got) == 0 {
		t.Fatal("pub.Pub's promoted method M returns internal x.T: not reported")
	}
}

// A constraint interface whose type set names an internal type.
func TestSurfaceConstraintTerms(t *testing.T) {
	got := checkSnippet(t, `package pub

import "example.com/m/internal/x"

type Num interface{ ~int | x.T }
`)
	if len(got) == 0 {
		t.Fatal("pub.Num's term internal x.T: not reported")
	}
}

// Unexported fields and methods of an embedded type, and a constraint of
// public types only, are no leak.
func TestSurfaceNoFalseReport(t *testing.T) {
	got := checkSnippet(t, `package pub

import "example.com/m/internal/x"

type inner struct{ x x.T }

func (inner) m() x.T { return x.T{} }

type Pub struct{ inner }

func Zero[T ~int | ~string]() {}
`)
	if len(got) != 0 {
		t.Fatalf("reported: %v", got)
	}
}
