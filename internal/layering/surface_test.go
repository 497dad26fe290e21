package layering

import (
	"fmt"
	"go/importer"
	"go/token"
	"go/types"
	"io"
	"os"
	"sort"
	"strings"
	"testing"
)

// TestNoInternalTypesInPublicAPI fails on every exported function,
// method, struct field, interface method, variable, constant or type of a
// package outside internal/ whose type mentions a type of one of the
// module's internal/ packages: a caller outside the module could not
// name it. A package whose types belong to the library's surface moves
// out of internal/; else the API takes or returns a type of its own.
func TestNoInternalTypesInPublicAPI(t *testing.T) {
	mod, mine, all := goList(t, "-deps", "-export")
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		p, ok := all[path]
		if !ok || p.Export == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(p.Export)
	})
	var problems []string
	checked := 0
	for _, p := range mine {
		if p.Name == "main" || isInternal(rel(mod, p.ImportPath)) {
			continue
		}
		pkg, err := imp.Import(p.ImportPath)
		if err != nil {
			t.Fatalf("import %s: %v", p.ImportPath, err)
		}
		checked++
		problems = append(problems, internalMentions(fset, mod, pkg)...)
	}
	if checked == 0 {
		t.Fatal("no public package checked")
	}
	sort.Strings(problems)
	for _, pr := range problems {
		t.Error(pr)
	}
}

// internalMentions lists pkg's exported declarations whose types mention
// a type of an internal package of module mod.
func internalMentions(fset *token.FileSet, mod string, pkg *types.Package) []string {
	var out []string
	// report names decl, at the position of at (the member itself).
	report := func(decl, at types.Object, what string, t types.Type) {
		if bad := mentions(mod, t, map[types.Type]bool{}); bad != "" {
			out = append(out, fmt.Sprintf("%s: %s.%s %s mentions %s, a type of an internal package",
				fset.Position(at.Pos()), rel(mod, pkg.Path()), decl.Name(), what, bad))
		}
	}
	scope := pkg.Scope()
	for _, name := range scope.Names() {
		obj := scope.Lookup(name)
		if !obj.Exported() {
			continue
		}
		switch o := obj.(type) {
		case *types.Func:
			report(o, o, "(func)", o.Type())
		case *types.Var:
			report(o, o, "(var)", o.Type())
		case *types.Const:
			report(o, o, "(const)", o.Type())
		case *types.TypeName:
			if o.IsAlias() {
				report(o, o, "(alias)", types.Unalias(o.Type()))
				continue
			}
			named, ok := o.Type().(*types.Named)
			if !ok {
				continue
			}
			if tps := named.TypeParams(); tps != nil {
				for i := range tps.Len() {
					report(o, o, "type parameter "+tps.At(i).Obj().Name(), tps.At(i).Constraint())
				}
			}
			switch u := named.Underlying().(type) {
			case *types.Struct:
				for _, f := range exportedFields(u, map[*types.Struct]bool{}) {
					report(o, f, "field "+f.Name(), f.Type())
				}
			case *types.Interface:
				// Its methods are in its method set below; a
				// constraint's terms are not.
				for i := range u.NumEmbeddeds() {
					report(o, o, "(embedded)", u.EmbeddedType(i))
				}
			default:
				report(o, o, "(type)", u)
			}
			// Every method callable on a T or *T: declared, an
			// interface's, or promoted from an embedded type (an
			// unexported one's too).
			done := map[string]bool{}
			for _, t := range []types.Type{named, types.NewPointer(named)} {
				ms := types.NewMethodSet(t)
				for i := range ms.Len() {
					m := ms.At(i).Obj()
					if !m.Exported() || done[m.Name()] {
						continue
					}
					done[m.Name()] = true
					report(o, m, "method "+m.Name(), m.Type())
				}
			}
		}
	}
	return out
}

// exportedFields returns the exported fields of st and those promoted to
// it through its unexported embedded fields (an exported embedded type's
// fields are its own declaration's to answer for, and the embedded field
// itself is one of st's exported fields).
func exportedFields(st *types.Struct, seen map[*types.Struct]bool) []*types.Var {
	if seen[st] {
		return nil
	}
	seen[st] = true
	var out []*types.Var
	for i := range st.NumFields() {
		f := st.Field(i)
		if f.Exported() {
			out = append(out, f)
			continue
		}
		if !f.Embedded() {
			continue
		}
		t := f.Type()
		if p, ok := t.(*types.Pointer); ok {
			t = p.Elem()
		}
		if inner, ok := t.Underlying().(*types.Struct); ok {
			out = append(out, exportedFields(inner, seen)...)
		}
	}
	return out
}

// mentions returns the first type of an internal package of mod that t
// names (not looking into the definitions of named types, which their
// own package answers for), or "".
func mentions(mod string, t types.Type, seen map[types.Type]bool) string {
	if t == nil || seen[t] {
		return ""
	}
	seen[t] = true
	switch t := t.(type) {
	case *types.Alias:
		return mentions(mod, types.Unalias(t), seen)
	case *types.Named:
		if p := t.Obj().Pkg(); p != nil && (p.Path() == mod || strings.HasPrefix(p.Path(), mod+"/")) && isInternal(rel(mod, p.Path())) {
			return p.Path() + "." + t.Obj().Name()
		}
		if args := t.TypeArgs(); args != nil {
			for i := range args.Len() {
				if bad := mentions(mod, args.At(i), seen); bad != "" {
					return bad
				}
			}
		}
	case *types.Pointer:
		return mentions(mod, t.Elem(), seen)
	case *types.Slice:
		return mentions(mod, t.Elem(), seen)
	case *types.Array:
		return mentions(mod, t.Elem(), seen)
	case *types.Chan:
		return mentions(mod, t.Elem(), seen)
	case *types.Map:
		if bad := mentions(mod, t.Key(), seen); bad != "" {
			return bad
		}
		return mentions(mod, t.Elem(), seen)
	case *types.Signature:
		if tps := t.TypeParams(); tps != nil {
			for i := range tps.Len() {
				if bad := mentions(mod, tps.At(i).Constraint(), seen); bad != "" {
					return bad
				}
			}
		}
		for _, tup := range []*types.Tuple{t.Params(), t.Results()} {
			for i := range tup.Len() {
				if bad := mentions(mod, tup.At(i).Type(), seen); bad != "" {
					return bad
				}
			}
		}
	case *types.Struct:
		for i := range t.NumFields() {
			if f := t.Field(i); f.Exported() || f.Embedded() {
				if bad := mentions(mod, f.Type(), seen); bad != "" {
					return bad
				}
			}
		}
	case *types.Interface:
		for i := range t.NumMethods() {
			if bad := mentions(mod, t.Method(i).Type(), seen); bad != "" {
				return bad
			}
		}
		for i := range t.NumEmbeddeds() {
			if bad := mentions(mod, t.EmbeddedType(i), seen); bad != "" {
				return bad
			}
		}
	case *types.Union:
		for i := range t.Len() {
			if bad := mentions(mod, t.Term(i).Type(), seen); bad != "" {
				return bad
			}
		}
	case *types.TypeParam:
		return mentions(mod, t.Constraint(), seen)
	}
	return ""
}
