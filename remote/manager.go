package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pkgvc/pkgvc/httpx"
	"github.com/pkgvc/pkgvc/meta"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

// Manager creates, reads and changes remotes in a store and syncs them
// into repositories. It is safe for concurrent use; HTTP clients are
// built once per remote definition and reused.
type Manager struct {
	st        *repo.Store
	reg       *Registry
	now       func() time.Time
	backoff   httpx.Backoff
	userAgent string
	flushN    int   // flush kept downloads after this many blobs
	flushB    int64 // or this many bytes
	// flushT is the longest verified downloads stay unflushed, so that a
	// process killed in the middle of a long sync loses at most this much
	// of its work: the next sync finds the rest in the store.
	flushT time.Duration

	mu      sync.Mutex
	clients map[string]cachedClient // by remote name

	syncs  atomic.Pointer[prometheus.HistogramVec] // see RegisterMetrics
	stored atomic.Pointer[func(objects.ID)]        // see OnBlobStored
}

type cachedClient struct {
	doc meta.Rev // the remote document the client was built from
	c   *httpx.Client
}

// Option configures a Manager.
type Option func(*Manager)

// WithClock sets the clock for Created/Updated times.
func WithClock(now func() time.Time) Option { return func(m *Manager) { m.now = now } }

// WithRetryBackoff sets the wait between retries: retry n waits between
// half and all of min(max, base·2ⁿ). The default is 500 ms and 10 s.
func WithRetryBackoff(base, max time.Duration) Option {
	return func(m *Manager) { m.backoff = httpx.Backoff{Base: base, Max: max} }
}

// WithUserAgent sets the User-Agent of upstream requests.
func WithUserAgent(ua string) Option { return func(m *Manager) { m.userAgent = ua } }

// New returns a Manager for the remotes in st, syncing with the kinds in
// registry.
func New(st *repo.Store, registry *Registry, opts ...Option) *Manager {
	m := &Manager{
		st: st, reg: registry, now: time.Now, userAgent: "pkgvc",
		flushN: 1000, flushB: 1 << 30, flushT: 2 * time.Second,
		clients: make(map[string]cachedClient),
	}
	for _, o := range opts {
		o(m)
	}
	return m
}

// check validates r fully: its fields, its kind, its kind's own rules,
// and that its certificate and password files load.
func (m *Manager) check(r *Remote) error {
	if err := r.Validate(); err != nil {
		return err
	}
	s, err := m.reg.Lookup(r.Kind)
	if err != nil {
		return err
	}
	if err := checkOptions(r, m.reg.RemoteOptions(r.Kind)); err != nil {
		return fmt.Errorf("%w remote %s: %w", repo.ErrInvalid, r.Name, err)
	}
	if v, ok := s.(RemoteValidator); ok {
		if err := v.ValidateRemote(r); err != nil {
			return fmt.Errorf("%w remote %s: %w", repo.ErrInvalid, r.Name, err)
		}
	}
	c, err := m.newClient(r)
	if err != nil {
		return fmt.Errorf("%w remote %s: %w", repo.ErrInvalid, r.Name, err)
	}
	c.CloseIdleConnections()
	return nil
}

func (m *Manager) newClient(r *Remote) (*httpx.Client, error) {
	cfg := r.httpConfig()
	cfg.Backoff = m.backoff
	cfg.UserAgent = m.userAgent
	return httpx.New(cfg)
}

// Create stores a new remote; a taken name is an error matching
// repo.ErrExists. Zero fields get their defaults (policy immediate,
// DefaultConcurrency).
func (m *Manager) Create(ctx context.Context, r Remote) (*Remote, error) {
	r.withDefaults()
	if err := m.check(&r); err != nil {
		return nil, err
	}
	r.Created = m.now().UTC().Truncate(time.Second)
	r.Updated = r.Created
	_, err := meta.PutJSON(ctx, m.st.Meta(), docKey(r.Name), &r, "")
	if errors.Is(err, meta.ErrConflict) {
		return nil, fmt.Errorf("remote %s %w", r.Name, repo.ErrExists)
	}
	if err != nil {
		return nil, err
	}
	return r.redacted(), nil
}

// load reads a remote and the revision of its document.
func (m *Manager) load(ctx context.Context, name string) (*Remote, meta.Rev, error) {
	r, _, rev, err := m.loadRaw(ctx, name)
	return r, rev, err
}

func (m *Manager) loadRaw(ctx context.Context, name string) (*Remote, []byte, meta.Rev, error) {
	if err := repo.ValidateName(name); err != nil {
		return nil, nil, "", err
	}
	data, rev, err := m.st.Meta().Get(ctx, docKey(name))
	if errors.Is(err, meta.ErrNotFound) {
		return nil, nil, "", fmt.Errorf("%w: %s (see `pkgvc remote list`)", ErrRemoteNotFound, name)
	}
	if err != nil {
		return nil, nil, "", fmt.Errorf("remote %s: %w", name, err)
	}
	var r Remote
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, nil, "", fmt.Errorf("remote %s: %w", name, err)
	}
	m.dropUndeclared(&r)
	return &r, data, rev, nil
}

// dropUndeclared removes from a stored remote the settings its kind does
// not declare: earlier versions kept another kind's fields given on the
// command line (a python remote's --upstream-name), which meant nothing
// then and would now refuse every update and sync.
func (m *Manager) dropUndeclared(r *Remote) {
	if len(r.Options) == 0 {
		return
	}
	declared := map[string]bool{}
	for _, o := range m.reg.RemoteOptions(r.Kind) {
		declared[o.Field] = true
	}
	for k := range r.Options {
		if !declared[k] {
			delete(r.Options, k)
		}
	}
	r.Options = r.Options.Compact()
}

// RemoteDoc returns the metadata key of remote name's document, its value
// and revision, for a change elsewhere that must land only while the
// remote is as it is now (an op storing the same value) or that deletes
// it; an unknown name matches ErrRemoteNotFound.
func (m *Manager) RemoteDoc(ctx context.Context, name string) (string, []byte, meta.Rev, error) {
	_, data, rev, err := m.loadRaw(ctx, name)
	return docKey(name), data, rev, err
}

// RemoteKind returns remote name's kind; an unknown name matches
// ErrRemoteNotFound.
func (m *Manager) RemoteKind(ctx context.Context, name string) (string, error) {
	r, _, err := m.load(ctx, name)
	if err != nil {
		return "", err
	}
	return r.Kind, nil
}

// Forget drops what the manager keeps for a remote deleted by a change
// made elsewhere (see RemoteDoc).
func (m *Manager) Forget(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cc, ok := m.clients[name]; ok {
		cc.c.CloseIdleConnections()
		delete(m.clients, name)
	}
}

// Show returns one remote, without secrets; an unknown name matches
// ErrRemoteNotFound.
func (m *Manager) Show(ctx context.Context, name string) (*Remote, error) {
	r, _, err := m.load(ctx, name)
	if err != nil {
		return nil, err
	}
	return r.redacted(), nil
}

// List returns every remote, sorted by name, without secrets.
func (m *Manager) List(ctx context.Context) ([]Remote, error) {
	var names []string
	if err := m.st.Meta().List(ctx, docPrefix, func(key string, _ []byte, _ meta.Rev) error {
		names = append(names, key[len(docPrefix):])
		return nil
	}); err != nil {
		return nil, err
	}
	out := make([]Remote, 0, len(names))
	for _, n := range names {
		r, _, err := m.load(ctx, n)
		if errors.Is(err, ErrRemoteNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *r.redacted())
	}
	return out, nil
}

// maxUpdateRetries bounds how often Update re-applies its change when the
// remote changed meanwhile.
const maxUpdateRetries = 10

// Update changes a remote: it reads it, lets change edit a copy, checks
// the result and stores it with a compare-and-swap on the remote's ref,
// re-reading and re-applying change if another writer got there first.
// The name and creation time cannot change. An error from change is
// returned as is.
func (m *Manager) Update(ctx context.Context, name string, change func(*Remote) error) (*Remote, error) {
	for attempt := 0; ; attempt++ {
		cur, old, err := m.load(ctx, name)
		if err != nil {
			return nil, err
		}
		r := *cur
		r.Include = append([]string(nil), cur.Include...)
		r.Exclude = append([]string(nil), cur.Exclude...)
		r.Options = maps.Clone(cur.Options)
		if err := change(&r); err != nil {
			return nil, err
		}
		if r.Name != name {
			return nil, fmt.Errorf("%w: remote %s cannot be renamed", repo.ErrInvalid, name)
		}
		r.Created = cur.Created
		r.withDefaults()
		if err := m.check(&r); err != nil {
			return nil, err
		}
		r.Updated = m.now().UTC().Truncate(time.Second)
		_, err = meta.PutJSON(ctx, m.st.Meta(), docKey(name), &r, old)
		if errors.Is(err, meta.ErrConflict) && attempt < maxUpdateRetries {
			continue
		}
		if errors.Is(err, meta.ErrConflict) {
			// Deleted meanwhile, or too busy.
			if _, _, lerr := m.load(ctx, name); lerr != nil {
				return nil, lerr
			}
		}
		if err != nil {
			return nil, err
		}
		return r.redacted(), nil
	}
}

// Delete removes a remote. Records synced on demand from it can no longer
// be fetched (FetchBlob reports ErrRemoteNotFound).
func (m *Manager) Delete(ctx context.Context, name string) error {
	for attempt := 0; ; attempt++ {
		_, old, err := m.load(ctx, name)
		if err != nil {
			return err
		}
		err = meta.DeleteIf(ctx, m.st.Meta(), docKey(name), old)
		if errors.Is(err, meta.ErrConflict) && attempt < maxUpdateRetries {
			continue
		}
		if err != nil {
			return err
		}
		m.Forget(name)
		return nil
	}
}

// client returns the HTTP client for r as stored in document doc.
func (m *Manager) client(r *Remote, doc meta.Rev) (*httpx.Client, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cc, ok := m.clients[r.Name]; ok && cc.doc == doc {
		return cc.c, nil
	}
	c, err := m.newClient(r)
	if err != nil {
		return nil, fmt.Errorf("remote %s: %w", r.Name, err)
	}
	if cc, ok := m.clients[r.Name]; ok {
		cc.c.CloseIdleConnections()
	}
	m.clients[r.Name] = cachedClient{doc: doc, c: c}
	return c, nil
}

// knownSize reports the size of a blob the store already holds.
func (m *Manager) knownSize(ctx context.Context, id objects.ID) (int64, bool) {
	st, err := m.st.Objects().StatBlob(ctx, id)
	if err != nil {
		return 0, false
	}
	return st.Size, true
}

// OnBlobStored has f called with each blob a sync, pull or on-demand fetch
// of this Manager downloaded, verified and stored — e.g. so that a content
// server in the same process serves it without hashing it again.
func (m *Manager) OnBlobStored(f func(objects.ID)) { m.stored.Store(&f) }

// blobsStored reports ids to the OnBlobStored hook.
func (m *Manager) blobsStored(ids ...objects.ID) {
	if f := m.stored.Load(); f != nil {
		for _, id := range ids {
			(*f)(id)
		}
	}
}
