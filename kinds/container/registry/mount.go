package registry

import (
	"context"
	"net/http"
	"strings"

	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/repo"
)

// maxMountSources bounds the distributions an anonymous mount (one
// without from) looks through; past it the client uploads the blob.
const maxMountSources = 256

// mountSource finds blob want in container distribution from, or without
// from in the first container distribution holding it, among those r may
// read: what a GET of the blob there would serve.
func (q *request) mountSource(ctx context.Context, r *http.Request, want digestRef, from string) (repo.Record, bool) {
	if from != "" {
		src, err := q.g.s.Target(ctx, from)
		if err != nil || src == nil || src.Dist.Kind != Kind || !q.g.mayRead(r, src.Dist) {
			return repo.Record{}, false
		}
		rec, found, err := q.g.holdsDigest(ctx, src, want)
		return rec, err == nil && found
	}
	dists, err := dist.NewDists(q.g.st).List(ctx)
	if err != nil {
		q.g.s.Logger().Warn("registry: anonymous mount", "err", err)
		return repo.Record{}, false
	}
	looked := 0
	for i := range dists {
		d := &dists[i]
		if d.Kind != Kind || !q.g.mayRead(r, d) {
			continue
		}
		if looked++; looked > maxMountSources {
			break
		}
		src, err := q.g.s.Target(ctx, d.BasePath)
		if err != nil || src == nil || src.Dist.Kind != Kind {
			continue
		}
		if rec, found, err := q.g.holdsDigest(ctx, src, want); err == nil && found {
			return rec, true
		}
	}
	return repo.Record{}, false
}

// mayRead reports whether r may read distribution d (a pull), without
// answering.
func (g *registry) mayRead(r *http.Request, d *dist.Distribution) bool {
	if !d.Private {
		return true
	}
	tok, ok := auth.Credentials(r)
	if !ok || strings.HasPrefix(tok, anonPrefix) {
		return false
	}
	_, err := g.s.CanRead(r, tok, d)
	return err == nil
}
