package repo

import (
	"context"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo/tree"
)

// HeadView is the version a commit attempt builds on, as its
// Precondition reads it.
type HeadView struct {
	s    *Store
	id   objects.ID // zero for a repository without versions
	tree objects.ID
}

// ID is the version's id, zero for a repository without versions.
func (h HeadView) ID() objects.ID { return h.id }

// Lookup returns the record at p.
func (h HeadView) Lookup(ctx context.Context, p string) (Record, bool, error) {
	if h.tree.IsZero() {
		return Record{}, false, nil
	}
	return tree.Get(ctx, h.s.objects, h.tree, p)
}

// Prefix calls fn, in path order, for each record whose path starts
// with prefix.
func (h HeadView) Prefix(ctx context.Context, prefix string, fn func(Record) error) error {
	if h.tree.IsZero() {
		return nil
	}
	return tree.Prefix(ctx, h.s.objects, h.tree, prefix, fn)
}

// checkPrecondition runs req's Precondition against the head an attempt
// builds on.
func (s *Store) checkPrecondition(ctx context.Context, req *CommitRequest, head, root objects.ID) error {
	if req.Precondition == nil {
		return nil
	}
	return req.Precondition(ctx, HeadView{s: s, id: head, tree: root})
}
