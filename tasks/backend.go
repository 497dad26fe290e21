package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/pkgvc/pkgvc/meta"
	"github.com/pkgvc/pkgvc/refs"
	"github.com/pkgvc/pkgvc/repo"
)

// Version identifies one stored value of a key; "" means absent. A
// Backend gives every write of a key a version that key never had.
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

// MetaBackend is a Backend in a metadata store: each key is a document of
// the same key, and versions are its revisions.
type MetaBackend struct {
	m meta.Store
}

var _ Backend = (*MetaBackend)(nil)

// NewMetaBackend returns the Backend over m.
func NewMetaBackend(m meta.Store) *MetaBackend { return &MetaBackend{m: m} }

// NewStoreBackend returns the Backend of st: its metadata store.
func NewStoreBackend(st *repo.Store) *MetaBackend { return NewMetaBackend(st.Meta()) }

// Get implements Backend.
func (b *MetaBackend) Get(ctx context.Context, key string, v any) (Version, error) {
	rev, err := meta.GetJSON(ctx, b.m, key, v)
	if err != nil {
		return "", repo.MetaErr(err)
	}
	return Version(rev), nil
}

// List implements Backend.
func (b *MetaBackend) List(ctx context.Context, prefix string, fn func(string, Version) error) error {
	return b.m.List(ctx, prefix, func(key string, _ []byte, rev meta.Rev) error {
		return fn(key, Version(rev))
	})
}

// Apply implements Backend.
func (b *MetaBackend) Apply(ctx context.Context, action string, puts ...Put) ([]Version, error) {
	ops := make([]meta.Op, len(puts))
	for i, p := range puts {
		ops[i] = meta.Op{Key: p.Key, Old: meta.Rev(p.Old)}
		if p.Value != nil {
			data, err := json.Marshal(p.Value)
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", action, p.Key, err)
			}
			ops[i].Value = data
		}
	}
	revs, err := b.m.Apply(ctx, ops...)
	if err != nil {
		return nil, repo.MetaErr(err)
	}
	vers := make([]Version, len(revs))
	for i, r := range revs {
		vers[i] = Version(r)
	}
	return vers, nil
}

// isConflict reports whether err is a failed compare-and-swap.
func isConflict(err error) bool { return errors.Is(err, ErrConflict) }
