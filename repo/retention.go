package repo

import (
	"context"
	"slices"
	"time"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/refs"
)

// retention returns the ref updates that keep only the last Retain versions
// of st's first-parent history once its head is newHead: the oldest kept
// version becomes the repository's shallow boundary, and a store-wide marker
// remembers that its parents may be collected.
func (s *Store) retention(ctx context.Context, st *repoState, newHead objects.ID) ([]refs.Update, error) {
	keep := st.config.Retain
	if keep <= 0 {
		return nil, nil
	}
	h, err := s.newHistory(ctx, st)
	if err != nil {
		return nil, err
	}
	var oldest *Version
	n := 0
	cut := false
	err = h.firstParents(ctx, newHead, func(v *Version, boundary bool) (bool, error) {
		n++
		if n == keep {
			oldest = v
			cut = len(v.Parents) > 0 && !boundary
			return false, nil
		}
		return true, nil
	})
	if err != nil || !cut {
		return nil, err
	}
	if len(st.config.Shallow) == 1 && st.config.Shallow[0] == oldest.ID {
		return nil, nil
	}
	cfg := *st.config
	cfg.Shallow = []objects.ID{oldest.ID}
	// The reflog is stamped by the ref backend's clock, not the store's
	// (which tests and imports may set): compare like with like.
	cfg.PrunedAt = time.Now()
	data, err := encodeConfig(&cfg)
	if err != nil {
		return nil, err
	}
	cid, err := s.putSmall(ctx, data)
	if err != nil {
		return nil, err
	}
	ups := []refs.Update{{Name: configRef(st.name), Old: st.configID, New: cid}}
	marker := shallowPrefix + oldest.ID.String()
	if _, err := s.refs.Get(ctx, marker); err != nil {
		ups = append(ups, refs.Update{Name: marker, New: oldest.ID})
	}
	return ups, nil
}

// dedupe drops repeated updates of one ref (two repositories cut at the same
// version) and sorts by name.
func dedupe(ups []refs.Update) []refs.Update {
	slices.SortStableFunc(ups, func(a, b refs.Update) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return slices.CompactFunc(ups, func(a, b refs.Update) bool { return a.Name == b.Name })
}
