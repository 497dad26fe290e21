package mem

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pkgvc/pkgvc/objects"
)

// ErrInvalidKey is returned for keys that are empty, absolute, or contain
// "." or ".." or empty segments.
var ErrInvalidKey = errors.New("invalid key")

// Backend keeps every key in a map. It is safe for concurrent use.
type Backend struct {
	mu sync.Mutex
	m  map[string]entry
}

type entry struct {
	data []byte // never modified after Put; Put replaces it
	mod  time.Time
}

var (
	_ objects.Backend = (*Backend)(nil)
	_ objects.Toucher = (*Backend)(nil)
	_ objects.Reaper  = (*Backend)(nil)
)

// New returns an empty Backend.
func New() *Backend { return &Backend{m: make(map[string]entry)} }

func checkKey(key string) error {
	if key == "" || strings.HasPrefix(key, "/") || strings.ContainsRune(key, 0) {
		return fmt.Errorf("%w: %q", ErrInvalidKey, key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("%w: %q", ErrInvalidKey, key)
		}
	}
	return nil
}

func notFound(op, key string) error {
	return fmt.Errorf("%s %s: %w", op, key, objects.ErrNotFound)
}

// Put stores a copy of r's bytes under key.
func (b *Backend) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if size >= 0 && int64(len(data)) != size {
		return fmt.Errorf("put %s: read %d bytes, want %d", key, len(data), size)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m[key] = entry{data: data, mod: time.Now()}
	return nil
}

// Open returns a reader over a range of key's bytes.
func (b *Backend) Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, fmt.Errorf("open %s: negative offset %d", key, offset)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	e, ok := b.m[key]
	b.mu.Unlock()
	if !ok {
		return nil, notFound("open", key)
	}
	data := e.data[min(offset, int64(len(e.data))):]
	if length >= 0 && length < int64(len(data)) {
		data = data[:length]
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

// Stat describes key.
func (b *Backend) Stat(ctx context.Context, key string) (objects.Info, error) {
	if err := checkKey(key); err != nil {
		return objects.Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return objects.Info{}, err
	}
	b.mu.Lock()
	e, ok := b.m[key]
	b.mu.Unlock()
	if !ok {
		return objects.Info{}, notFound("stat", key)
	}
	return objects.Info{Key: key, Size: int64(len(e.data)), ModTime: e.mod}, nil
}

// Delete removes key.
func (b *Backend) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.m[key]; !ok {
		return notFound("delete", key)
	}
	delete(b.m, key)
	return nil
}

// List calls fn for the keys starting with prefix, in lexical order, on a
// snapshot taken when List starts.
func (b *Backend) List(ctx context.Context, prefix string, fn func(objects.Info) error) error {
	b.mu.Lock()
	var infos []objects.Info
	for k, e := range b.m {
		if strings.HasPrefix(k, prefix) {
			infos = append(infos, objects.Info{Key: k, Size: int64(len(e.data)), ModTime: e.mod})
		}
	}
	b.mu.Unlock()
	sort.Slice(infos, func(i, j int) bool { return infos[i].Key < infos[j].Key })
	for _, info := range infos {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(info); err != nil {
			return err
		}
	}
	return nil
}

// Touch sets key's modification time.
func (b *Backend) Touch(ctx context.Context, key string, t time.Time) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.m[key]
	if !ok {
		return notFound("touch", key)
	}
	e.mod = t
	b.m[key] = e
	return nil
}

// DeleteIfOlder deletes key if its modification time is before olderThan,
// atomically with respect to Touch.
func (b *Backend) DeleteIfOlder(ctx context.Context, key string, olderThan time.Time) (bool, error) {
	if err := checkKey(key); err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.m[key]
	if !ok {
		return false, notFound("delete", key)
	}
	if !e.mod.Before(olderThan) {
		return false, nil
	}
	delete(b.m, key)
	return true, nil
}
