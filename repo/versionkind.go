package repo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pkgvc/pkgvc/meta"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/refs"
)

// versionKindsPrefix keys, in the metadata store, the kinds of versions
// made before commits recorded them: version-kinds/<hex id> holds the kind
// as a JSON string.
const versionKindsPrefix = "version-kinds/"

func versionKindKey(id objects.ID) string { return versionKindsPrefix + id.String() }

// VersionKind returns the content kind of version id: the one its commit
// records or, for a version made before commits recorded kinds, the one
// RecordVersionKinds recorded for it. A version with neither is an error
// matching ErrNeedsUpgrade.
func (s *Store) VersionKind(ctx context.Context, id objects.ID) (string, error) {
	v, err := s.version(ctx, id)
	if err != nil {
		return "", err
	}
	return s.kindOf(ctx, v, "")
}

// kindOf returns v's content kind, or fallback (the kind of the repository
// the caller reached v through) when none is recorded; with no fallback
// either, it is ErrNeedsUpgrade.
func (s *Store) kindOf(ctx context.Context, v *Version, fallback string) (string, error) {
	if v.kind != "" {
		return v.kind, nil
	}
	k, err := s.recordedKind(ctx, v.ID)
	if err != nil || k != "" {
		return k, err
	}
	if fallback != "" {
		return fallback, nil
	}
	return "", fmt.Errorf("%w: version %s records no content kind (it was made by an older pkgvc); run `pkgvc upgrade` to record the kinds of such versions", ErrNeedsUpgrade, v.ID)
}

// RecordVersionKind records kind for version id, made before commits
// recorded kinds, where no repository keeps it to say (RecordVersionKinds
// records the others): a distribution pinned to it, whose kind stands in.
// A version that records a kind, or has one recorded, keeps it.
func (s *Store) RecordVersionKind(ctx context.Context, id objects.ID, kind string) error {
	if _, err := s.kinds.Lookup(kind); err != nil {
		return err
	}
	v, err := s.version(ctx, id)
	if err != nil {
		return err
	}
	if v.kind != "" {
		return nil
	}
	_, err = meta.PutJSON(ctx, s.meta, versionKindKey(id), kind, "")
	if errors.Is(err, meta.ErrConflict) {
		return nil // recorded already
	}
	return err
}

// recordedKind returns the kind the metadata store holds for id, "" if none.
func (s *Store) recordedKind(ctx context.Context, id objects.ID) (string, error) {
	var k string
	_, err := meta.GetJSON(ctx, s.meta, versionKindKey(id), &k)
	if errors.Is(err, meta.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("kind of version %s: %w", id, err)
	}
	return k, nil
}

// ReachedKind returns the content kind of v as Resolve returned it: when v
// records none and was named through a repository (v.Repo), that
// repository's kind stands in.
func (s *Store) ReachedKind(ctx context.Context, v *Version) (string, error) {
	var fallback string
	if v.Repo != "" && v.kind == "" {
		st, err := s.loadRepo(ctx, v.Repo)
		if err != nil {
			return "", err
		}
		fallback = st.config.Kind
	}
	return s.kindOf(ctx, v, fallback)
}

// kindMismatch is the refusal of version v, of kind got, where another
// kind is needed; what says what was refused ("cannot promote a file
// version into ...").
func kindMismatch(what string, v *Version, got string) error {
	return fmt.Errorf("%w: %s: %s holds %s content, and a repository holds versions of its own kind only",
		ErrKindMismatch, what, v, got)
}

// RecordVersionKinds records, in the metadata store, the content kind of
// every version that records none (made by an older pkgvc) and that some
// repository keeps: in its history from its head, or from reflog entries
// retention still counts. A version takes the kind of a repository whose
// reflog shows it made there (a commit, sync or rollback, not a
// promotion), else of the first repository, by name, that keeps it. Kinds
// already recorded stay, so running it again records nothing new. It
// returns how many versions it recorded.
func (s *Store) RecordVersionKinds(ctx context.Context) (int, error) {
	var names []string
	if err := s.meta.List(ctx, repoPrefix, func(key string, _ []byte, _ meta.Rev) error {
		names = append(names, strings.TrimPrefix(key, repoPrefix))
		return nil
	}); err != nil {
		return 0, err
	}
	n := 0
	decided := map[objects.ID]bool{}
	record := func(ctx context.Context, id objects.ID, kind string) error {
		if decided[id] {
			return nil
		}
		decided[id] = true
		c, err := s.readCommit(ctx, id)
		if errors.Is(err, objects.ErrNotFound) {
			return nil // collected by an earlier gc
		}
		if err != nil || c.Kind != "" {
			return err
		}
		if k, err := s.recordedKind(ctx, id); err != nil || k != "" {
			return err
		}
		_, err = meta.PutJSON(ctx, s.meta, versionKindKey(id), kind, "")
		if errors.Is(err, meta.ErrConflict) {
			return nil // recorded meanwhile by another run
		}
		if err != nil {
			return fmt.Errorf("record kind of version %s: %w", id, err)
		}
		n++
		return nil
	}
	// First the versions each repository made itself.
	for _, name := range names {
		st, err := s.loadRepo(ctx, name)
		if errors.Is(err, ErrRepoNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return n, err
		}
		log, err := s.reflog(ctx, headRef(name))
		if err != nil {
			return n, err
		}
		for _, e := range log {
			if e.Time.Before(st.config.PrunedAt) || isRepoDeletion(e) {
				break // older entries are of a repository of this name deleted since
			}
			if e.New.IsZero() || strings.HasPrefix(e.Action, "promote") {
				continue
			}
			if err := record(ctx, e.New, st.config.Kind); err != nil {
				return n, err
			}
		}
	}
	// Then every version each repository keeps, as gc finds them.
	r, err := s.newReach(ctx)
	if err != nil {
		return n, err
	}
	r.skipTrees = true
	r.onVersion = func(ctx context.Context, st *repoState, v *Version) (Kind, error) {
		if st != nil && v.kind == "" {
			return nil, record(ctx, v.ID, st.config.Kind)
		}
		return nil, nil
	}
	for _, name := range names {
		if err := r.repo(ctx, name); err != nil {
			return n, err
		}
	}
	return n, nil
}

// isRepoDeletion reports whether reflog entry e deleted a repository's
// head (DropHead): the entries before it are of that repository, not of
// one created later under its name.
func isRepoDeletion(e refs.Entry) bool {
	return e.New.IsZero() && strings.HasPrefix(e.Action, repoDeleteAction)
}
