package repo

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/pkgvc/pkgvc/objects"
)

// ContentChecker is an optional capability of a Kind whose records may
// name their content by a digest the store does not compute (a container
// repository's blobs/sha512/<hex>), which CheckDigest cannot verify from
// the record alone. Fsck reads the stored content of each record
// ChecksContent selects and reports CheckContent's error. Commit leaves
// such checks to Inspect, which is given the content; records a trusted
// caller commits without InspectRecords are the caller's to verify.
type ContentChecker interface {
	ChecksContent(rec Record) bool
	CheckContent(ctx context.Context, rec Record, content io.Reader) error
}

// checkContent reads rec's blob for k if k is a ContentChecker that asks
// for it. A blob not stored (on demand) is not checked here; its absence
// is the blob walk's to report.
func (s *Store) checkContent(ctx context.Context, k Kind, rec Record) error {
	cc, ok := k.(ContentChecker)
	if !ok || !cc.ChecksContent(rec) {
		return nil
	}
	rc, err := s.objects.OpenBlob(ctx, rec.SHA256)
	if errors.Is(err, objects.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", rec.Path, err)
	}
	defer rc.Close()
	return cc.CheckContent(ctx, rec, rc)
}
