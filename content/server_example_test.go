package content_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/kinds/all"
	metamem "github.com/pkgvc/pkgvc/meta/mem"
	"github.com/pkgvc/pkgvc/objects"
	objectsmem "github.com/pkgvc/pkgvc/objects/mem"
	"github.com/pkgvc/pkgvc/publish"
	refsmem "github.com/pkgvc/pkgvc/refs/mem"
	"github.com/pkgvc/pkgvc/repo"
)

// ExampleServer serves a distribution of a repository.
func ExampleServer() {
	ctx := context.Background()
	st := repo.New(objects.New(objectsmem.New()), refsmem.New(), all.Kinds(), repo.WithMeta(metamem.New()))
	if _, err := st.CreateRepo(ctx, "prod", repo.CreateOptions{}); err != nil {
		panic(err)
	}
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "hello.txt")
	_ = os.WriteFile(file, []byte("hello\n"), 0o644)
	if _, err := st.Commit(ctx, "prod", repo.CommitRequest{Adds: []repo.Add{{Path: "docs/hello.txt", File: file}}}); err != nil {
		panic(err)
	}
	dists := dist.NewDists(st)
	if _, err := dists.Create(ctx, "web", dist.DistSpec{BasePath: "site/web", Repo: "prod"}); err != nil {
		panic(err)
	}
	srv := content.NewServer(st, dists, publish.NewPublications(st, publish.NewRegistry(), 8))

	w := httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest("GET", "/content/site/web/docs/hello.txt", nil))
	fmt.Print(w.Code, " ", w.Header().Get("Content-Type"), " ", w.Body.String())
	fmt.Println(w.Header().Get("ETag"))

	w = httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest("GET", "/content/site/web/missing", nil))
	fmt.Println(w.Code)
	// Output:
	// 200 text/plain; charset=utf-8 hello
	// "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
	// 404
}
