package dist

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/options"
	"github.com/pkgvc/pkgvc/repo"
)

// Pruner is implemented by content kinds (the store's repo.Kind values)
// whose distributions drop content by a setting of theirs (a container
// cache's images not pulled for a while). Prune removes from repository
// repoName, served by a distribution with settings opts, what those
// settings say is to go at time now, as one new version whose message
// says why; it returns the paths removed (none: no version made) and the
// commit. What it drops stays in older versions until the repository's
// retention lets them go; gc then frees the bytes.
type Pruner interface {
	Prune(ctx context.Context, st *repo.Store, repoName string, opts options.Values, now time.Time) ([]string, *repo.CommitResult, error)
}

// PruneResult reports the pruning of one repository of a distribution.
type PruneResult struct {
	Dist string `json:"dist"`
	Repo string `json:"repo"`
	// Removed lists the paths the new version dropped; empty when
	// nothing was due and no version was made.
	Removed []string   `json:"removed"`
	Version int        `json:"version,omitempty"`
	ID      objects.ID `json:"id,omitzero"`
	// Caches are the results of a namespace cache's repositories that
	// dropped something (Repo is then empty).
	Caches []PruneResult `json:"caches,omitempty"`
}

// Prune applies the settings of distribution name that drop content
// (Pruner) to the repository it follows, or, for a namespace cache, to
// each repository it made, at time now.
func (d *Dists) Prune(ctx context.Context, name string, now time.Time) (*PruneResult, error) {
	dist, err := d.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	if dist.Namespace() {
		return d.pruneNamespace(ctx, dist, now)
	}
	if dist.Repo == "" {
		return nil, fmt.Errorf("%w: distribution %s is pinned to a version: only a distribution following a repository is pruned", repo.ErrInvalid, name)
	}
	return d.PruneRepo(ctx, dist, dist.Repo, now)
}

// pruneNamespace prunes the repositories namespace cache dist made.
func (d *Dists) pruneNamespace(ctx context.Context, dist *Distribution, now time.Time) (*PruneResult, error) {
	res := &PruneResult{Dist: dist.Name, Removed: []string{}}
	repos, err := d.st.ListRepos(ctx)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, r := range repos {
		if r.Upstream == nil || r.Upstream.Dist != dist.Name {
			continue
		}
		one, err := d.PruneRepo(ctx, dist, r.Name, now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(one.Removed) > 0 {
			res.Caches = append(res.Caches, *one)
		}
	}
	return res, errors.Join(errs...)
}

// PruneRepo applies the settings of dist that drop content to repository
// repoName, one of those dist serves (the one it follows, or one a
// distribution serving many made). A kind without a Pruner prunes
// nothing.
func (d *Dists) PruneRepo(ctx context.Context, dist *Distribution, repoName string, now time.Time) (*PruneResult, error) {
	res := &PruneResult{Dist: dist.Name, Repo: repoName, Removed: []string{}}
	k, err := d.st.Kinds().Lookup(dist.Kind)
	if err != nil {
		return res, nil //nolint:nilerr // a kind this build lacks has no settings to apply
	}
	p, ok := k.(Pruner)
	if !ok {
		return res, nil
	}
	removed, cres, err := p.Prune(ctx, d.st, repoName, dist.Options, now)
	if err != nil {
		return nil, fmt.Errorf("prune %s of distribution %s: %w", repoName, dist.Name, err)
	}
	if len(removed) > 0 {
		res.Removed = removed
	}
	if cres != nil && cres.Changed {
		res.Version, res.ID = cres.Version, cres.ID
	}
	return res, nil
}

// PruneAll prunes the repository of every distribution that follows one,
// at time now; a distribution that fails does not stop the others, and
// its error is joined to the one returned.
func (d *Dists) PruneAll(ctx context.Context, now time.Time) ([]PruneResult, error) {
	all, err := d.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []PruneResult
	var errs []error
	for i := range all {
		switch {
		case all[i].Namespace():
			ns, err := d.pruneNamespace(ctx, &all[i], now)
			if err != nil {
				errs = append(errs, err)
			}
			if ns != nil {
				out = append(out, ns.Caches...)
			}
			continue
		case all[i].Repo == "":
			continue
		}
		res, err := d.PruneRepo(ctx, &all[i], all[i].Repo, now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(res.Removed) > 0 {
			out = append(out, *res)
		}
	}
	return out, errors.Join(errs...)
}

// DefaultPruneEvery is how often a content server prunes (RunPrune).
const DefaultPruneEvery = time.Hour

// RunPrune runs PruneAll every interval until ctx ends, logging what it
// removed and what failed: the periodic pruning of a content server.
func (d *Dists) RunPrune(ctx context.Context, every time.Duration, log *slog.Logger) {
	if every <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		res, err := d.PruneAll(ctx, time.Now())
		for _, r := range res {
			log.Info("prune", "dist", r.Dist, "repo", r.Repo, "removed", len(r.Removed), "version", r.Version)
		}
		if err != nil && ctx.Err() == nil {
			log.Warn("prune", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
