package repo

import (
	"context"
	"slices"
	"time"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/refs"
)

// retention returns what keeps only the last Retain versions of st's
// first-parent history once its head is newHead: the ref update of a
// store-wide marker that remembers that the oldest kept version's parents
// may be collected, to land with the head, and the configuration naming
// that version the repository's shallow boundary, to store once the head
// moved (see moveHeads).
func (s *Store) retention(ctx context.Context, st *repoState, newHead objects.ID) ([]refs.Update, *Config, error) {
	keep := st.config.Retain
	if keep <= 0 {
		return nil, nil, nil
	}
	h, err := s.newHistory(ctx, st)
	if err != nil {
		return nil, nil, err
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
		return nil, nil, err
	}
	if len(st.config.Shallow) == 1 && st.config.Shallow[0] == oldest.ID {
		return nil, nil, nil
	}
	cfg := *st.config
	cfg.Shallow = []objects.ID{oldest.ID}
	// The reflog is stamped by the ref backend's clock, not the store's
	// (which tests and imports may set): compare like with like.
	cfg.PrunedAt = time.Now()
	var ups []refs.Update
	marker := shallowPrefix + oldest.ID.String()
	if _, err := s.refs.Get(ctx, marker); err != nil {
		ups = append(ups, refs.Update{Name: marker, New: oldest.ID})
	}
	return ups, &cfg, nil
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
