package repo

import (
	"context"
	"fmt"
)

// FormatVersion is the store layout this pkgvc reads and writes. Format 2
// keeps configuration documents and tasks in the metadata store ("meta");
// format 1 kept them as objects named by refs under "config/", and
// Upgrade converts it.
const FormatVersion = 2

// FormatMarker records a store's format where its medium keeps it (the
// local layout: a file beside the backends' directories).
type FormatMarker interface {
	// ReadFormat returns the recorded format; a store that records none
	// is ErrNoStore.
	ReadFormat(ctx context.Context) (int, error)
	// WriteFormat records format, atomically.
	WriteFormat(ctx context.Context, format int) error
}

// CheckFormat refuses a store format this pkgvc cannot use: a newer one
// (ErrFormat) and, unless old, an older one (ErrUpgrade). where names the
// store in the error.
func CheckFormat(where string, format int, old bool) error {
	if format > FormatVersion {
		return fmt.Errorf("%w: %s is in store format %d, this pkgvc reads format %d; upgrade pkgvc", ErrFormat, where, format, FormatVersion)
	}
	if format < FormatVersion && !old {
		return fmt.Errorf("%w: %s: store format %d: run pkgvc upgrade", ErrUpgrade, where, format)
	}
	return nil
}
