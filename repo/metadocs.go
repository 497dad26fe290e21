package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/pkgvc/pkgvc/meta"
	"github.com/pkgvc/pkgvc/objects"
)

// Keys of the metadata store this package owns.
const (
	// repoPrefix + NAME holds a repository's Config, as JSON.
	repoPrefix = "repos/"
	// PinPrefix holds pins: documents that keep versions alive (a Pin), so
	// that gc keeps what a document of another package names. A package
	// writes its pins in the batch that changes the document naming them.
	PinPrefix = "pins/"
)

func repoKey(name string) string { return repoPrefix + name }

// repoDeleteAction begins the reflog action of a repository's deletion.
const repoDeleteAction = "repo delete "

// Pin is the value of a key under PinPrefix: versions gc keeps, with
// their history.
type Pin struct {
	Versions []objects.ID `json:"versions"`
}

// PinOp returns the op that makes key (under PinPrefix) pin ids, or
// deletes it when ids is empty; old is its current revision.
func PinOp(key string, ids []objects.ID, old meta.Rev) (meta.Op, error) {
	op := meta.Op{Key: key, Old: old}
	if len(ids) == 0 {
		return op, nil
	}
	data, err := json.Marshal(Pin{Versions: ids})
	if err != nil {
		return op, err
	}
	op.Value = data
	return op, nil
}

// pinned returns every version a pin names.
func (s *Store) pinned(ctx context.Context) (map[string][]objects.ID, error) {
	out := map[string][]objects.ID{}
	err := s.meta.List(ctx, PinPrefix, func(key string, value []byte, _ meta.Rev) error {
		var p Pin
		if err := json.Unmarshal(value, &p); err != nil {
			return fmt.Errorf("%w: pin %s: %v", ErrCorrupt, key, err)
		}
		out[key] = p.Versions
		return nil
	})
	return out, err
}

// DeleteRepoOps returns the metadata ops that delete repository name as
// it is now, for a caller that applies them in a batch of its own; once
// they landed the repository is gone, and DropHead removes its head.
func (s *Store) DeleteRepoOps(ctx context.Context, name string) ([]meta.Op, error) {
	st, err := s.loadRepo(ctx, name)
	if err != nil {
		return nil, err
	}
	return []meta.Op{{Key: repoKey(name), Old: st.configRev}}, nil
}

// DropHead removes the head ref of repository name once its
// configuration is gone (deleted, or never made again since): a head
// without a configuration names nothing anyone reads.
func (s *Store) DropHead(ctx context.Context, name string) error {
	for attempt := 0; ; attempt++ {
		head, err := s.HeadID(ctx, name)
		if err != nil || head.IsZero() {
			return err
		}
		if _, _, err := s.meta.Get(ctx, repoKey(name)); err == nil {
			return nil // made again meanwhile: the head is its
		} else if !errors.Is(err, meta.ErrNotFound) {
			return err
		}
		err = s.ApplyRefs(ctx, repoDeleteAction+name, refUpdateDelete(headRef(name), head))
		if err == nil || !errors.Is(err, ErrConflict) || attempt >= maxCommitRetries {
			return err
		}
	}
}

// dropOrphanHeads removes every head whose repository is gone: what a
// deletion that stopped half way left.
func (s *Store) dropOrphanHeads(ctx context.Context) error {
	var names []string
	if err := s.refs.List(ctx, "repos/", func(name string, _ objects.ID) error {
		names = append(names, strings.TrimPrefix(name, "repos/"))
		return nil
	}); err != nil {
		return err
	}
	for _, n := range names {
		_, _, err := s.meta.Get(ctx, repoKey(n))
		if errors.Is(err, meta.ErrNotFound) {
			err = s.DropHead(ctx, n)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// MetaErr makes an error of the metadata store match this package's
// sentinels too (ErrConflict, ErrNotFound), keeping its text.
func MetaErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, meta.ErrConflict):
		return &metaError{err, ErrConflict}
	case errors.Is(err, meta.ErrNotFound):
		return &metaError{err, ErrNotFound}
	}
	return err
}

type metaError struct{ err, also error }

func (e *metaError) Error() string   { return e.err.Error() }
func (e *metaError) Unwrap() []error { return []error{e.err, e.also} }
