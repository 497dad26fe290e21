package refs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pkgvc/pkgvc/internal/errkind"
	"github.com/pkgvc/pkgvc/internal/unwrap"
	"github.com/pkgvc/pkgvc/objects"
)

// MaxNameLen is the longest valid ref name, in bytes.
const MaxNameLen = 255

var (
	// ErrNotFound means the ref does not exist. Backends wrap it with the
	// ref's name.
	ErrNotFound = errors.New("ref not found")
	// ErrConflict means an Update's Old did not match the ref's current
	// value, so the transaction changed nothing. Backends wrap it with the
	// ref's name, as in fmt.Errorf("%s: %w", name, ErrConflict).
	ErrConflict = errkind.Conflict
	// ErrInvalidName means a ref name breaks the rules of ValidName.
	ErrInvalidName = errors.New("invalid ref name")
	// ErrInvalidTxn means a Txn is malformed: no updates, a name updated
	// twice, an invalid name, or a Who/Action that is not one line.
	ErrInvalidTxn = errors.New("invalid ref transaction")
)

// Update is one compare-and-swap in a transaction. Old zero means the ref
// must not exist; New zero deletes the ref. Old == New is a pure check that
// changes nothing and writes no reflog entry.
type Update struct {
	Name     string
	Old, New objects.ID
}

// Txn is applied atomically: every Update's Old must match the ref's
// current value or nothing changes.
type Txn struct {
	Updates []Update
	// Who and Action are free one-line text recorded in the reflog.
	Who    string
	Action string
}

// Validate checks that t has at least one update, valid and distinct
// names, and one-line, UTF-8 Who and Action. Errors match ErrInvalidTxn
// (and ErrInvalidName for a bad name).
func (t Txn) Validate() error {
	if len(t.Updates) == 0 {
		return fmt.Errorf("%w: no updates", ErrInvalidTxn)
	}
	seen := make(map[string]struct{}, len(t.Updates))
	for _, u := range t.Updates {
		if err := ValidName(u.Name); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidTxn, err)
		}
		if _, dup := seen[u.Name]; dup {
			return fmt.Errorf("%w: %s updated twice", ErrInvalidTxn, u.Name)
		}
		seen[u.Name] = struct{}{}
	}
	if err := oneLine("who", t.Who); err != nil {
		return err
	}
	return oneLine("action", t.Action)
}

func oneLine(field, s string) error {
	if strings.ContainsAny(s, "\r\n") {
		return fmt.Errorf("%w: %s contains a line break", ErrInvalidTxn, field)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalidTxn, field)
	}
	return nil
}

// Entry is one reflog line for one ref: the ref moved from Old to New
// (zero Old: created; zero New: deleted) at Time, in UTC.
type Entry struct {
	Name     string
	Old, New objects.ID
	Time     time.Time
	Who      string
	Action   string
}

// Backend stores refs. All methods are safe for concurrent use.
type Backend interface {
	// Get returns the ref's current value, or an error wrapping
	// ErrNotFound that names the ref.
	Get(ctx context.Context, name string) (objects.ID, error)
	// List calls fn for every ref whose name starts with prefix, sorted by
	// name. An error from fn stops the walk and is returned.
	List(ctx context.Context, prefix string, fn func(name string, id objects.ID) error) error
	// Apply applies txn atomically and appends one reflog Entry per
	// update whose New differs from its Old. If any Old does not match,
	// nothing changes and the error wraps ErrConflict and names the ref.
	Apply(ctx context.Context, txn Txn) error
	// Log calls fn for each reflog entry of the ref, oldest first,
	// including entries of a ref that has since been deleted. A ref that
	// never changed has an empty log. An error from fn stops the walk and
	// is returned.
	Log(ctx context.Context, name string, fn func(Entry) error) error
}

// Expirer is a Backend whose reflog can be trimmed. Without Expire a
// backend keeps every reflog entry forever.
type Expirer interface {
	// Expire deletes the reflog entries stamped before olderThan, of every
	// ref, and returns how many it deleted. Refs keep their values, and
	// newer entries stay in order.
	Expire(ctx context.Context, olderThan time.Time) (removed int, err error)
}

// ValidName reports whether name is a valid ref name: '/'-separated
// segments, each matching [a-z0-9][a-z0-9._-]*, no empty segment, at most
// MaxNameLen bytes. Hex object IDs are valid segments. Errors match
// ErrInvalidName.
func ValidName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty", ErrInvalidName)
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("%w: %d bytes, max %d", ErrInvalidName, len(name), MaxNameLen)
	}
	start := 0
	for i := 0; i <= len(name); i++ {
		if i < len(name) && name[i] != '/' {
			c := name[i]
			ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
			if i > start {
				ok = ok || c == '.' || c == '_' || c == '-'
			}
			if !ok {
				return fmt.Errorf("%w: %q: bad byte %q at %d", ErrInvalidName, name, c, i)
			}
			continue
		}
		if i == start {
			return fmt.Errorf("%w: %q: empty segment", ErrInvalidName, name)
		}
		start = i + 1
	}
	return nil
}

// Conflict returns the error for a failed compare-and-swap on name: it
// wraps ErrConflict and names the ref.
func Conflict(name string) error { return fmt.Errorf("%s: %w", name, ErrConflict) }

// NotFound returns the error for a missing ref: it wraps ErrNotFound and
// names the ref.
func NotFound(name string) error { return fmt.Errorf("%s: %w", name, ErrNotFound) }

// Unwrapper is implemented by decorators: a Backend that wraps another
// returns the wrapped one, so that the capabilities it does not implement
// itself are still found (see As).
type Unwrapper interface {
	Unwrap() Backend
}

// As finds the capability T (such as Expirer) on b or, through Unwrap, on
// the backends b wraps, outermost first.
func As[T any](b Backend) (T, bool) { return unwrap.As[T](b) }
