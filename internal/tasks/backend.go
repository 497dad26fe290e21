package tasks

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/refs"
	"github.com/pkgvc/pkgvc/repo"
)

// Version identifies one stored value of a key; "" means absent. A
// Backend gives every write of a key a different version unless the value
// is the same.
type Version string

// Put is one compare-and-swap in Backend.Apply: Old must be the key's
// current version ("": the key must not exist). A nil Value deletes the
// key.
type Put struct {
	Key   string
	Old   Version
	Value any
}

// Backend stores task, schedule and lock documents as JSON values under
// '/'-separated keys of lower-case letters, digits, '.', '_' and '-'.
type Backend interface {
	// Get loads key's value into v and returns its version; a missing key
	// is an error matching ErrNotFound.
	Get(ctx context.Context, key string, v any) (Version, error)
	// List calls fn for each key under prefix, in key order, with its
	// version. An error from fn stops the walk and is returned.
	List(ctx context.Context, prefix string, fn func(key string, ver Version) error) error
	// Apply makes every put or none: if any Old does not match, nothing
	// changes and the error matches ErrConflict. It returns the new
	// versions, one per put. Action describes the change for logs.
	Apply(ctx context.Context, action string, puts ...Put) ([]Version, error)
}

var (
	// ErrNotFound matches a missing key; it is repo.ErrNotFound.
	ErrNotFound = repo.ErrNotFound
	// ErrConflict matches a failed compare-and-swap; it is refs.ErrConflict.
	ErrConflict = refs.ErrConflict
)

// configPrefix is where StoreBackend keeps its documents.
const configPrefix = "config/"

// StoreBackend is a Backend in a repo.Store: each key is a document named
// by the ref "config/<key>", and versions are document ids.
type StoreBackend struct {
	st *repo.Store
}

var _ Backend = (*StoreBackend)(nil)

// NewStoreBackend returns the Backend of st.
func NewStoreBackend(st *repo.Store) *StoreBackend { return &StoreBackend{st: st} }

// Get implements Backend.
func (b *StoreBackend) Get(ctx context.Context, key string, v any) (Version, error) {
	id, err := b.st.ReadDocRef(ctx, configPrefix+key, v)
	if err != nil {
		return "", err
	}
	return Version(id.String()), nil
}

// List implements Backend.
func (b *StoreBackend) List(ctx context.Context, prefix string, fn func(string, Version) error) error {
	return b.st.Refs().List(ctx, configPrefix+prefix, func(name string, id objects.ID) error {
		return fn(strings.TrimPrefix(name, configPrefix), Version(id.String()))
	})
}

// Apply implements Backend.
func (b *StoreBackend) Apply(ctx context.Context, action string, puts ...Put) ([]Version, error) {
	ups := make([]refs.Update, len(puts))
	vers := make([]Version, len(puts))
	for i, p := range puts {
		u := refs.Update{Name: configPrefix + p.Key}
		if p.Old != "" {
			id, err := objects.ParseID(string(p.Old))
			if err != nil {
				return nil, fmt.Errorf("%s: version %q: %w", p.Key, p.Old, err)
			}
			u.Old = id
		}
		if p.Value != nil {
			id, err := b.st.WriteDoc(ctx, p.Value)
			if err != nil {
				return nil, fmt.Errorf("write %s: %w", p.Key, err)
			}
			u.New = id
			vers[i] = Version(id.String())
		}
		ups[i] = u
	}
	if err := b.st.ApplyRefs(ctx, action, ups...); err != nil {
		return nil, err
	}
	return vers, nil
}

// isConflict reports whether err is a failed compare-and-swap.
func isConflict(err error) bool { return errors.Is(err, ErrConflict) }
