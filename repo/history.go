package repo

import (
	"context"
	"errors"
	"fmt"

	"github.com/pkgvc/pkgvc/objects"
)

// history walks versions, knowing where retention cut them off: at a
// repository's own shallow boundaries, and at any version some repository
// once made a boundary whose parents have since been collected.
type history struct {
	s      *Store
	own    map[objects.ID]bool
	global map[objects.ID]bool
	// expanded holds versions whose parents a gc or fsck walk has visited.
	expanded map[objects.ID]bool
}

func (s *Store) walkHistory(global map[objects.ID]bool) *history {
	return &history{s: s, own: map[objects.ID]bool{}, global: global, expanded: map[objects.ID]bool{}}
}

func (s *Store) newHistory(ctx context.Context, st *repoState) (*history, error) {
	h := &history{s: s, own: map[objects.ID]bool{}}
	if st != nil {
		for _, id := range st.config.Shallow {
			h.own[id] = true
		}
	}
	global, err := s.shallowMarkers(ctx)
	if err != nil {
		return nil, err
	}
	h.global = global
	return h, nil
}

func (s *Store) shallowMarkers(ctx context.Context) (map[objects.ID]bool, error) {
	m := map[objects.ID]bool{}
	err := s.refs.List(ctx, shallowPrefix, func(_ string, id objects.ID) error {
		m[id] = true
		return nil
	})
	return m, err
}

// stopsAt reports whether a walk must not go past v's parents.
func (h *history) stopsAt(ctx context.Context, v *Version) (bool, error) {
	if len(v.Parents) == 0 {
		return false, nil
	}
	if h.own[v.ID] {
		return true, nil
	}
	if !h.global[v.ID] {
		return false, nil
	}
	ok, err := h.s.objects.HasObject(ctx, v.Parents[0])
	return !ok, err
}

// firstParents calls fn for start and its first parents, newest first, until
// fn returns false or the history ends. boundary is true for the last
// version retention kept; the walk stops after it.
func (h *history) firstParents(ctx context.Context, start objects.ID, fn func(v *Version, boundary bool) (bool, error)) error {
	id := start
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		v, err := h.s.version(ctx, id)
		if err != nil {
			return err
		}
		boundary, err := h.stopsAt(ctx, v)
		if err != nil {
			return err
		}
		more, err := fn(v, boundary)
		if err != nil || !more || boundary || len(v.Parents) == 0 {
			return err
		}
		id = v.Parents[0]
	}
}

// LogEntry is one version in a history listing.
type LogEntry struct {
	Version
	// Shallow marks the oldest version retention kept; older ones were pruned.
	Shallow bool `json:"shallow,omitempty"`
}

// Log lists the first-parent history of rev, newest first. limit <= 0 lists
// everything.
func (s *Store) Log(ctx context.Context, rev string, limit int) ([]LogEntry, error) {
	v, err := s.Resolve(ctx, rev)
	if err != nil {
		return nil, err
	}
	var st *repoState
	if v.Repo != "" {
		if st, err = s.loadRepo(ctx, v.Repo); err != nil {
			return nil, err
		}
	}
	h, err := s.newHistory(ctx, st)
	if err != nil {
		return nil, err
	}
	var out []LogEntry
	err = h.firstParents(ctx, v.ID, func(x *Version, boundary bool) (bool, error) {
		x.Repo = v.Repo
		out = append(out, LogEntry{Version: *x, Shallow: boundary})
		return limit <= 0 || len(out) < limit, nil
	})
	if errors.Is(err, objects.ErrNotFound) {
		return out, fmt.Errorf("%w: history of %s is missing a version; run `pkgvc fsck`", ErrCorrupt, rev)
	}
	return out, err
}

// isAncestor reports whether a is b or one of b's ancestors. Version numbers
// grow by one per generation, so the walk stops below a's number.
func (s *Store) isAncestor(ctx context.Context, a, b objects.ID) (bool, error) {
	if a == b {
		return true, nil
	}
	av, err := s.version(ctx, a)
	if err != nil {
		return false, err
	}
	seen := map[objects.ID]bool{}
	queue := []objects.ID{b}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if id == a {
			return true, nil
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		v, err := s.version(ctx, id)
		if errors.Is(err, objects.ErrNotFound) {
			continue // beyond a retention boundary
		}
		if err != nil {
			return false, err
		}
		if v.Number <= av.Number {
			continue
		}
		queue = append(queue, v.Parents...)
	}
	return false, nil
}
