package repo

import (
	"context"
	"errors"
	"fmt"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/refs"
)

// tagDoc marks a configuration document of another package (a
// distribution, a remote): JSON, named by a ref under "config/".
const tagDoc = 'K'

// WriteDoc stores v as a durable configuration document and returns its
// id; a ref under "config/" names it, and gc keeps what such refs name.
func (s *Store) WriteDoc(ctx context.Context, v any) (objects.ID, error) {
	data, err := encodeTagged(tagDoc, v)
	if err != nil {
		return objects.ID{}, err
	}
	return s.putSmall(ctx, data)
}

// ReadDoc loads the document id into v.
func (s *Store) ReadDoc(ctx context.Context, id objects.ID, v any) error {
	data, err := s.objects.GetObject(ctx, id)
	if err != nil {
		return err
	}
	return decodeTagged(data, tagDoc, v)
}

// ReadDocRef loads the document the ref names into v and returns its id;
// an absent ref is ErrNotFound.
func (s *Store) ReadDocRef(ctx context.Context, ref string, v any) (objects.ID, error) {
	id, err := s.refs.Get(ctx, ref)
	if errors.Is(err, refs.ErrNotFound) {
		return id, fmt.Errorf("%w: %s", ErrNotFound, ref)
	}
	if err != nil {
		return id, err
	}
	return id, s.ReadDoc(ctx, id, v)
}

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
