// Package refs names objects: a ref is a '/'-separated name such as
// "repos/debian/versions/12" that points at an objects.ID. Refs are the
// only mutable state of a pkgvc store; everything they point at is
// immutable and content-addressed.
//
// # Model
//
// A ref either exists with a non-zero ID or does not exist; the zero ID
// stands for "absent". Refs change only through compare-and-swap
// transactions: a Txn is a list of Updates, each naming a ref, the value
// the caller believes it has (Old) and the value to give it (New). A
// Backend applies a Txn atomically: if any Old does not match, nothing
// changes and Apply returns an error wrapping ErrConflict that names the
// ref, and the caller re-reads and retries. There are no blind writes.
//
//   - Old zero: the ref must not exist (create).
//   - New zero: delete the ref.
//   - Old == New: a pure check, e.g. "only if this other ref is still X".
//
// Every update that changes a ref appends one Entry to that ref's reflog,
// with the time (set by the backend, UTC) and the transaction's Who and
// Action. Reflogs outlive deleted refs, and are kept whole unless a
// backend that implements Expirer is asked to drop old entries.
//
// # Names
//
// See ValidName: lower-case segments matching [a-z0-9][a-z0-9._-]*, so
// hex object IDs are valid segments, and at most 255 bytes.
//
// # Backends
//
// refs/mem keeps everything in memory. refs/fs keeps refs in a directory
// that several processes may share; its package documentation describes
// the on-disk layout. Both pass the conformance suite in refs/refstest.
package refs
