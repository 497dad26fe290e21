// Command servedist creates a distribution through the library, for
// bench/serve.sh while the CLI has no `dist create`:
//
//	servedist -store DIR -name d -base-path d -repo r
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/kinds/all"
)

func main() {
	store := flag.String("store", "pkgvc-data", "store directory")
	name := flag.String("name", "d", "distribution name")
	base := flag.String("base-path", "d", "base path")
	repoName := flag.String("repo", "r", "repository to follow")
	flag.Parse()
	ctx := context.Background()
	st, err := repo.OpenDir(ctx, *store, all.Kinds())
	if err == nil {
		_, err = publish.NewDists(st).Create(ctx, *name, publish.DistSpec{BasePath: *base, Repo: *repoName})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "servedist:", err)
		os.Exit(1)
	}
}
