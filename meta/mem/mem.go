// Package mem is a meta.Store in process memory, for tests and for
// stores that live only as long as their process.
package mem

import (
	"bytes"
	"context"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/pkgvc/pkgvc/meta"
)

type item struct {
	value []byte
	rev   meta.Rev
}

// Store is a meta.Store in memory.
type Store struct {
	mu   sync.RWMutex
	seq  uint64
	keys map[string]item
}

var _ meta.Store = (*Store)(nil)

// New returns an empty Store.
func New() *Store { return &Store{keys: make(map[string]item)} }

// Get implements meta.Store.
func (s *Store) Get(ctx context.Context, key string) ([]byte, meta.Rev, error) {
	if err := meta.ValidKey(key); err != nil {
		return nil, "", err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	it, ok := s.keys[key]
	if !ok {
		return nil, "", meta.NotFound(key)
	}
	return bytes.Clone(it.value), it.rev, nil
}

// List implements meta.Store.
func (s *Store) List(ctx context.Context, prefix string, fn func(string, []byte, meta.Rev) error) error {
	s.mu.RLock()
	var keys []string
	for k := range s.keys {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	items := make([]item, len(keys))
	for i, k := range keys {
		items[i] = s.keys[k]
	}
	s.mu.RUnlock()
	for i, k := range keys {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(k, bytes.Clone(items[i].value), items[i].rev); err != nil {
			return err
		}
	}
	return nil
}

// Apply implements meta.Store.
func (s *Store) Apply(ctx context.Context, ops ...meta.Op) ([]meta.Rev, error) {
	if err := meta.ValidateOps(ops); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, op := range ops {
		if s.keys[op.Key].rev != op.Old {
			return nil, meta.Conflict(op.Key)
		}
	}
	revs := make([]meta.Rev, len(ops))
	for i, op := range ops {
		if op.Value == nil {
			delete(s.keys, op.Key)
			continue
		}
		s.seq++
		revs[i] = meta.Rev(strconv.FormatUint(s.seq, 10))
		s.keys[op.Key] = item{bytes.Clone(op.Value), revs[i]}
	}
	return revs, nil
}
