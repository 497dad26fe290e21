package format

import "errors"

var (
	// ErrInvalid is matched by every error about a malformed package file.
	ErrInvalid = errors.New("invalid python distribution")
	// ErrMismatch reports a file name and metadata that name different
	// projects or versions.
	ErrMismatch = wrap("name or version disagrees with the file name", ErrInvalid)
	// ErrLimit reports a package over one of the Limits, such as a zip bomb.
	ErrLimit = wrap("over a safety limit", ErrInvalid)
	// ErrUnsafePath reports an archive entry that would land outside the
	// directory it is unpacked in.
	ErrUnsafePath = wrap("unsafe path in archive", ErrInvalid)
)

// wrapped is a sentinel that also matches its parent with errors.Is.
type wrapped struct {
	msg    string
	parent error
}

func wrap(msg string, parent error) error { return &wrapped{msg, parent} }
func (w *wrapped) Error() string          { return w.msg }
func (w *wrapped) Unwrap() error          { return w.parent }
