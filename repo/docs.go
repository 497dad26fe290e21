package repo

import (
	"context"
	"fmt"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/refs"
)

// tagDoc marked a configuration document of another package (a
// distribution, a remote) in store format 1: JSON, named by a ref under
// "config/". Upgrade reads them; format 2 keeps documents in the metadata
// store.
const tagDoc = 'K'

// ApplyRefs moves refs atomically, recording the identity of ctx
// (WithWhoContext), else the store's. The objects the refs are to name
// (documents, written before) are referenced under a lease first, as a
// commit's blobs are, so that gc, whatever its grace, never deletes one
// meanwhile; one that is gone already fails the update (ErrNotFound).
func (s *Store) ApplyRefs(ctx context.Context, action string, ups ...refs.Update) error {
	ctx, release, err := s.objects.Lease(ctx)
	if err != nil {
		return err
	}
	defer release()
	for _, u := range ups {
		if u.New.IsZero() {
			continue
		}
		if err := s.objects.ReferenceObject(ctx, u.New); err != nil {
			return fmt.Errorf("%s: %w", u.Name, err)
		}
	}
	return s.refs.Apply(ctx, refs.Txn{Updates: ups, Who: s.whoFor(ctx), Action: action})
}

// RepoHead returns a repository's head version id (zero if it has none).
func (s *Store) RepoHead(ctx context.Context, name string) (objects.ID, error) {
	st, err := s.loadRepo(ctx, name)
	if err != nil {
		return objects.ID{}, err
	}
	return st.head, nil
}

// Version returns the version with this id.
func (s *Store) Version(ctx context.Context, id objects.ID) (*Version, error) {
	return s.version(ctx, id)
}
