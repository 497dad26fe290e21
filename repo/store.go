package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/pkgvc/pkgvc/meta"
	metafs "github.com/pkgvc/pkgvc/meta/fs"
	metamem "github.com/pkgvc/pkgvc/meta/mem"
	"github.com/pkgvc/pkgvc/objects"
	objectsfs "github.com/pkgvc/pkgvc/objects/fs"
	"github.com/pkgvc/pkgvc/refs"
	refsfs "github.com/pkgvc/pkgvc/refs/fs"
)

// FormatVersion is the store layout this pkgvc reads and writes. Format 2
// keeps configuration documents and tasks in the metadata store ("meta");
// format 1 kept them as objects named by refs under "config/", and
// Upgrade converts it.
const FormatVersion = 2

// metaDir is where OpenDir keeps the metadata store (package meta/fs).
const metaDir = "meta"

// formatFile marks a directory as a pkgvc store and records its format.
const formatFile = "pkgvc-store.json"

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
// pins); without it a Store keeps them in memory.
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
		s.meta = metamem.New()
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

// OpenDir opens the local store in dir, creating it if dir is missing or
// empty. A non-empty directory without the store marker is refused, and so is
// a store written in a newer format.
func OpenDir(ctx context.Context, dir string, kinds *Kinds, opts ...Option) (*Store, error) {
	if err := prepareDir(dir, false); err != nil {
		return nil, err
	}
	return openDir(dir, kinds, opts...)
}

func openDir(dir string, kinds *Kinds, opts ...Option) (*Store, error) {
	mb, err := metafs.New(filepath.Join(dir, metaDir))
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	ob, err := objectsfs.New(filepath.Join(dir, "data"))
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	rb, err := refsfs.New(filepath.Join(dir, "refs"))
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	opts = append([]Option{WithMeta(mb)}, opts...)
	return New(objects.New(ob, objects.WithTempDir(filepath.Join(dir, "data", "tmp"))), rb, kinds, opts...), nil
}

// OpenExistingDir opens the store in dir as OpenDir does, but creates
// none: a dir that is missing or empty is ErrNoStore.
func OpenExistingDir(ctx context.Context, dir string, kinds *Kinds, opts ...Option) (*Store, error) {
	if _, err := os.Stat(filepath.Join(dir, formatFile)); errors.Is(err, os.ErrNotExist) {
		ents, err := os.ReadDir(dir)
		if errors.Is(err, os.ErrNotExist) || (err == nil && len(ents) == 0) {
			return nil, fmt.Errorf("%w at %s", ErrNoStore, dir)
		}
	}
	return OpenDir(ctx, dir, kinds, opts...) // refuses what is not a store
}

type formatDoc struct {
	Format int `json:"format"`
}

// readFormat returns the format of the store in dir; a missing marker is
// os.ErrNotExist.
func readFormat(dir string) (int, error) {
	data, err := os.ReadFile(filepath.Join(dir, formatFile))
	if err != nil {
		return 0, err
	}
	var f formatDoc
	if err := json.Unmarshal(data, &f); err != nil || f.Format < 1 {
		return 0, fmt.Errorf("%w: %s has an unreadable %s", ErrNotStore, dir, formatFile)
	}
	return f.Format, nil
}

// prepareDir checks the store in dir, or makes one; old accepts a store
// in an older format, for Upgrade.
func prepareDir(dir string, old bool) error {
	format, err := readFormat(dir)
	switch {
	case err == nil:
		if format > FormatVersion {
			return fmt.Errorf("%w: %s is in store format %d, this pkgvc reads format %d; upgrade pkgvc", ErrFormat, dir, format, FormatVersion)
		}
		if format < FormatVersion && !old {
			return fmt.Errorf("%w: %s: store format %d: run pkgvc upgrade", ErrUpgrade, dir, format)
		}
		return nil
	case errors.Is(err, ErrNotStore):
		return err
	case errors.Is(err, syscall.ENOTDIR):
		return fmt.Errorf("%w: %s is a file", ErrNotStore, dir)
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("open store %s: %w", dir, err)
	}
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%w: %s is a file", ErrNotStore, dir)
		}
		ents, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("open store %s: %w", dir, err)
		}
		others := 0
		for _, e := range ents {
			if !strings.HasPrefix(e.Name(), ".format-") { // another process initializing
				others++
			}
		}
		if others > 0 {
			return fmt.Errorf("%w: %s is not empty and has no %s; give --store an empty or new directory", ErrNotStore, dir, formatFile)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create store %s: %w", dir, err)
	}
	return writeFormat(dir, FormatVersion)
}

// writeFormat records the store's format, atomically.
func writeFormat(dir string, format int) error {
	marker := filepath.Join(dir, formatFile)
	data, _ := json.Marshal(formatDoc{Format: format})
	tmp, err := os.CreateTemp(dir, ".format-*")
	if err != nil {
		return fmt.Errorf("create store %s: %w", dir, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), marker)
}

// putSmall writes one small object outside of any batch and makes it
// durable, under a lease (see GC).
func (s *Store) putSmall(ctx context.Context, data []byte) (objects.ID, error) {
	ctx, release, err := s.objects.Lease(ctx)
	if err != nil {
		return objects.ID{}, err
	}
	defer release()
	b := s.objects.NewBatch()
	res, err := b.PutObject(ctx, data)
	if err != nil {
		b.Abort()
		return objects.ID{}, err
	}
	if err := b.Flush(ctx); err != nil {
		return objects.ID{}, err
	}
	return res.ID, nil
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
