package repo

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"time"

	"github.com/pkgvc/pkgvc/meta"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/refs"
)

// Store is a set of repositories over one object store and one ref store.
type Store struct {
	objects *objects.Store
	refs    refs.Backend
	meta    meta.Store
	kinds   *Kinds
	now     func() time.Time
	who     string
	workers int
}

// Option configures a Store.
type Option func(*Store)

// WithClock sets the clock used for version times; the ref backend stamps
// reflog entries with its own clock.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithWho sets the identity recorded as author and in the reflog.
func WithWho(who string) Option { return func(s *Store) { s.who = who } }

// WithMeta sets the metadata store (configuration documents, tasks,
// pins); a Store needs one (package meta/mem keeps them in memory).
func WithMeta(m meta.Store) Option { return func(s *Store) { s.meta = m } }

// WithWorkers bounds how many files a commit ingests at once.
func WithWorkers(n int) Option { return func(s *Store) { s.workers = n } }

// New returns a Store over the given object and ref stores.
func New(objs *objects.Store, r refs.Backend, kinds *Kinds, opts ...Option) *Store {
	s := &Store{objects: objs, refs: r, kinds: kinds, now: time.Now, who: defaultWho(), workers: 4}
	for _, o := range opts {
		o(s)
	}
	if s.meta == nil {
		panic("repo.New: no metadata store (give WithMeta)")
	}
	return s
}

// Meta returns the metadata store.
func (s *Store) Meta() meta.Store { return s.meta }

// Objects returns the underlying object store.
func (s *Store) Objects() *objects.Store { return s.objects }

// Refs returns the underlying ref store.
func (s *Store) Refs() refs.Backend { return s.refs }

// Kinds returns the content kind registry.
func (s *Store) Kinds() *Kinds { return s.kinds }

// Who returns the identity recorded for changes.
func (s *Store) Who() string { return s.who }

func defaultWho() string {
	if w := os.Getenv("PKGVC_AUTHOR"); w != "" {
		return w
	}
	name := "unknown"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	host, _ := os.Hostname()
	if host == "" {
		return name
	}
	return name + "@" + host
}

// readCommit loads a commit object.
func (s *Store) readCommit(ctx context.Context, id objects.ID) (*Commit, error) {
	data, err := s.objects.GetObject(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("read version %s: %w", id, err)
	}
	c, err := decodeCommit(data)
	if err != nil {
		return nil, fmt.Errorf("version %s: %w", id, err)
	}
	return c, nil
}
