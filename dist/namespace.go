package dist

import (
	"context"
	"fmt"

	"github.com/pkgvc/pkgvc/meta"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

// A namespace cache is a distribution with a remote and neither a
// repository nor a version, whose remote stands for a whole namespace of
// upstream projects (a registry): it serves BasePath/<upstream name> for
// any name, each cached on first pull in a repository of its own (see
// remote.Manager.CacheRepo). Distributions whose base paths lie under its
// own still serve theirs.

// RootBasePath is the base path of a namespace cache serving every name
// no other distribution serves (a registry mirror's role).
const RootBasePath = "/"

// RemoteNamespaces is an optional capability of RemoteRefs
// (remote.Manager has it): whether a remote stands for a namespace of
// upstream projects, which a distribution may cache without a repository.
type RemoteNamespaces interface {
	ServesNamespace(ctx context.Context, name string) (bool, error)
}

// Namespace reports whether d is a namespace cache.
func (d *Distribution) Namespace() bool {
	return d.Remote != "" && d.Repo == "" && d.Version.IsZero() && d.Cache == nil
}

// namespaceTarget makes dist, which names neither a repository nor a
// version, a namespace cache of its remote, whose kind it serves; it
// needs no pin.
func (d *Dists) namespaceTarget(ctx context.Context, dist *Distribution) ([]meta.Op, error) {
	rn, ok := d.remotes.(RemoteNamespaces)
	if dist.Remote == "" || !ok {
		return nil, fmt.Errorf("%w: give --repo REPO or --version REV", repo.ErrInvalid)
	}
	ns, err := rn.ServesNamespace(ctx, dist.Remote)
	if err != nil {
		return nil, err
	}
	if !ns {
		return nil, fmt.Errorf("%w: give --repo REPO or --version REV (remote %s reads one upstream project: only a remote standing for a whole namespace, such as a registry without an upstream name, makes a namespace cache)", repo.ErrInvalid, dist.Remote)
	}
	if rk, ok := d.remotes.(RemoteKinds); ok {
		if dist.Kind, err = rk.RemoteKind(ctx, dist.Remote); err != nil {
			return nil, err
		}
	}
	dist.PinnedFrom, dist.Version = "", objects.ID{}
	return nil, nil
}

// validateBasePathOf checks dist's base path: RootBasePath is a
// namespace cache's only.
func validateBasePathOf(dist *Distribution) error {
	if dist.BasePath == RootBasePath {
		if !dist.Namespace() {
			return fmt.Errorf("%w %q: only a namespace cache (a remote standing for a whole registry, no --repo) serves the root", ErrBasePath, dist.BasePath)
		}
		return nil
	}
	return ValidateBasePath(dist.BasePath)
}

// clashes reports whether two distributions' base paths clash: equal, or
// one inside the other unless one is a namespace cache (the longest base
// path serves a name).
func clashes(a, b *Distribution) bool {
	if a.BasePath == b.BasePath {
		return true
	}
	if a.Namespace() || b.Namespace() {
		return false
	}
	return overlaps(a.BasePath, b.BasePath)
}

// NamespaceOf returns the index among dists of the namespace cache
// serving name (an upstream project's path under the cache's base path),
// -1 for none, and the name under it: the one with the longest base
// path, the root one last. An index lets callers keeping distributions
// in entries of their own find the entry without building a slice.
func NamespaceOf(dists []*Distribution, name string) (int, string) {
	best := -1
	var rest string
	for i, d := range dists {
		if !d.Namespace() {
			continue
		}
		switch {
		case d.BasePath == RootBasePath:
			if best < 0 {
				best, rest = i, name
			}
		case len(name) > len(d.BasePath)+1 && name[len(d.BasePath)] == '/' && name[:len(d.BasePath)] == d.BasePath:
			if best < 0 || dists[best].BasePath == RootBasePath || len(d.BasePath) > len(dists[best].BasePath) {
				best, rest = i, name[len(d.BasePath)+1:]
			}
		}
	}
	return best, rest
}

// checkNamespaceRepo refuses a distribution following a repository that
// records no upstream project through a remote standing for a namespace:
// it could pull nothing (a namespace cache's repositories record theirs).
func (d *Dists) checkNamespaceRepo(ctx context.Context, dist *Distribution) error {
	rn, ok := d.remotes.(RemoteNamespaces)
	if dist.Repo == "" || !ok {
		return nil
	}
	ns, err := rn.ServesNamespace(ctx, dist.Remote)
	if err != nil || !ns {
		return err
	}
	cfg, err := d.st.RepoConfig(ctx, dist.Repo)
	if err != nil {
		return err
	}
	if cfg.Upstream == nil {
		return fmt.Errorf("%w: remote %s stands for a whole namespace and repository %s records no upstream project of it: omit --repo to make a namespace cache, or give a remote of one project", repo.ErrInvalid, dist.Remote, dist.Repo)
	}
	return nil
}
