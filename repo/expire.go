package repo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pkgvc/pkgvc/refs"
)

// ReflogExpireResult reports a reflog expiry.
type ReflogExpireResult struct {
	// Removed counts the entries deleted, of every ref.
	Removed   int       `json:"removed"`
	OlderThan time.Time `json:"older_than"`
}

// ExpireReflog deletes the reflog entries, of every ref, older than
// olderThan. Versions that only those entries named are no longer kept
// alive, so the next gc collects them, and NAME@{K} reaches only as far
// back as the entries left. Without it the reflog is kept whole.
func (s *Store) ExpireReflog(ctx context.Context, olderThan time.Time) (*ReflogExpireResult, error) {
	if olderThan.IsZero() {
		return nil, fmt.Errorf("%w: reflog expire: give the time before which entries go", ErrInvalid)
	}
	ex, ok := refs.As[refs.Expirer](s.refs)
	if !ok {
		return nil, fmt.Errorf("reflog expire: the ref backend %T cannot expire its reflog: %w", s.refs, errors.ErrUnsupported)
	}
	n, err := ex.Expire(ctx, olderThan)
	if err != nil {
		return nil, fmt.Errorf("reflog expire: %w (after removing %d entries)", err, n)
	}
	return &ReflogExpireResult{Removed: n, OlderThan: olderThan.UTC()}, nil
}
