package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/options"
	"github.com/pkgvc/pkgvc/refs"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/tree"
)

// File is one file a publication generates beside the packages: its
// content in Content as a Publisher generates it, or, read from a stored
// publication, in the blob ID of Size bytes (Publication.Open).
type File struct {
	Path        string
	ContentType string
	Content     []byte
	ID          objects.ID
	Size        int64
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

// Formatted is an optional capability of a Publisher: PublicationFormat
// names how it lays out and renders its files. Stored publications are
// keyed by it, so that a publisher that renders differently builds them
// anew rather than serving those of its predecessor.
type Formatted interface {
	PublicationFormat() string
}

// RefPrefix begins the refs naming stored publications:
// publications/<kind>/<version id>/<options> -> publication tree, where
// options digests what else the files depend on (the publisher's format).
// gc keeps those of the versions distributions may serve and their
// parents (the base of the next incremental step) and drops the others,
// a cache.
const RefPrefix = repo.PublicationRefPrefix

// Params is what a publication depends on besides its version and its
// publisher: the settings the distribution's kind declares (an apt suite,
// the components published, the name of the signing key). Publishers read
// them from Writer.Params; distributions with the same version and
// settings share one publication.
type Params struct {
	Options options.Values
	digest  string
	set     bool // digest is computed
}

// NewParams returns the Params of a distribution's settings, their digest
// computed once, for a caller that asks for many publications under them.
func NewParams(o options.Values) Params {
	pp := Params{Options: o}
	pp.digest, pp.set = pp.Digest(), true
	return pp
}

// Digest is the canonical text of pp ("" without settings): encoding/json
// sorts map keys and compacts raw values.
func (pp Params) Digest() string {
	if pp.set || len(pp.Options) == 0 {
		return pp.digest
	}
	b, err := json.Marshal(pp.Options)
	if err != nil {
		return "invalid" // stored options are valid JSON
	}
	return string(b)
}

// RefName names the stored publication of version id by p, without
// settings.
func RefName(p Publisher, id objects.ID) string { return refName(p, id, "") }

func refName(p Publisher, id objects.ID, params string) string {
	format := ""
	if f, ok := p.(Formatted); ok {
		format = f.PublicationFormat()
	}
	in := p.Kind() + "\n" + format
	if params != "" {
		in += "\n" + params
	}
	sum := objects.Sum([]byte(in))
	return RefPrefix + p.Kind() + "/" + id.String() + "/" + sum.String()[:16]
}

// pubKey is a publication in the cache: a version under some settings.
type pubKey struct {
	id     objects.ID
	params string
}

// Publications finds, or builds and stores, the publications of versions,
// and remembers the recent ones by version id: versions are immutable,
// so a publication never goes stale.
type Publications struct {
	st    *repo.Store
	reg   *Registry
	max   int
	mu    sync.Mutex
	cache map[pubKey]*pubEntry
	order []pubKey       // oldest first, for eviction
	bg    sync.WaitGroup // publications being synced
	// Built, if set, hears of each publication built: incremental or
	// not, and how many records changed (tests, logs).
	Built func(kind string, v objects.ID, incremental bool, changes int)
}

type pubEntry struct {
	once sync.Once
	pub  *Publication
	err  error
	done atomic.Pointer[Publication] // pub, once built
}

// NewPublications returns publications of st, remembering up to max.
func NewPublications(st *repo.Store, reg *Registry, max int) *Publications {
	return &Publications{st: st, reg: reg, max: max, cache: map[pubKey]*pubEntry{}}
}

// For returns the publication of v for a repository of the given kind; a
// kind without a publisher has an empty one. The first request for a
// version builds and stores it, from the publication of an ancestor when
// the publisher is Incremental and one is stored.
func (p *Publications) For(ctx context.Context, kind string, v *repo.Version) (*Publication, error) {
	return p.ForParams(ctx, kind, v, Params{})
}

// ForParams is For under a distribution's settings pp.
func (p *Publications) ForParams(ctx context.Context, kind string, v *repo.Version, pp Params) (*Publication, error) {
	pubr, ok := p.reg.Lookup(kind)
	if !ok {
		return &Publication{Version: v.ID}, nil
	}
	key := pubKey{v.ID, pp.Digest()}
	p.mu.Lock()
	e, ok := p.cache[key]
	if !ok {
		e = &pubEntry{}
		p.cache[key] = e
		p.order = append(p.order, key)
		if len(p.order) > p.max {
			delete(p.cache, p.order[0])
			p.order = p.order[1:]
		}
	}
	p.mu.Unlock()
	e.once.Do(func() {
		// Built for every later request: a client that goes away does
		// not stop it.
		e.pub, e.err = p.load(context.WithoutCancel(ctx), target{pubr, pp, key.params}, v)
		if e.err != nil {
			e.err = fmt.Errorf("publish %s: %w", v, e.err)
		} else {
			e.done.Store(e.pub)
		}
	})
	if e.err != nil {
		p.mu.Lock()
		if p.cache[key] == e {
			delete(p.cache, key) // let a later request try again
		}
		p.mu.Unlock()
	}
	return e.pub, e.err
}

// Stored returns the stored publication of v by the publisher of kind,
// without building it; ok is false when there is none.
func (p *Publications) Stored(ctx context.Context, kind string, id objects.ID) (*Publication, bool, error) {
	pubr, ok := p.reg.Lookup(kind)
	if !ok {
		return nil, false, nil
	}
	return p.stored(ctx, target{pub: pubr}, id)
}

// target is a publisher under some settings.
type target struct {
	pub    Publisher
	pp     Params
	params string // pp.Digest()
}

func (t target) refName(id objects.ID) string { return refName(t.pub, id, t.params) }

func (p *Publications) stored(ctx context.Context, t target, id objects.ID) (*Publication, bool, error) {
	root, err := p.st.Refs().Get(ctx, t.refName(id))
	if errors.Is(err, refs.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return &Publication{Version: id, Root: root, objs: p.st.Objects()}, true, nil
}

// load returns the stored publication of v, building and storing it if
// there is none.
func (p *Publications) load(ctx context.Context, t target, v *repo.Version) (*Publication, error) {
	if pub, ok, err := p.stored(ctx, t, v.ID); err != nil || ok {
		return pub, err
	}
	// The lease keeps gc from collecting what is written until the ref
	// names it.
	ctx, release, err := p.st.Objects().LongLease(ctx)
	if err != nil {
		return nil, err
	}
	pub, sync, err := p.build(ctx, t, v)
	if err != nil {
		release()
		return nil, err
	}
	if sync == nil {
		defer release()
		return p.name(ctx, t, v, pub)
	}
	// A small update is served from memory at once; syncing it (a
	// syncfs or two, slow on a busy disk) and naming it go on behind.
	p.bg.Add(1)
	go func() {
		defer p.bg.Done()
		defer release()
		if err := sync(ctx); err != nil {
			return // served from memory while this process lasts
		}
		_, _ = p.name(ctx, t, v, pub) // else the next process builds it
	}()
	return pub, nil
}

// Wait waits until the publications built so far are stored.
func (p *Publications) Wait() { p.bg.Wait() }

// name points v's publication ref at pub's tree.
func (p *Publications) name(ctx context.Context, t target, v *repo.Version, pub *Publication) (*Publication, error) {
	name := t.refName(v.ID)
	err := p.st.ApplyRefs(ctx, "publish "+v.ID.String(), refs.Update{Name: name, New: pub.Root})
	if errors.Is(err, refs.ErrConflict) {
		// Another process stored it meanwhile: the same files, as the
		// publication is a function of its inputs; use theirs.
		theirs, ok, err := p.stored(ctx, t, v.ID)
		if err == nil && !ok {
			err = fmt.Errorf("%s: conflict, then gone", name)
		}
		return theirs, err
	}
	if err != nil {
		return nil, err
	}
	return pub, nil
}

// maxAncestors bounds the versions searched for a stored publication to
// update from.
const maxAncestors = 16

// build writes the publication of v. sync, when not nil, makes it
// durable: until then it is read from memory.
func (p *Publications) build(ctx context.Context, t target, v *repo.Version) (pub *Publication, sync func(context.Context) error, err error) {
	pubr := t.pub
	objs := p.st.Objects()
	whole := func(fill func(w *Writer) error) (*Publication, func(context.Context) error, error) {
		// A whole build reads every node once: keep them out of the
		// store's cache of objects, which serves lookups.
		ctx := objects.Uncached(ctx)
		w, err := newWriter(ctx, objs, objects.ID{})
		if err != nil {
			return nil, nil, err
		}
		w.Params = t.pp
		if err := fill(w); err != nil {
			w.abort()
			return nil, nil, err
		}
		root, err := w.finish()
		if err != nil {
			return nil, nil, err
		}
		p.built(pubr, v, false, 0)
		return &Publication{Version: v.ID, Root: root, objs: objs}, nil, nil
	}
	inc, ok := pubr.(Incremental)
	if !ok {
		return whole(func(w *Writer) error {
			files, err := pubr.Publish(ctx, p.st, v)
			if err != nil {
				return err
			}
			for _, f := range files {
				if err := w.Put(f.Path, f.ContentType, f.Content); err != nil {
					return err
				}
			}
			return nil
		})
	}
	prev, pv, err := p.previous(ctx, t, v)
	if err != nil {
		return nil, nil, err
	}
	if prev != nil {
		pub, sync, n, err := p.update(ctx, inc, t.pp, prev, pv, v)
		if err == nil {
			p.built(pubr, v, true, n)
			return pub, sync, nil
		}
		if ctx.Err() != nil {
			return nil, nil, err
		}
		// Anything else (an earlier publication gc took meanwhile, a
		// publisher declining): build it whole.
	}
	return whole(func(w *Writer) error { return inc.Build(ctx, p.st, v, w) })
}

func (p *Publications) built(pubr Publisher, v *repo.Version, incremental bool, n int) {
	if p.Built != nil {
		p.Built(pubr.Kind(), v.ID, incremental, n)
	}
}

// previous finds the nearest ancestor of v (parents first) with a stored
// publication.
func (p *Publications) previous(ctx context.Context, t target, v *repo.Version) (*Publication, *repo.Version, error) {
	queue := slices.Clone(v.Parents)
	seen := map[objects.ID]bool{}
	for n := 0; len(queue) > 0 && n < maxAncestors; n++ {
		id := queue[0]
		queue = queue[1:]
		if seen[id] {
			continue
		}
		seen[id] = true
		p.mu.Lock()
		e := p.cache[pubKey{id, t.params}]
		p.mu.Unlock()
		if e != nil {
			if pub := e.done.Load(); pub != nil {
				pv, err := p.st.Version(ctx, id)
				if err == nil {
					return pub, pv, nil
				}
			}
		}
		pub, ok, err := p.stored(ctx, t, id)
		if err != nil {
			return nil, nil, err
		}
		pv, err := p.st.Version(ctx, id)
		if err != nil {
			return nil, nil, nil // collected: look no further
		}
		if ok {
			return pub, pv, nil
		}
		queue = append(queue, pv.Parents...)
	}
	return nil, nil, nil
}

// errTooManyChanges makes an update give way to a whole build.
var errTooManyChanges = errors.New("too many changes: build whole")

// update writes v's publication from prev, the publication of pv.
func (p *Publications) update(ctx context.Context, inc Incremental, pp Params, prev *Publication, pv, v *repo.Version) (*Publication, func(context.Context) error, int, error) {
	objs := p.st.Objects()
	n, err := tree.Count(ctx, objs, v.Tree)
	if err != nil {
		return nil, nil, 0, err
	}
	limit := max(1024, n/4)
	var changes []Change
	err = tree.Diff(ctx, objs, pv.Tree, v.Tree, func(o, nw *tree.Entry) error {
		if len(changes) == limit {
			return errTooManyChanges
		}
		changes = append(changes, Change{Old: o, New: nw})
		return nil
	})
	if err != nil {
		return nil, nil, 0, err
	}
	// prev may still be in memory: its writer's objects come first.
	w, err := newWriter(ctx, objs, prev.Root)
	if err != nil {
		return nil, nil, 0, err
	}
	w.Params = pp
	w.ov.keepBlobs = true
	if ov := prev.ov.Load(); ov != nil {
		w.ov.under = ov
	}
	if err := inc.UpdateFrom(ctx, p.st, prev, changes, v, w); err != nil {
		w.abort()
		return nil, nil, 0, err
	}
	pub, sync, ok, err := w.finishLater(v.ID)
	if err != nil || ok {
		return pub, sync, len(changes), err
	}
	root, err := w.finish()
	if err != nil {
		return nil, nil, 0, err
	}
	return &Publication{Version: v.ID, Root: root, objs: objs}, nil, len(changes), nil
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
