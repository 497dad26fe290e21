package publish

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

// File is one file a publication generates beside the packages.
type File struct {
	Path        string
	ContentType string
	Content     []byte
}

// Publisher generates a content kind's metadata for a version: the PEP 503
// index of a python repository, the Release files of a deb one,
// PULP_MANIFEST of a file one.
type Publisher interface {
	// Kind names the content kind it publishes.
	Kind() string
	// Publish returns the generated files of v.
	Publish(ctx context.Context, st *repo.Store, v *repo.Version) ([]File, error)
}

// Placer is an optional capability of a Publisher: Places lists where its
// files can lie, each a file's path or a directory ending in '/', so that
// listing a directory none of them touches needs no publication (which
// costs what the version holds).
type Placer interface {
	Places() []string
}

// Registry maps content kinds to publishers; built explicitly by its owner.
type Registry struct{ m map[string]Publisher }

// NewRegistry returns a registry of ps; it panics on a duplicate kind.
func NewRegistry(ps ...Publisher) *Registry {
	r := &Registry{m: map[string]Publisher{}}
	for _, p := range ps {
		if _, dup := r.m[p.Kind()]; dup {
			panic("publish: publisher registered twice: " + p.Kind())
		}
		r.m[p.Kind()] = p
	}
	return r
}

// Lookup returns the publisher of kind, if it has one.
func (r *Registry) Lookup(kind string) (Publisher, bool) {
	p, ok := r.m[kind]
	return p, ok
}

// Publishers lists the registered publishers, in no particular order.
func (r *Registry) Publishers() []Publisher {
	if r == nil {
		return nil
	}
	ps := make([]Publisher, 0, len(r.m))
	for _, p := range r.m {
		ps = append(ps, p)
	}
	return ps
}

// Publication is the generated files of one version.
type Publication struct {
	Version objects.ID
	files   map[string]*File
	paths   []string
}

// File returns the generated file at path.
func (p *Publication) File(path string) (*File, bool) {
	f, ok := p.files[path]
	return f, ok
}

// Paths lists the generated files, sorted.
func (p *Publication) Paths() []string { return p.paths }

// Publications generates publications and caches them by version id:
// versions are immutable, so a publication never goes stale.
type Publications struct {
	st    *repo.Store
	reg   *Registry
	max   int
	mu    sync.Mutex
	cache map[objects.ID]*pubEntry
	order []objects.ID // oldest first, for eviction
}

type pubEntry struct {
	once sync.Once
	pub  *Publication
	err  error
}

// NewPublications returns a cache holding up to max publications.
func NewPublications(st *repo.Store, reg *Registry, max int) *Publications {
	return &Publications{st: st, reg: reg, max: max, cache: map[objects.ID]*pubEntry{}}
}

// For returns the publication of v for a repository of the given kind; a
// kind without a publisher has an empty one.
func (p *Publications) For(ctx context.Context, kind string, v *repo.Version) (*Publication, error) {
	pubr, ok := p.reg.Lookup(kind)
	if !ok {
		return &Publication{Version: v.ID, files: map[string]*File{}}, nil
	}
	p.mu.Lock()
	e, ok := p.cache[v.ID]
	if !ok {
		e = &pubEntry{}
		p.cache[v.ID] = e
		p.order = append(p.order, v.ID)
		if len(p.order) > p.max {
			delete(p.cache, p.order[0])
			p.order = p.order[1:]
		}
	}
	p.mu.Unlock()
	e.once.Do(func() {
		files, err := pubr.Publish(ctx, p.st, v)
		if err != nil {
			e.err = fmt.Errorf("publish %s: %w", v, err)
			return
		}
		pub := &Publication{Version: v.ID, files: make(map[string]*File, len(files))}
		for i := range files {
			pub.files[files[i].Path] = &files[i]
			pub.paths = append(pub.paths, files[i].Path)
		}
		sort.Strings(pub.paths)
		e.pub = pub
	})
	if e.err != nil {
		p.mu.Lock()
		if p.cache[v.ID] == e {
			delete(p.cache, v.ID) // let a later request try again
		}
		p.mu.Unlock()
	}
	return e.pub, e.err
}

// Touches reports whether the publication of a kind can hold files under
// directory dir ("" or ending in '/'): true unless its publisher is a
// Placer none of whose places lies under dir or holds it.
func (p *Publications) Touches(kind, dir string) bool {
	pubr, ok := p.reg.Lookup(kind)
	if !ok {
		return false // no publisher: an empty publication
	}
	pl, ok := pubr.(Placer)
	if !ok {
		return true
	}
	for _, place := range pl.Places() {
		if strings.HasPrefix(place, dir) || strings.HasSuffix(place, "/") && strings.HasPrefix(dir, place) {
			return true
		}
	}
	return false
}

// Registry returns the registry p generates publications with.
func (p *Publications) Registry() *Registry { return p.reg }

// Router returns the publisher of kind if it routes requests itself.
func (p *Publications) Router(kind string) (Router, bool) {
	pubr, ok := p.reg.Lookup(kind)
	if !ok {
		return nil, false
	}
	rt, ok := pubr.(Router)
	return rt, ok
}
