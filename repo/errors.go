package repo

import (
	"errors"

	"github.com/pkgvc/pkgvc/internal/errkind"
	"github.com/pkgvc/pkgvc/refs"
)

var (
	// ErrNotFound is the general "no such thing" error.
	ErrNotFound = errkind.NotFound
	// ErrRepoNotFound reports an unknown repository.
	ErrRepoNotFound = wrap("repository not found", ErrNotFound)
	// ErrVersionNotFound reports a revision that names no version.
	ErrVersionNotFound = wrap("version not found", ErrNotFound)
	// ErrPathNotFound reports a package path absent from a version.
	ErrPathNotFound = wrap("path not found", ErrNotFound)
	// ErrExists reports a name that is already taken.
	ErrExists = errkind.Exists
	// ErrInvalid reports bad input: names, paths, revisions, requests.
	ErrInvalid = errkind.Invalid
	// ErrAmbiguous reports an id prefix that matches several versions.
	ErrAmbiguous = wrap("ambiguous id prefix", ErrInvalid)
	// ErrNotFastForward reports a promotion that would drop versions.
	ErrNotFastForward = errors.New("not a fast-forward")
	// ErrPruned reports a version removed by retention.
	ErrPruned = wrap("version pruned by retention", ErrVersionNotFound)
	// ErrConflict reports a ref that moved during the operation.
	ErrConflict = refs.ErrConflict
	// ErrNoStore reports a store directory that holds no store yet.
	ErrNoStore = wrap("no store", ErrNotFound)
	// ErrNotStore reports a directory that is not a pkgvc store.
	ErrNotStore = errors.New("not a pkgvc store")
	// ErrFormat reports a store written by a newer pkgvc.
	ErrFormat = errors.New("unsupported store format")
	// ErrUpgrade reports a store in an older format: `pkgvc upgrade`
	// converts it.
	ErrUpgrade = wrap("store needs an upgrade", ErrFormat)
	// ErrCorrupt reports damaged objects found by fsck.
	ErrCorrupt = errors.New("store is corrupt")
	// ErrKindMismatch reports a version, remote or distribution of one
	// content kind given where another kind is needed.
	ErrKindMismatch = wrap("content kind mismatch", ErrInvalid)
	// ErrNeedsUpgrade reports a store written by an older pkgvc that
	// lacks what this one needs until `pkgvc upgrade` adds it.
	ErrNeedsUpgrade = errors.New("store needs upgrade")
)

// wrapped is a sentinel that also matches its parent with errors.Is.
type wrapped struct {
	msg    string
	parent error
}

func wrap(msg string, parent error) error { return &wrapped{msg, parent} }
func (w *wrapped) Error() string          { return w.msg }
func (w *wrapped) Unwrap() error          { return w.parent }
