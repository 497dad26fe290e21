package objects

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/pkgvc/pkgvc/internal/unwrap"
)

// ErrNotFound is returned (wrapped) when a key, blob or object does not exist.
var ErrNotFound = errors.New("object not found")

// ErrCorrupt is returned (wrapped) when stored content does not match its
// ID: digest mismatch, bad header, truncated or undecodable data.
var ErrCorrupt = errors.New("object corrupt")

// Info describes one stored key.
type Info struct {
	Key     string
	Size    int64 // bytes as stored
	ModTime time.Time
}

// Backend is the storage contract every medium (local directory, memory,
// S3) implements. Keys are slash-separated relative paths such as
// "blobs/ab/abcdef…". Optional capabilities (Stager, Syncer, Toucher,
// LocalPather) are separate interfaces found by type assertion.
type Backend interface {
	// Put stores size bytes read from r under key, replacing any previous
	// value. It is atomic: readers never see a partial object. size is the
	// number of bytes r yields, or -1 if unknown.
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	// Open reads length bytes of key starting at offset; length < 0 reads
	// to the end. A missing key yields an error wrapping ErrNotFound.
	Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error)
	// Stat describes key, or returns an error wrapping ErrNotFound.
	Stat(ctx context.Context, key string) (Info, error)
	// Delete removes key, or returns an error wrapping ErrNotFound.
	Delete(ctx context.Context, key string) error
	// List calls fn for every key that starts with prefix (which may end
	// in the middle of a name), in no particular order. An error from fn
	// stops the walk and is returned.
	List(ctx context.Context, prefix string, fn func(Info) error) error
}

// Staged is content being written to its final medium before its key is
// known. Write appends; WriteAt overwrites already written bytes (used to
// fill in a header). Close ends writing but keeps the content staged, so
// that many staged items do not hold open file descriptors. Commit makes
// the content visible under key (for a directory: a rename, without
// fsync). Abort discards the content. After Commit or Abort the Staged is
// spent.
type Staged interface {
	io.Writer
	io.WriterAt
	io.Closer
	Commit(ctx context.Context, key string) error
	Abort() error
}

// Stager is implemented by backends that can stage content in place.
type Stager interface {
	Stage(ctx context.Context) (Staged, error)
}

// Syncer is implemented by backends whose writes (including Staged
// commits) are not durable until Sync returns.
type Syncer interface {
	Sync(ctx context.Context) error
}

// Toucher is implemented by backends that can set a key's modification
// time; the store uses it to freshen an existing object that a new write
// deduplicated against, so that a garbage collector's grace period
// protects it.
type Toucher interface {
	Touch(ctx context.Context, key string, t time.Time) error
}

// LocalPather is implemented by backends that keep each key in a local
// file. LocalPath returns that file's path and whether it exists.
type LocalPather interface {
	LocalPath(key string) (string, bool)
}

// TempCleaner is implemented by backends that stage in temporary files: a
// process killed mid-write leaves them behind, and gc removes those older
// than its grace period.
type TempCleaner interface {
	CleanTemp(ctx context.Context, olderThan time.Time) (removed int, err error)
}

// Reaper is implemented by backends that can delete an object only if it
// is still older than a time, atomically with respect to Touch: gc uses it
// so that an old object a concurrent write just reused is never lost.
type Reaper interface {
	DeleteIfOlder(ctx context.Context, key string, olderThan time.Time) (deleted bool, err error)
}

// Unwrapper is implemented by decorators: a Backend that wraps another
// (to count, trace or fail calls) returns the wrapped one, so that the
// capabilities it does not implement itself are still found (see As).
type Unwrapper interface {
	Unwrap() Backend
}

// As finds the capability T on b or, through Unwrap, on the backends b
// wraps, outermost first. The Store looks up through wrappers every
// capability its safety relies on (Locker, Reaper, Toucher, Syncer,
// TempCleaner): a decorator must not turn the collector's cross-process
// lock into a process-local one or make writes silently non-durable.
func As[T any](b Backend) (T, bool) { return unwrap.As[T](b) }
