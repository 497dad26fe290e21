// Package errkind holds the general kinds of error (not found, exists,
// invalid, conflict) shared by the storage packages and those beside
// repo, so that a package below repo (auth, tasks) can wrap the sentinels
// repo exports (repo.ErrNotFound is NotFound, ...) without importing it.
package errkind

import "errors"

var (
	// NotFound is the general "no such thing" error (repo.ErrNotFound).
	NotFound = errors.New("not found")
	// Exists reports a name that is already taken (repo.ErrExists).
	Exists = errors.New("already exists")
	// Invalid reports bad input (repo.ErrInvalid).
	Invalid = errors.New("invalid")
	// Conflict reports a ref or document that moved during the operation
	// (refs.ErrConflict, repo.ErrConflict).
	Conflict = errors.New("ref moved, retry")
)
