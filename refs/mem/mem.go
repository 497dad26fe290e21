package mem

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/refs"
)

var (
	_ refs.Backend = (*Backend)(nil)
	_ refs.Expirer = (*Backend)(nil)
)

// Backend keeps refs and their reflog in memory. The zero value is not
// usable; call New.
type Backend struct {
	mu   sync.Mutex
	refs map[string]objects.ID
	log  []refs.Entry
}

// New returns an empty Backend.
func New() *Backend {
	return &Backend{refs: make(map[string]objects.ID)}
}

// Get returns the current value of the ref.
func (b *Backend) Get(ctx context.Context, name string) (objects.ID, error) {
	if err := ctx.Err(); err != nil {
		return objects.ID{}, err
	}
	if err := refs.ValidName(name); err != nil {
		return objects.ID{}, err
	}
	b.mu.Lock()
	id, ok := b.refs[name]
	b.mu.Unlock()
	if !ok {
		return objects.ID{}, refs.NotFound(name)
	}
	return id, nil
}

// List calls fn for every ref whose name starts with prefix, sorted by
// name. fn runs without the Backend's lock held, so it may call b.
func (b *Backend) List(ctx context.Context, prefix string, fn func(name string, id objects.ID) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	type kv struct {
		name string
		id   objects.ID
	}
	b.mu.Lock()
	var all []kv
	for name, id := range b.refs {
		if strings.HasPrefix(name, prefix) {
			all = append(all, kv{name, id})
		}
	}
	b.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return all[i].name < all[j].name })
	for _, r := range all {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(r.name, r.id); err != nil {
			return err
		}
	}
	return nil
}

// Apply applies txn atomically.
func (b *Backend) Apply(ctx context.Context, txn refs.Txn) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := txn.Validate(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, u := range txn.Updates {
		if b.refs[u.Name] != u.Old {
			return refs.Conflict(u.Name)
		}
	}
	now := time.Now().UTC()
	for _, u := range txn.Updates {
		if u.Old == u.New {
			continue
		}
		if u.New.IsZero() {
			delete(b.refs, u.Name)
		} else {
			b.refs[u.Name] = u.New
		}
		b.log = append(b.log, refs.Entry{
			Name: u.Name, Old: u.Old, New: u.New,
			Time: now, Who: txn.Who, Action: txn.Action,
		})
	}
	return nil
}

// Log calls fn for each reflog entry of the ref, oldest first.
func (b *Backend) Log(ctx context.Context, name string, fn func(refs.Entry) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := refs.ValidName(name); err != nil {
		return err
	}
	b.mu.Lock()
	var entries []refs.Entry
	for _, e := range b.log {
		if e.Name == name {
			entries = append(entries, e)
		}
	}
	b.mu.Unlock()
	for _, e := range entries {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// Expire deletes the reflog entries stamped before olderThan.
func (b *Backend) Expire(ctx context.Context, olderThan time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	kept := b.log[:0]
	for _, e := range b.log {
		if !e.Time.Before(olderThan) {
			kept = append(kept, e)
		}
	}
	removed := len(b.log) - len(kept)
	clear(b.log[len(kept):])
	b.log = kept
	return removed, nil
}
