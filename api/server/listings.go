package server

import (
	"context"
	"fmt"

	"golang.org/x/sync/singleflight"

	"github.com/pkgvc/pkgvc/internal/clockcache"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

// A version's package list is paged by path. Versions are immutable, so the
// sorted list of one is read once and kept: each page is then a binary
// search and a slice, and clients paging through a large version at once
// share one copy instead of each holding the whole list per request.

// maxListedBytes bounds the memory the listing cache holds, estimated by
// recordWeight; a version larger than that is listed anew for each page.
const maxListedBytes = 128 << 20

// recordWeight estimates the memory of a record: its strings and the fixed
// cost of the record and of a map entry.
func recordWeight(r *repo.Record) int64 {
	n := int64(len(r.Path)) + 96
	for k, v := range r.Metadata {
		n += int64(len(k)+len(v)) + 48
	}
	return n
}

type listings struct {
	cache  *clockcache.Cache[objects.ID, []repo.Record]
	flight singleflight.Group
}

func newListings() *listings {
	return &listings{cache: clockcache.New[objects.ID, []repo.Record](64, maxListedBytes)}
}

// records returns the records of revision rev, sorted by path, with
// Metadata never nil (the API's schema has an object there).
func (s *Server) records(ctx context.Context, rev string) ([]repo.Record, error) {
	head, err := s.svc.Log(ctx, rev, 1)
	if err != nil {
		return nil, err
	}
	if len(head) == 0 {
		return nil, fmt.Errorf("%w: %s", repo.ErrVersionNotFound, rev)
	}
	id := head[0].ID
	if rs, ok := s.listings.cache.Get(id); ok {
		return rs, nil
	}
	v, err, _ := s.listings.flight.Do(id.String(), func() (any, error) {
		// Listed by id, not rev: rev may have moved since it was resolved.
		rs, err := s.svc.List(context.WithoutCancel(ctx), id.String())
		if err != nil {
			return nil, err
		}
		weight := int64(64)
		for i := range rs {
			if rs[i].Metadata == nil {
				rs[i].Metadata = map[string]string{}
			}
			weight += recordWeight(&rs[i])
		}
		s.listings.cache.Add(id, rs, weight)
		return rs, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]repo.Record), nil
}
