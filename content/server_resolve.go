package content

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/meta"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/tree"
)

// distTable maps base paths to distributions, as of one read of the refs.
type distTable struct {
	byBase map[string]*distEntry
	// namespaces are the namespace caches, which serve no path of their
	// own (see namespaceTarget).
	namespaces []*distEntry
	nsDists    []*dist.Distribution // namespaces' distributions, for dist.NamespaceOf
	listed     time.Time            // when the refs were listed
	stamp      repo.RefsStamp       // the refs stamp before listing, if fresh
	fresh      bool
}

// distEntry is one distribution document; an entry is valid for as long
// as the distribution's document still has revision rev.
type distEntry struct {
	name, key, basePath string
	rev                 meta.Rev
	d                   *dist.Distribution
	pub                 publish.Params            // what its publication is made under
	check               atomic.Pointer[distCheck] // refs as read at a stamp
	last                atomic.Pointer[verState]  // the version served last
}

// distCheck is what the refs said about a distribution at a refs stamp:
// its document was current and its repository's head was head.
type distCheck struct {
	stamp repo.RefsStamp
	head  objects.ID
}

// stamp reads the refs stamp, if the server watches the refs.
func (s *Server) stamp() (repo.RefsStamp, bool) {
	if s.watch == nil {
		return repo.RefsStamp{}, false
	}
	st, err := s.watch.Stamp()
	return st, err == nil
}

// resolve finds the distribution serving rest (the URL path after
// ContentPrefix, decoded) and the version it serves now. It returns the
// path inside the distribution and whether rest is the bare base path
// (which redirects to base path + "/"); no distribution and no error when
// none serves rest.
//
// The refs are read for every request, so a commit, a promotion or a
// changed distribution is served at once: the matched distribution's
// document revision and its repository's head are looked up, unless the
// refs watch shows that no ref or document changed since they were; a path no distribution serves
// makes the table of distributions be read again.
func (s *Server) resolve(ctx context.Context, rest string) (*distEntry, string, bool, *verState, error) {
	stamp, fresh := s.stamp()
	t := s.table.Load()
	for attempt := 0; attempt < 3; attempt++ {
		if t == nil {
			var err error
			if t, err = s.rebuild(ctx, nil, stamp, fresh); err != nil {
				return nil, "", false, nil, err
			}
		}
		de, sub, exact := t.match(rest)
		if de == nil {
			if attempt > 0 || (fresh && t.fresh && t.stamp == stamp) {
				return nil, "", false, nil, nil
			}
		} else {
			head, ok, err := s.check(ctx, de, stamp, fresh)
			if err != nil {
				return nil, "", false, nil, err
			}
			if ok {
				cur, err := s.current(ctx, de, head)
				return de, sub, exact, cur, err
			}
		}
		var err error
		if t, err = s.rebuild(ctx, t, stamp, fresh); err != nil {
			return nil, "", false, nil, err
		}
	}
	return nil, "", false, nil, fmt.Errorf("distributions keep changing, retry")
}

// check reports whether de's document is still current and returns the
// head of the repository it follows (zero for a pinned one).
func (s *Server) check(ctx context.Context, de *distEntry, stamp repo.RefsStamp, fresh bool) (objects.ID, bool, error) {
	if fresh {
		if c := de.check.Load(); c != nil && c.stamp == stamp {
			return c.head, true, nil
		}
	}
	_, rev, err := s.st.Meta().Get(ctx, de.key)
	if errors.Is(err, meta.ErrNotFound) || err == nil && rev != de.rev {
		return objects.ID{}, false, nil
	}
	if err != nil {
		return objects.ID{}, false, err
	}
	var head objects.ID
	if de.d.Version.IsZero() && de.d.Repo != "" {
		if head, err = s.st.HeadID(ctx, de.d.Repo); err != nil {
			return objects.ID{}, false, err
		}
	}
	if fresh {
		de.check.Store(&distCheck{stamp: stamp, head: head})
	}
	return head, true, nil
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

// rebuild reads the distribution refs again, reusing the entries of
// documents already known. Concurrent callers share one rebuild: a table
// listed after a caller asked is as good as its own.
func (s *Server) rebuild(ctx context.Context, seen *distTable, stamp repo.RefsStamp, fresh bool) (*distTable, error) {
	asked := time.Now()
	s.tableMu.Lock()
	defer s.tableMu.Unlock()
	cur := s.table.Load()
	if cur != nil && cur != seen && (cur.listed.After(asked) || fresh && cur.fresh && cur.stamp == stamp) {
		return cur, nil
	}
	old := map[meta.Rev]*distEntry{}
	if cur != nil {
		for _, de := range cur.byBase {
			old[de.rev] = de
		}
		for _, de := range cur.namespaces {
			old[de.rev] = de
		}
	}
	listed := time.Now()
	t := &distTable{byBase: map[string]*distEntry{}, listed: listed, stamp: stamp, fresh: fresh}
	if err := s.st.Meta().List(ctx, dist.DocPrefix, func(key string, value []byte, rev meta.Rev) error {
		de := old[rev]
		if de == nil || de.key != key {
			var d dist.Distribution
			if err := json.Unmarshal(value, &d); err != nil {
				return fmt.Errorf("distribution %s: %w", strings.TrimPrefix(key, dist.DocPrefix), err)
			}
			de = &distEntry{name: d.Name, key: key, basePath: d.BasePath, rev: rev, d: &d, pub: publish.NewParams(d.Options)}
		}
		if de.d.Namespace() {
			t.namespaces = append(t.namespaces, de)
			t.nsDists = append(t.nsDists, de.d)
			return nil
		}
		t.byBase[de.basePath] = de
		return nil
	}); err != nil {
		return nil, err
	}
	s.table.Store(t)
	return t, nil
}

// current returns the version a distribution serves, given the head of
// the repository it follows.
func (s *Server) current(ctx context.Context, de *distEntry, head objects.ID) (*verState, error) {
	id := de.d.Version
	if id.IsZero() {
		id = head
	}
	if id.IsZero() {
		if _, err := s.st.RepoHead(ctx, de.d.Repo); err != nil {
			return nil, fmt.Errorf("distribution %s: %w", de.name, err)
		}
		return nil, &noVersionError{dist: de.name, repo: de.d.Repo}
	}
	if vs := de.last.Load(); vs != nil && vs.v.ID == id {
		return vs, nil
	}
	vs, err := s.version(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("distribution %s: %w", de.name, err)
	}
	if err := s.checkKind(ctx, de, vs.v); err != nil {
		return nil, err
	}
	de.last.Store(vs)
	return vs, nil
}

// checkKind refuses to serve version v in de if it holds content of
// another kind than de serves: its repository was deleted and made again
// with another kind under its name. Versions an older pkgvc made without a
// recorded kind are served as before.
func (s *Server) checkKind(ctx context.Context, de *distEntry, v *repo.Version) error {
	kind, err := s.st.ReachedKind(ctx, v) // v as read: no second read of its commit
	if errors.Is(err, repo.ErrNeedsUpgrade) || de.d.Kind == "" {
		return nil
	}
	if err != nil {
		return fmt.Errorf("distribution %s: %w", de.name, err)
	}
	if kind != de.d.Kind {
		return fmt.Errorf("%w: distribution %s serves %s content, and repository %s now holds %s versions; `pkgvc dist delete %s` and create it again",
			repo.ErrKindMismatch, de.name, de.d.Kind, de.d.Repo, kind, de.name)
	}
	return nil
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
			if v.Parents[0] == id {
				ok = true
				break
			}
			var pv *repo.Version
			if vs, hit := s.versions.Get(v.Parents[0]); hit {
				pv = vs.v
			} else if pv, err = s.st.Version(ctx, v.Parents[0]); errors.Is(err, objects.ErrNotFound) {
				break // beyond a retention boundary
			} else if err != nil {
				return nil, false, err
			}
			v = pv
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
	count   atomic.Int64 // records + 1; 0 until known
}

// lookupEntry is the result of looking a path up in a version.
type lookupEntry struct {
	found bool
	rec   repo.Record
	ctype []string
	disp  []string // Content-Disposition; nil for none
}

var notFoundEntry = &lookupEntry{}

// lookup finds the record at p, caching the answer (found or not).
func (vs *verState) lookup(ctx context.Context, s *Server, p string) (*lookupEntry, error) {
	m := vs.lookups.Load()
	if x, ok := m.Load(p); ok {
		return x.(*lookupEntry), nil
	}
	rec, found, err := tree.Get(ctx, s.st.Objects(), vs.v.Tree, p)
	if err != nil {
		return nil, err
	}
	le := notFoundEntry
	if found {
		ct := contentType(p)
		le = &lookupEntry{found: true, rec: rec, ctype: ct, disp: disposition(p, ct)}
	}
	if vs.nlook.Add(1) > maxLookups {
		vs.nlook.Store(0)
		vs.lookups.Store(&sync.Map{})
		m = vs.lookups.Load()
	}
	m.Store(p, le)
	return le, nil
}

// count returns the number of records of a version.
func (s *Server) count(ctx context.Context, vs *verState) (int, error) {
	if n := vs.count.Load(); n > 0 {
		return int(n - 1), nil
	}
	n, err := tree.Count(ctx, s.st.Objects(), vs.v.Tree)
	if err != nil {
		return 0, err
	}
	vs.count.Store(int64(n) + 1)
	return n, nil
}

// records returns every record of a version sorted by path, cached while
// the total stays within maxListed records.
func (s *Server) records(ctx context.Context, vs *verState) ([]repo.Record, error) {
	if rs, ok := s.listings.Get(vs.v.ID); ok {
		return rs, nil
	}
	rs, err := tree.Sorted(ctx, s.st.Objects(), vs.v.Tree)
	if err != nil {
		return nil, err
	}
	s.listings.Add(vs.v.ID, rs, int64(len(rs))+1)
	return rs, nil
}

// noVersionError reports a distribution whose repository has no version.
type noVersionError struct{ dist, repo string }

func (e *noVersionError) Error() string {
	return "distribution " + e.dist + ": repository " + e.repo + " has no version yet"
}

func (e *noVersionError) Unwrap() error { return repo.ErrVersionNotFound }
