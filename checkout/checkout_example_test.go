package checkout_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pkgvc/pkgvc/checkout"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/repo"
)

func ExampleDist() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "pkgvc-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	st, err := fsstore.OpenDir(ctx, filepath.Join(dir, "store"), all.Kinds())
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := st.CreateRepo(ctx, "dev", repo.CreateOptions{}); err != nil {
		fmt.Println(err)
		return
	}
	src := filepath.Join(dir, "hello.txt")
	if err := os.WriteFile(src, []byte("hello\n"), 0o644); err != nil {
		fmt.Println(err)
		return
	}
	if _, err := st.Commit(ctx, "dev", repo.CommitRequest{Adds: []repo.Add{{Path: "docs/hello.txt", File: src}}}); err != nil {
		fmt.Println(err)
		return
	}

	// A distribution that follows dev, checked out for a web server.
	dists := dist.NewDists(st)
	if _, err := dists.Create(ctx, "docs", dist.DistSpec{BasePath: "docs", Repo: "dev"}); err != nil {
		fmt.Println(err)
		return
	}
	www := filepath.Join(dir, "www", "docs")
	res, err := checkout.Dist(ctx, dists, "docs", www, checkout.Options{Publishers: all.Publishers()})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Written, "files written, serving", res.Version)
	target, _ := os.Readlink(www)
	fmt.Println("www/docs ->", target)
	manifest, _ := os.ReadFile(filepath.Join(www, "PULP_MANIFEST"))
	fmt.Print(string(manifest))
	// Output:
	// 2 files written, serving dev@1
	// www/docs -> docs.pkgvc/a
	// docs/hello.txt,5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03,6
}
