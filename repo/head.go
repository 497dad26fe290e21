package repo

import (
	"context"
	"errors"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/refs"
)

// HeadID returns the id of repository name's head version, reading only its
// head ref: one ref lookup, for callers on a hot path such as the content
// server. It is zero when the repository has no version yet or does not
// exist; RepoHead tells those apart.
func (s *Store) HeadID(ctx context.Context, name string) (objects.ID, error) {
	id, err := s.refs.Get(ctx, headRef(name))
	if errors.Is(err, refs.ErrNotFound) {
		return objects.ID{}, nil
	}
	return id, err
}
