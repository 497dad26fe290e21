package meta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// MaxKeyLen bounds a key, in bytes.
const MaxKeyLen = 512

var (
	// ErrNotFound matches a missing key; backends wrap it with the key.
	ErrNotFound = errors.New("not found")
	// ErrConflict matches a failed compare-and-swap: an Op's Old did not
	// match the key's revision, so nothing changed.
	ErrConflict = errors.New("changed concurrently, retry")
	// ErrInvalidKey matches a key that breaks ValidKey's rules.
	ErrInvalidKey = errors.New("invalid metadata key")
)

// Rev identifies one stored value of a key; "" means absent. A backend
// gives every write a revision no earlier write of that key had, so a
// compare-and-swap never mistakes a rewritten value for the one it read.
type Rev string

// Op is one compare-and-swap of Store.Apply: Old must be the key's current
// revision ("": the key must not exist). A nil Value deletes the key.
type Op struct {
	Key   string
	Old   Rev
	Value []byte
}

// Store holds documents. All methods are safe for concurrent use, also by
// several processes sharing a backend.
type Store interface {
	// Get returns key's value and revision; a missing key is an error
	// matching ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, Rev, error)
	// List calls fn for every key under prefix, in key order. An error
	// from fn stops the walk and is returned.
	List(ctx context.Context, prefix string, fn func(key string, value []byte, rev Rev) error) error
	// Apply makes every op or none: if any Old does not match, nothing
	// changes and the error matches ErrConflict and names the key. It
	// returns the new revisions, one per op ("" for a delete).
	Apply(ctx context.Context, ops ...Op) ([]Rev, error)
}

// PutIf stores value at key if its revision is old ("": absent) and
// returns the new revision.
func PutIf(ctx context.Context, s Store, key string, value []byte, old Rev) (Rev, error) {
	if value == nil {
		value = []byte{}
	}
	revs, err := s.Apply(ctx, Op{Key: key, Old: old, Value: value})
	if err != nil {
		return "", err
	}
	return revs[0], nil
}

// DeleteIf deletes key if its revision is old.
func DeleteIf(ctx context.Context, s Store, key string, old Rev) error {
	_, err := s.Apply(ctx, Op{Key: key, Old: old})
	return err
}

// GetJSON loads key's JSON value into v.
func GetJSON(ctx context.Context, s Store, key string, v any) (Rev, error) {
	data, rev, err := s.Get(ctx, key)
	if err != nil {
		return "", err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return "", fmt.Errorf("%s: %w", key, err)
	}
	return rev, nil
}

// PutJSON stores v as JSON at key if its revision is old.
func PutJSON(ctx context.Context, s Store, key string, v any, old Rev) (Rev, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("%s: %w", key, err)
	}
	return PutIf(ctx, s, key, data, old)
}

// NotFound returns the error for a missing key.
func NotFound(key string) error { return fmt.Errorf("%s: %w", key, ErrNotFound) }

// Conflict returns the error for a failed compare-and-swap on key.
func Conflict(key string) error { return fmt.Errorf("%s: %w", key, ErrConflict) }

// ValidKey reports whether key is valid: '/'-separated segments of
// lower-case letters, digits, '.', '_' and '-', none empty, none "." or
// "..", at most MaxKeyLen bytes.
func ValidKey(key string) error {
	bad := func(why string) error { return fmt.Errorf("%w %q: %s", ErrInvalidKey, key, why) }
	if key == "" {
		return bad("empty")
	}
	if len(key) > MaxKeyLen {
		return bad(fmt.Sprintf("longer than %d bytes", MaxKeyLen))
	}
	start := 0
	for i := 0; i <= len(key); i++ {
		if i < len(key) && key[i] != '/' {
			c := key[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
				return bad(fmt.Sprintf("byte %q at %d", c, i))
			}
			continue
		}
		seg := key[start:i]
		if seg == "" || seg == "." || seg == ".." {
			return bad("empty, '.' or '..' segment")
		}
		start = i + 1
	}
	return nil
}

// ValidateOps checks a batch for Apply: at least one op, valid and
// distinct keys.
func ValidateOps(ops []Op) error {
	if len(ops) == 0 {
		return fmt.Errorf("%w: no operations", ErrInvalidKey)
	}
	seen := make(map[string]bool, len(ops))
	for _, op := range ops {
		if err := ValidKey(op.Key); err != nil {
			return err
		}
		if seen[op.Key] {
			return fmt.Errorf("%w: %s changed twice in one batch", ErrInvalidKey, op.Key)
		}
		seen[op.Key] = true
	}
	return nil
}
