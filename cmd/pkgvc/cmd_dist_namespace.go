package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/dist"
)

// rootedPath is a base path as a URL path: "/hub", and "/" for the root.
func rootedPath(bp string) string {
	if bp == dist.RootBasePath {
		return bp
	}
	return "/" + bp
}

// maxShownCaches bounds the cache repositories `dist show` names.
const maxShownCaches = 20

// showNamespace describes a namespace cache and the repositories it made.
func (e *env) showNamespace(ctx context.Context, c *cli.Command, svc api.Service, d *dist.Distribution, acc content.Access) error {
	infos, err := svc.ListRepos(ctx)
	if err != nil {
		return err
	}
	var repos []string
	for _, in := range infos {
		if in.Upstream != nil && in.Upstream.Dist == d.Name {
			repos = append(repos, in.Name)
		}
	}
	if jsonOut(c) {
		return e.printJSON(struct {
			distShow
			Repos []string `json:"cache_repos"`
		}{distShow{Distribution: *d, Access: acc}, repos})
	}
	printDist(e.stdout, d)
	printAccess(e.stdout, acc)
	shown := repos
	if len(shown) > maxShownCaches {
		shown = append(shown[:maxShownCaches:maxShownCaches], "…")
	}
	fmt.Fprintf(e.stdout, "serving:   %d cached project(s)", len(repos))
	if len(shown) > 0 {
		fmt.Fprintf(e.stdout, ": %s", strings.Join(shown, ", "))
	}
	fmt.Fprintln(e.stdout)
	return nil
}
