package content

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/meta"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
)

// NamespaceCache names and fills the repositories of namespace caches
// (distributions whose remote stands for a whole registry, see
// dist.Distribution.Namespace); remote.Manager is one.
type NamespaceCache interface {
	// CacheRepo returns the repository caching upstream project name of
	// remoteName for namespace distribution distName.
	CacheRepo(ctx context.Context, remoteName, distName, name string) (*remote.CacheRef, error)
	// PullCache pulls refs into it, creating it once the upstream has
	// one of them.
	PullCache(ctx context.Context, ref *remote.CacheRef, refs []string) (*remote.PullResult, error)
}

// WithNamespaceCache lets namespace caches serve the projects under
// their base paths (see Target): each is pulled, on first request, into
// a repository of its own that c names and creates. Pulls are shared and
// batched as WithPullThrough describes: concurrent first requests for a
// project make one upstream read and one repository.
func WithNamespaceCache(c NamespaceCache) ServerOption {
	return func(s *Server) {
		n := &nsCache{c: c, names: make(map[nsKey]*nsName)}
		n.pull = newPuller(n.pullFunc, namespacePullWindow, PullNegativeTTL)
		s.ns = n
	}
}

// namespacePullWindow is how long a namespace cache's pull waits for
// more projects of its repository: none, since each repository holds one
// project (concurrent requests for it share the pull in flight). Waiting
// PullWindow would only add to every first pull.
const namespacePullWindow = 0

// maxNames bounds the remembered names of existing cache repositories.
const maxNames = 1 << 14

// nsCache is the server's side of namespace caches.
type nsCache struct {
	c    NamespaceCache
	pull *puller

	mu sync.Mutex
	// names remembers the repositories found to exist, by the
	// distribution's document revision and the name asked for.
	names map[nsKey]*nsName
}

// pullTarget is the puller's repository key of a cache repository: the
// repository with what it caches, so that two images spelled into one
// repository name never share a pull, and the pull needs nothing
// remembered to know what it is.
func pullTarget(ref *remote.CacheRef) string {
	return strings.Join([]string{ref.Repo, ref.Upstream.Remote, ref.Upstream.Dist, ref.Upstream.Name}, "\x00")
}

// parsePullTarget is the inverse of pullTarget.
func parsePullTarget(k string) (*remote.CacheRef, bool) {
	f := strings.Split(k, "\x00")
	if len(f) != 4 {
		return nil, false
	}
	return &remote.CacheRef{Repo: f[0], Upstream: repo.Upstream{Remote: f[1], Dist: f[2], Name: f[3]}}, true
}

// nsName is a remembered cache repository: the configuration it had and
// the refs stamp it was last seen at. A repository deleted and made again
// under its name (by anyone) is another one, not the cache.
type nsName struct {
	ref   *remote.CacheRef
	cfg   *repo.Config
	stamp repo.RefsStamp
	fresh bool
}

type nsKey struct {
	dist string
	rev  meta.Rev
	name string
}

// pullFunc is the puller's PullFunc: rp is a pullTarget. An image whose
// repository another image took meanwhile (two names spelled into one
// repository name, pulled at once) is pulled into the one CacheRepo
// names now.
func (n *nsCache) pullFunc(ctx context.Context, rem, rp string, refs []string) (PullResult, error) {
	ref, ok := parsePullTarget(rp)
	if !ok {
		return PullResult{}, fmt.Errorf("repository %s: %w", rp, ErrNoPullThrough)
	}
	res, err := n.c.PullCache(ctx, ref, refs)
	if errors.Is(err, repo.ErrConflict) {
		now, cerr := n.c.CacheRepo(ctx, ref.Upstream.Remote, ref.Upstream.Dist, ref.Upstream.Name)
		if cerr == nil && now.Repo != ref.Repo {
			res, err = n.c.PullCache(ctx, now, refs)
		}
	}
	if err != nil {
		return PullResult{}, err
	}
	return PullResult{NotFound: res.NotFound, Failed: res.Failed}, nil
}

// namespaceTarget resolves name under a namespace cache (the distribution
// with the longest base path holding it) to the distribution serving the
// project: the namespace's, following the project's cache repository
// (Cache set; no Version before its first pull). It returns nil when no
// namespace cache serves name, or name is no project of its remote.
func (s *Server) namespaceTarget(ctx context.Context, name string) (*Target, error) {
	if s.ns == nil {
		return nil, nil
	}
	stamp, fresh := s.stamp()
	var de *distEntry
	var rest string
	for attempt := 0; ; attempt++ {
		t := s.table.Load()
		if t == nil {
			return nil, nil // resolve built it: none yet
		}
		de, rest = t.namespaceOf(name)
		if de == nil {
			return nil, nil
		}
		_, ok, err := s.check(ctx, de, stamp, fresh)
		if err != nil {
			return nil, err
		}
		if ok {
			break
		}
		if attempt == 2 {
			return nil, fmt.Errorf("distributions keep changing, retry")
		}
		if _, err := s.rebuild(ctx, t, stamp, fresh); err != nil {
			return nil, err
		}
	}
	ref, err := s.cacheRef(ctx, de, rest)
	if errors.Is(err, repo.ErrInvalid) || errors.Is(err, repo.ErrNotFound) {
		return nil, nil // no project of the remote (or no remote): nothing served
	}
	if errors.Is(err, repo.ErrConflict) {
		// Every name the project's repository may take is another's:
		// the operator must free one; the client is told nothing is here.
		s.log.Warn("namespace cache", "dist", de.name, "name", rest, "err", err)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	d := *de.d
	d.BasePath, d.Repo, d.Cache = name, ref.Repo, &ref.Upstream
	t := &Target{Dist: &d, s: s}
	if !ref.Exists {
		return t, nil
	}
	head, err := s.st.HeadID(ctx, ref.Repo)
	if err != nil || head.IsZero() {
		if errors.Is(err, repo.ErrNotFound) {
			s.ns.forget(de, rest)
			err = nil
		}
		return t, err
	}
	vs, err := s.version(ctx, head)
	if err != nil {
		return nil, fmt.Errorf("distribution %s: %s: %w", de.name, ref.Repo, err)
	}
	t.Version, t.vs = vs.v, vs
	return t, nil
}

// cacheRef returns the cache repository of name under namespace de,
// remembered once it exists while it stays the repository found then.
func (s *Server) cacheRef(ctx context.Context, de *distEntry, name string) (*remote.CacheRef, error) {
	n := s.ns
	k := nsKey{de.name, de.rev, name}
	stamp, fresh := s.stamp()
	n.mu.Lock()
	e := n.names[k]
	n.mu.Unlock()
	if e != nil {
		if fresh && e.fresh && e.stamp == stamp {
			return e.ref, nil
		}
		cfg, err := s.st.RepoConfig(ctx, e.ref.Repo)
		if err == nil && sameRepoConfig(cfg, e.cfg) {
			n.remember(k, &nsName{ref: e.ref, cfg: e.cfg, stamp: stamp, fresh: fresh})
			return e.ref, nil
		}
		if err != nil && !errors.Is(err, repo.ErrRepoNotFound) {
			return nil, err
		}
		n.forgetKey(k)
	}
	for range 3 {
		ref, err := n.c.CacheRepo(ctx, de.d.Remote, de.name, name)
		if err != nil || !ref.Exists {
			return ref, err
		}
		cfg, err := s.st.RepoConfig(ctx, ref.Repo)
		switch {
		case errors.Is(err, repo.ErrRepoNotFound):
			return &remote.CacheRef{Repo: ref.Repo, Upstream: ref.Upstream}, nil // deleted meanwhile: its pull makes it
		case err != nil:
			return nil, err
		case cfg.Upstream == nil || cfg.Upstream.Name != ref.Upstream.Name || cfg.Upstream.Dist != ref.Upstream.Dist:
			continue // replaced meanwhile: look again
		}
		n.remember(k, &nsName{ref: ref, cfg: cfg, stamp: stamp, fresh: fresh})
		return ref, nil
	}
	return nil, fmt.Errorf("cache repository of %s keeps changing, retry", name)
}

// sameRepoConfig reports whether a and b configure one repository (made
// once, not deleted and made again in between).
func sameRepoConfig(a, b *repo.Config) bool {
	return a.Incarnation == b.Incarnation && a.Created.Equal(b.Created) && a.Kind == b.Kind
}

func (n *nsCache) remember(k nsKey, e *nsName) {
	n.mu.Lock()
	if len(n.names) >= maxNames {
		clear(n.names) // only saves reads
	}
	n.names[k] = e
	n.mu.Unlock()
}

func (n *nsCache) forgetKey(k nsKey) {
	n.mu.Lock()
	delete(n.names, k)
	n.mu.Unlock()
}

func (n *nsCache) forget(de *distEntry, name string) {
	n.mu.Lock()
	delete(n.names, nsKey{de.name, de.rev, name})
	n.mu.Unlock()
}

// pullCache is Pull for the distribution of one project of a namespace
// cache: its repository is created by the first pull that finds it
// upstream.
func (s *Server) pullCache(ctx context.Context, d *dist.Distribution, name string, maxAge time.Duration) error {
	if s.ns == nil || d.Remote == "" {
		return ErrNoPullThrough
	}
	rp := pullTarget(&remote.CacheRef{Repo: d.Repo, Upstream: *d.Cache})
	err := s.pullLimited(ctx, d.Remote, func() error { return s.ns.pull.getFresh(ctx, d.Remote, rp, name, maxAge) })
	if errors.Is(err, errNoProject) {
		return fmt.Errorf("%s of %s: %w %s", name, d.Cache.Name, ErrNotOnRemote, d.Remote)
	}
	return err
}

// namespaceOf returns the namespace cache serving name and the name
// under it.
func (t *distTable) namespaceOf(name string) (*distEntry, string) {
	i, rest := dist.NamespaceOf(t.nsDists, name)
	if i < 0 {
		return nil, ""
	}
	return t.namespaces[i], rest
}
