package repo

import (
	"context"
	"errors"
	"strings"

	"github.com/pkgvc/pkgvc/objects"
)

// PublicationRefPrefix begins the refs of stored publications (package
// publish): publications/<kind>/<version id>/<options> names the tree of
// a version's generated files. gc walks them as trees, and keeps only
// those of versions a distribution may serve (a head, a pinned version)
// and of their parents, which the next publication is updated from; the
// others are a cache it drops.
const PublicationRefPrefix = "publications/"

// publicationVersion returns the version id a publication ref names.
func publicationVersion(name string) (objects.ID, bool) {
	rest := strings.TrimPrefix(name, PublicationRefPrefix)
	segs := strings.Split(rest, "/")
	if len(segs) != 3 {
		return objects.ID{}, false
	}
	id, err := objects.ParseID(segs[1])
	return id, err == nil
}

// servedVersions returns the versions a distribution may serve (every
// head and pinned version) and their parents.
func (s *Store) servedVersions(ctx context.Context) (map[objects.ID]bool, error) {
	var ids []objects.ID
	if err := s.refs.List(ctx, "repos/", func(_ string, id objects.ID) error {
		ids = append(ids, id)
		return nil
	}); err != nil {
		return nil, err
	}
	pins, err := s.pinned(ctx)
	if err != nil {
		return nil, err
	}
	for _, vs := range pins {
		ids = append(ids, vs...)
	}
	keep := map[objects.ID]bool{}
	for _, id := range ids {
		keep[id] = true
		v, err := s.version(ctx, id)
		if err != nil {
			continue // not a version (or gone): nothing more to keep
		}
		for _, p := range v.Parents {
			keep[p] = true
		}
	}
	return keep, nil
}

// dropStalePublications deletes the refs of the publications gc need not
// keep (see PublicationRefPrefix), before the mark, so that their objects
// are collected.
func (s *Store) dropStalePublications(ctx context.Context) error {
	keep, err := s.servedVersions(ctx)
	if err != nil {
		return err
	}
	type ref struct {
		name string
		id   objects.ID
	}
	var stale []ref
	if err := s.refs.List(ctx, PublicationRefPrefix, func(name string, id objects.ID) error {
		if v, ok := publicationVersion(name); !ok || !keep[v] {
			stale = append(stale, ref{name, id})
		}
		return nil
	}); err != nil {
		return err
	}
	for _, r := range stale {
		err := s.ApplyRefs(ctx, "gc: drop publication", refUpdateDelete(r.name, r.id))
		if err != nil && !errors.Is(err, ErrConflict) && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}
