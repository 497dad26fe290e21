package local

import (
	"context"
	"fmt"
	"io"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/checkout"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/internal/clockcache"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/tree"
)

// maxNodeSets bounds the tree-node sets kept for ServedObject, counted in
// nodes (a million records make at most some 65 000).
const maxNodeSets = 1 << 20

// newNodeSets keeps, by version id, the ids of the version's tree objects:
// what ServedObject may hand out for it.
func newNodeSets() *clockcache.Cache[objects.ID, map[objects.ID]bool] {
	return clockcache.New[objects.ID, map[objects.ID]bool](64, maxNodeSets)
}

// Served returns the version distribution name serves now.
func (s *Service) Served(ctx context.Context, name string) (*api.Served, error) {
	d, err := s.dists.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	v, err := s.dists.Resolve(ctx, d)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, fmt.Errorf("%w: distribution %s follows repository %s, which has no versions yet", repo.ErrVersionNotFound, name, d.Repo)
	}
	return &api.Served{Dist: name, Kind: d.Kind, Version: v}, nil
}

// servedIs checks that distribution name serves version.
func (s *Service) servedIs(ctx context.Context, name string, version objects.ID) (*api.Served, error) {
	sv, err := s.Served(ctx, name)
	if err != nil {
		return nil, err
	}
	if sv.Version.ID != version {
		return nil, fmt.Errorf("%w: %s serves %s now, not %s", dist.ErrDistMoved, name, sv.Version.ID, version)
	}
	return sv, nil
}

// ServedObject returns small object id, a node of the tree of version,
// which distribution name must serve now.
func (s *Service) ServedObject(ctx context.Context, name string, version, id objects.ID) ([]byte, error) {
	sv, err := s.servedIs(ctx, name, version)
	if err != nil {
		return nil, err
	}
	nodes, ok := s.nodeSets.Get(version)
	if !ok {
		nodes = map[objects.ID]bool{}
		if err := tree.WalkNodes(ctx, s.st.Objects(), sv.Version.Tree, func(n objects.ID, _ []tree.Entry) (bool, error) {
			nodes[n] = true
			return true, nil
		}); err != nil {
			return nil, err
		}
		s.nodeSets.Add(version, nodes, int64(len(nodes)))
	}
	if !nodes[id] {
		return nil, fmt.Errorf("%w: object %s is not part of what %s serves", objects.ErrNotFound, id, name)
	}
	return s.st.Objects().GetObject(ctx, id)
}

// ServedContent opens the package at path in version, which distribution
// name must serve now.
func (s *Service) ServedContent(ctx context.Context, name string, version objects.ID, path string) (io.ReadCloser, repo.Record, error) {
	if _, err := s.servedIs(ctx, name, version); err != nil {
		return nil, repo.Record{}, err
	}
	return s.Cat(ctx, version.String(), path)
}

// Checkout writes what distribution name serves into dir; packages synced
// on demand are fetched from their remote now.
func (s *Service) Checkout(ctx context.Context, name, dir string, o api.CheckoutOptions) (*checkout.Result, error) {
	return checkout.Dist(ctx, s.dists, name, dir, checkout.Options{
		Link:       o.Link,
		Publishers: s.publishers,
		// The publications the content server serves, stored.
		Publications: publish.NewPublications(s.dists.Store(), s.publishers, 1),
		Fetch:        func(ctx context.Context, r repo.Record) error { return s.remotes.FetchBlob(ctx, r, io.Discard) },
	})
}
