package publish

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/tree"
)

// distTable maps base paths to distributions, as of one read of the refs.
type distTable struct {
	byBase map[string]*distEntry
}

// distEntry is one distribution document; docs are immutable, so an entry
// is valid for as long as the distribution's ref still names doc.
type distEntry struct {
	name, ref, basePath string
	doc                 objects.ID
	d                   *Distribution
}

// match finds the distribution serving rest (the URL path after
// ContentPrefix, decoded). It returns the path inside the distribution and
// whether rest is the bare base path (which redirects to base path + "/").
// The matched distribution's ref is re-read, so a changed or deleted
// distribution is noticed at once; a path no distribution serves makes the
// table be rebuilt, so a new one is noticed too.
func (s *Server) match(ctx context.Context, rest string) (*distEntry, string, bool, error) {
	t := s.table.Load()
	for attempt := 0; attempt < 3; attempt++ {
		if t == nil {
			var err error
			if t, err = s.rebuild(ctx, nil); err != nil {
				return nil, "", false, err
			}
		}
		de, sub, exact := t.match(rest)
		if de != nil && expNoRefs {
			return de, sub, exact, nil
		}
		if de != nil {
			id, err := s.st.Refs().Get(ctx, de.ref)
			if err == nil && id == de.doc {
				return de, sub, exact, nil
			}
		} else if attempt > 0 {
			return nil, "", false, nil // freshly read: no such distribution
		}
		var err error
		if t, err = s.rebuild(ctx, t); err != nil {
			return nil, "", false, err
		}
	}
	return nil, "", false, fmt.Errorf("distributions keep changing, retry")
}

func (t *distTable) match(rest string) (*distEntry, string, bool) {
	for i := 0; i < len(rest); i++ {
		if rest[i] != '/' {
			continue
		}
		if de, ok := t.byBase[rest[:i]]; ok {
			return de, rest[i+1:], false
		}
	}
	if de, ok := t.byBase[rest]; ok {
		return de, "", true
	}
	return nil, "", false
}

// rebuild reads the distribution refs again, reusing the entries of the
// table seen (if still current) and of the installed table. Concurrent
// callers share one rebuild.
func (s *Server) rebuild(ctx context.Context, seen *distTable) (*distTable, error) {
	s.tableMu.Lock()
	defer s.tableMu.Unlock()
	cur := s.table.Load()
	if cur != seen && cur != nil {
		return cur, nil // rebuilt meanwhile
	}
	old := map[objects.ID]*distEntry{}
	if cur != nil {
		for _, de := range cur.byBase {
			old[de.doc] = de
		}
	}
	type ref struct {
		name string
		id   objects.ID
	}
	var all []ref
	if err := s.st.Refs().List(ctx, "config/dists/", func(name string, id objects.ID) error {
		all = append(all, ref{name, id})
		return nil
	}); err != nil {
		return nil, err
	}
	t := &distTable{byBase: make(map[string]*distEntry, len(all))}
	for _, rf := range all {
		de := old[rf.id]
		if de == nil || de.ref != rf.name {
			var d Distribution
			if err := s.st.ReadDoc(ctx, rf.id, &d); err != nil {
				return nil, fmt.Errorf("distribution %s: %w", strings.TrimPrefix(rf.name, "config/dists/"), err)
			}
			de = &distEntry{name: d.Name, ref: rf.name, basePath: d.BasePath, doc: rf.id, d: &d}
		}
		t.byBase[de.basePath] = de
	}
	s.table.Store(t)
	return t, nil
}

// current returns the version a distribution serves now.
func (s *Server) current(ctx context.Context, de *distEntry) (*verState, error) {
	id := de.d.Version
	if expNoRefs {
		if x := expHead.Load(); x != nil {
			id = *x
		}
	}
	if id.IsZero() {
		var err error
		if id, err = s.st.HeadID(ctx, de.d.Repo); err != nil {
			return nil, err
		}
		if id.IsZero() {
			if _, err := s.st.RepoHead(ctx, de.d.Repo); err != nil {
				return nil, fmt.Errorf("distribution %s: %w", de.name, err)
			}
			return nil, fmt.Errorf("distribution %s: repository %s has no version yet: %w", de.name, de.d.Repo, repo.ErrVersionNotFound)
		}
	}
	if expNoRefs {
		expHead.Store(&id)
	}
	vs, err := s.version(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("distribution %s: %w", de.name, err)
	}
	return vs, nil
}

// version returns the cached state of version id.
func (s *Server) version(ctx context.Context, id objects.ID) (*verState, error) {
	if vs, ok := s.versions.Get(id); ok {
		return vs, nil
	}
	v, err := s.st.Version(ctx, id)
	if err != nil {
		return nil, err
	}
	vs := &verState{v: v}
	vs.lookups.Store(&sync.Map{})
	s.versions.Add(id, vs, 1)
	return vs, nil
}

// versionFor returns version id if cur's first-parent history reaches it:
// the versions a distribution has served or could have served.
func (s *Server) versionFor(ctx context.Context, cur *verState, id objects.ID) (*verState, bool, error) {
	if id == cur.v.ID {
		return cur, true, nil
	}
	key := [2]objects.ID{cur.v.ID, id}
	ok, cached := s.reach.Get(key)
	if !cached {
		target, err := s.version(ctx, id)
		if errors.Is(err, objects.ErrNotFound) || errors.Is(err, repo.ErrCorrupt) || errors.Is(err, repo.ErrNotFound) {
			s.reach.Add(key, false, 1)
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		ok = false
		v := cur.v
		for len(v.Parents) > 0 && v.Number > target.v.Number {
			pv, err := s.version(ctx, v.Parents[0])
			if errors.Is(err, objects.ErrNotFound) {
				break // beyond a retention boundary
			}
			if err != nil {
				return nil, false, err
			}
			if pv.v.ID == id {
				ok = true
				break
			}
			v = pv.v
		}
		s.reach.Add(key, ok, 1)
	}
	if !ok {
		return nil, false, nil
	}
	vs, err := s.version(ctx, id)
	return vs, err == nil, err
}

// verState is what the server knows about one immutable version.
type verState struct {
	v       *repo.Version
	lookups atomic.Pointer[sync.Map] // package path -> *lookupEntry
	nlook   atomic.Int64
	pub     atomic.Pointer[pubSlot]
}

// lookupEntry is the result of looking a path up in a version.
type lookupEntry struct {
	found bool
	rec   repo.Record
	ctype []string
}

var notFoundEntry = &lookupEntry{}

// lookup finds the record at p, caching the answer (found or not).
func (vs *verState) lookup(ctx context.Context, s *Server, p string) (*lookupEntry, error) {
	m := vs.lookups.Load()
	if x, ok := m.Load(p); ok {
		return x.(*lookupEntry), nil
	}
	rec, found, err := tree.Get(ctx, nodeGetter{s}, vs.v.Tree, p)
	if err != nil {
		return nil, err
	}
	le := notFoundEntry
	if found {
		le = &lookupEntry{found: true, rec: rec, ctype: contentType(p)}
	}
	if vs.nlook.Add(1) > maxLookups {
		vs.nlook.Store(0)
		vs.lookups.Store(&sync.Map{})
		m = vs.lookups.Load()
	}
	m.Store(p, le)
	return le, nil
}

// nodeGetter reads tree objects through the server's cache of them.
type nodeGetter struct{ s *Server }

func (g nodeGetter) GetObject(ctx context.Context, id objects.ID) ([]byte, error) {
	if b, ok := g.s.nodes.Get(id); ok {
		return b, nil
	}
	b, err := g.s.st.Objects().GetObject(ctx, id)
	if err != nil {
		return nil, err
	}
	g.s.nodes.Add(id, b, int64(len(b))+64)
	return b, nil
}

// records returns every record of q's version sorted by path, cached for
// versions of moderate size.
func (s *Server) records(ctx context.Context, vs *verState) ([]repo.Record, error) {
	if rs, ok := s.listings.Get(vs.v.ID); ok {
		return rs, nil
	}
	rs, err := tree.Sorted(ctx, nodeGetter{s}, vs.v.Tree)
	if err != nil {
		return nil, err
	}
	s.listings.Add(vs.v.ID, rs, int64(len(rs))+1)
	return rs, nil
}

var expNoRefs = os.Getenv("EXP_NOREFS") != ""
var expHead atomic.Pointer[objects.ID]
