package publication_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"

	kinds "github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/kinds/python/format/pythontest"
	"github.com/pkgvc/pkgvc/kinds/python/publication"
	metamem "github.com/pkgvc/pkgvc/meta/mem"
	"github.com/pkgvc/pkgvc/objects"
	objectsmem "github.com/pkgvc/pkgvc/objects/mem"
	"github.com/pkgvc/pkgvc/publish"
	refsmem "github.com/pkgvc/pkgvc/refs/mem"
	"github.com/pkgvc/pkgvc/repo"
)

// ExamplePublisher publishes a python repository and routes Simple API
// requests as a server does.
func ExamplePublisher() {
	ctx := context.Background()
	st := repo.New(objects.New(objectsmem.New()), refsmem.New(), kinds.Kinds(), repo.WithMeta(metamem.New()))
	if _, err := st.CreateRepo(ctx, "py", repo.CreateOptions{Kind: "python"}); err != nil {
		panic(err)
	}
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	name, wheel := pythontest.Spec{Name: "Foo_Bar", Version: "1.0"}.Wheel()
	file := filepath.Join(dir, name)
	_ = os.WriteFile(file, wheel, 0o644)
	if _, err := st.Commit(ctx, "py", repo.CommitRequest{Adds: []repo.Add{{Path: "pkgs/" + name, File: file}}}); err != nil {
		panic(err)
	}
	v, _ := st.Resolve(ctx, "py")
	pub, err := publish.NewPublications(st, publish.NewRegistry(publication.Publisher{}), 1).For(ctx, "python", v)
	if err != nil {
		panic(err)
	}
	if err := pub.Walk(ctx, func(f *publish.File) error {
		fmt.Println(f.Path)
		return nil
	}); err != nil {
		panic(err)
	}

	route := func(rel, accept string) {
		r := httptest.NewRequest("GET", "/", nil)
		if accept != "" {
			r.Header.Set("Accept", accept)
		}
		target, redirect, vary, ok := publication.Publisher{}.Route(r, rel, pub)
		fmt.Printf("%s -> %q redirect=%v vary=%q ok=%v\n", rel, target, redirect, vary, ok)
	}
	route("simple/foo-bar/", "")
	route("simple/foo-bar/", "application/vnd.pypi.simple.v1+json, text/html;q=0.01")
	route("simple/Foo_Bar/", "")
	route("simple/nope/", "")
	// Output:
	// pkgs/Foo_Bar-1.0-py3-none-any.whl.metadata
	// simple/foo-bar/index.html
	// simple/foo-bar/index.v1.html
	// simple/foo-bar/index.v1.json
	// simple/index.html
	// simple/index.v1.html
	// simple/index.v1.json
	// simple/foo-bar/ -> "simple/foo-bar/index.html" redirect=false vary="Accept" ok=true
	// simple/foo-bar/ -> "simple/foo-bar/index.v1.json" redirect=false vary="Accept" ok=true
	// simple/Foo_Bar/ -> "simple/foo-bar/" redirect=true vary="" ok=true
	// simple/nope/ -> "" redirect=false vary="" ok=false
}
