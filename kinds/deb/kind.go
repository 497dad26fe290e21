package deb

import (
	"context"
	"fmt"
	"io"

	"github.com/pkgvc/pkgvc/repo"
)

// Kind is the deb content kind.
type Kind struct{}

var _ repo.Kind = Kind{}

// Name returns "deb".
func (Kind) Name() string { return "deb" }

// Inspect reads a .deb's control fields into its record metadata.
func (Kind) Inspect(_ context.Context, p string, _ io.ReaderAt, _ int64) (map[string]string, error) {
	return nil, fmt.Errorf("%w: %s: reading .deb files is not there yet", repo.ErrInvalid, p)
}
