package remote

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/pkgvc/pkgvc/repo"
)

// NamespaceCacher is implemented by Syncers whose remotes may stand for a
// whole namespace of upstream projects (a container registry without an
// upstream name). A namespace distribution then caches each project
// asked for in a repository of its own, whose configuration records the
// project's upstream name (repo.Config.Upstream); syncs and pulls of that
// repository read the remote narrowed to it (ForName).
type NamespaceCacher interface {
	// ServesNamespace reports whether r stands for a namespace rather
	// than one upstream project.
	ServesNamespace(r *Remote) bool
	// NamespaceName checks name, a project of r's namespace, and returns
	// it as the upstream spells it (on Docker Hub "alpine" is
	// "library/alpine").
	NamespaceName(r *Remote, name string) (string, error)
	// ForName returns r narrowed to the upstream project name (as
	// NamespaceName returns it).
	ForName(r Remote, name string) (Remote, error)
}

// ErrNamespaceRemote reports a sync of a remote standing for a namespace
// into a repository that records no upstream name.
var ErrNamespaceRemote = wrap("remote stands for a whole namespace", repo.ErrInvalid)

// ServesNamespace reports whether remote name stands for a namespace of
// upstream projects (see NamespaceCacher); a distribution may then cache
// it without a repository.
func (m *Manager) ServesNamespace(ctx context.Context, name string) (bool, error) {
	r, _, err := m.load(ctx, name)
	if err != nil {
		return false, err
	}
	nc, ok := m.namespaceCacher(r)
	return ok && nc.ServesNamespace(r), nil
}

// StandsForNamespace reports whether r (as it would be stored) stands for
// a namespace of upstream projects.
func (m *Manager) StandsForNamespace(r *Remote) bool {
	nc, ok := m.namespaceCacher(r)
	return ok && nc.ServesNamespace(r)
}

func (m *Manager) namespaceCacher(r *Remote) (NamespaceCacher, bool) {
	s, err := m.reg.Lookup(r.Kind)
	if err != nil {
		return nil, false
	}
	nc, ok := s.(NamespaceCacher)
	return nc, ok
}

// CacheRef is the repository that caches one upstream project of a
// namespace distribution.
type CacheRef struct {
	Repo     string
	Upstream repo.Upstream
	// Exists is false until the first pull of the project creates it.
	Exists bool
}

// maxCacheProbes bounds the names tried for a cache repository.
const maxCacheProbes = 2

// CacheRepo returns the repository that caches upstream project name
// (as the client spelled it) of remote remoteName for namespace
// distribution distName: "<dist>.<name, '/' as '.'>", with
// "-<6 hex of sha256(name)>" appended when that name is another's (a
// repository caching another project, or one no cache made). A name the
// remote's kind refuses is an error matching repo.ErrInvalid.
func (m *Manager) CacheRepo(ctx context.Context, remoteName, distName, name string) (*CacheRef, error) {
	r, _, err := m.load(ctx, remoteName)
	if err != nil {
		return nil, err
	}
	nc, ok := m.namespaceCacher(r)
	if !ok || !nc.ServesNamespace(r) {
		return nil, fmt.Errorf("%w: remote %s reads one upstream project, not a namespace of them", repo.ErrInvalid, remoteName)
	}
	canon, err := nc.NamespaceName(r, name)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", repo.ErrInvalid, err)
	}
	up := repo.Upstream{Name: canon, Remote: remoteName, Dist: distName}
	// Every name is looked at before a free one is taken: the cache may
	// hold a later name because an earlier one was taken when it was
	// made, and freed since.
	free := ""
	for i, cand := range cacheRepoNames(distName, canon) {
		if i == maxCacheProbes {
			break
		}
		cfg, err := m.st.RepoConfig(ctx, cand)
		switch {
		case errors.Is(err, repo.ErrRepoNotFound):
			if free == "" {
				free = cand
			}
		case err != nil:
			return nil, err
		case sameCache(cfg.Upstream, &up) && cfg.Kind == r.Kind:
			return &CacheRef{Repo: cand, Upstream: up, Exists: true}, nil
		}
	}
	if free != "" {
		return &CacheRef{Repo: free, Upstream: up}, nil
	}
	return nil, fmt.Errorf("%w: repositories %s are not the cache of %s: rename or delete them", repo.ErrConflict, strings.Join(cacheRepoNames(distName, canon), ", "), canon)
}

// cacheRepoNames are the names a cache repository may take, in order.
func cacheRepoNames(distName, canon string) []string {
	plain := distName + "." + strings.ReplaceAll(canon, "/", ".")
	sum := sha256.Sum256([]byte(canon))
	suffix := "-" + hex.EncodeToString(sum[:])[:6]
	if max := 128 - len(suffix); len(plain) > max { // names.Validate's bound
		return []string{plain[:max] + suffix, plain[:max-len(suffix)] + suffix + suffix}
	}
	return []string{plain, plain + suffix}
}

// sameCache reports whether a repository recording got caches want.
func sameCache(got, want *repo.Upstream) bool {
	// The remote too: a distribution moved to another registry caches
	// that registry's images in repositories of their own.
	return got != nil && got.Name == want.Name && got.Dist == want.Dist && got.Remote == want.Remote
}

// narrow returns r read for repository info: a remote standing for a
// namespace reads the upstream project the repository records.
func (m *Manager) narrow(r *Remote, syncer Syncer, info *repo.RepoInfo) (*Remote, error) {
	nc, ok := syncer.(NamespaceCacher)
	if !ok || !nc.ServesNamespace(r) {
		return r, nil
	}
	if info.Upstream == nil || info.Upstream.Name == "" {
		return nil, fmt.Errorf("%w: remote %s names no single upstream project, and repository %s records none: sync a repository a namespace distribution of the remote created (`pkgvc repo list` shows their upstream), or give the remote an upstream name (see `pkgvc remote update --help`)", ErrNamespaceRemote, r.Name, info.Name)
	}
	n, err := nc.ForName(*r, info.Upstream.Name)
	if err != nil {
		return nil, fmt.Errorf("repository %s: upstream %s: %w", info.Name, info.Upstream.Name, err)
	}
	return &n, nil
}

// PullCache is PullRefs into the cache repository ref (see CacheRepo),
// which is created, recording its upstream, once the upstream is found
// to have one of refs: a pull of a name the upstream lacks creates
// nothing.
func (m *Manager) PullCache(ctx context.Context, ref *CacheRef, refs []string) (*PullResult, error) {
	op, err := m.open(ctx, ref.Upstream.Remote, ref.Repo, "")
	switch {
	case err == nil:
		if !sameCache(op.info.Upstream, &ref.Upstream) {
			return nil, fmt.Errorf("%w: repository %s is not the cache of %s", repo.ErrConflict, ref.Repo, ref.Upstream.Name)
		}
		return m.pullRefs(ctx, op, ref.Repo, refs, nil)
	case !errors.Is(err, repo.ErrRepoNotFound):
		return nil, err
	}
	r, doc, err := m.load(ctx, ref.Upstream.Remote)
	if err != nil {
		return nil, err
	}
	syncer, err := m.reg.Lookup(r.Kind)
	if err != nil {
		return nil, fmt.Errorf("remote %s: %w", r.Name, err)
	}
	up := ref.Upstream
	info := &repo.RepoInfo{Config: repo.Config{Name: ref.Repo, Kind: r.Kind, Upstream: &up}}
	if r, err = m.narrow(r, syncer, info); err != nil {
		return nil, err
	}
	c, err := m.client(r, doc)
	if err != nil {
		return nil, err
	}
	create := func(ctx context.Context) error {
		_, err := m.st.CreateRepo(ctx, ref.Repo, repo.CreateOptions{Kind: r.Kind, Upstream: &up})
		if !errors.Is(err, repo.ErrExists) {
			return err
		}
		// Made meanwhile by another process: it must be this cache.
		cfg, err := m.st.RepoConfig(ctx, ref.Repo)
		if err != nil {
			return err
		}
		if !sameCache(cfg.Upstream, &up) {
			return fmt.Errorf("%w: repository %s was made meanwhile, not as the cache of %s", repo.ErrConflict, ref.Repo, up.Name)
		}
		return nil
	}
	return m.pullRefs(ctx, &opened{r: r, syncer: syncer, client: c, info: info}, ref.Repo, refs, create)
}
