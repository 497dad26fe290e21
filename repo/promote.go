package repo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pkgvc/pkgvc/internal/glob"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo/tree"
)

// Pair is one promotion: the version Src names becomes Dst's head.
type Pair struct {
	Src string // a revision, usually a repository name
	Dst string // a repository name
}

// PromoteOptions changes how promotion moves a destination.
type PromoteOptions struct {
	// Force resets the destination even when that drops its versions.
	Force bool
	// Only copies just the matching packages into a new destination version.
	Only []string
}

// PromoteResult reports one pair.
type PromoteResult struct {
	Src     string     `json:"src"`
	Dst     string     `json:"dst"`
	From    objects.ID `json:"from"` // destination head before
	To      objects.ID `json:"to"`   // destination head after
	Version int        `json:"version"`
	Moved   bool       `json:"moved"`
	Mode    string     `json:"mode"` // "fast-forward", "reset", "only", "up-to-date"
}

// Promote moves each destination to its source. All pairs are judged
// against the heads as they were before any ref moved, and all destinations
// move together or none does.
func (s *Store) Promote(ctx context.Context, pairs []Pair, o PromoteOptions) ([]PromoteResult, error) {
	ctx, release, err := s.objects.Lease(ctx) // see GC
	if err != nil {
		return nil, err
	}
	defer release()
	if len(pairs) == 0 {
		return nil, fmt.Errorf("%w: nothing to promote", ErrInvalid)
	}
	only := glob.Set(o.Only)
	if err := only.Validate(); err != nil {
		return nil, fmt.Errorf("%w: --only: %w", ErrInvalid, err)
	}
	type planned struct {
		src *Version
		dst *repoState
	}
	plans := make([]planned, len(pairs))
	seen := map[string]bool{}
	for i, p := range pairs {
		if seen[p.Dst] {
			return nil, fmt.Errorf("%w: %s is promoted into twice in one call", ErrInvalid, p.Dst)
		}
		seen[p.Dst] = true
		src, err := s.Resolve(ctx, p.Src)
		if err != nil {
			return nil, fmt.Errorf("promote %s: %w", p.Src, err)
		}
		dst, err := s.loadRepo(ctx, p.Dst)
		if err != nil {
			return nil, fmt.Errorf("promote into %s: %w", p.Dst, err)
		}
		if err := s.checkKind(ctx, false, src, dst); err != nil {
			return nil, err
		}
		plans[i] = planned{src, dst}
	}
	var moves []headMove
	results := make([]PromoteResult, len(pairs))
	b := s.objects.NewBatch()
	defer b.Abort()
	for i, pl := range plans {
		r := PromoteResult{Src: pairs[i].Src, Dst: pairs[i].Dst, From: pl.dst.head, To: pl.dst.head}
		var next objects.ID
		switch {
		case len(only) > 0:
			id, num, err := s.promoteOnly(ctx, b, pl.src, pl.dst, only)
			if err != nil {
				return nil, err
			}
			r.Mode, next, r.Version = "only", id, num
		case pl.dst.head == pl.src.ID:
			r.Mode, r.Version = "up-to-date", pl.src.Number
		case o.Force:
			r.Mode, next, r.Version = "reset", pl.src.ID, pl.src.Number
		default:
			ff := pl.dst.head.IsZero()
			if !ff {
				var err error
				if ff, err = s.isAncestor(ctx, pl.dst.head, pl.src.ID); err != nil {
					return nil, err
				}
			}
			if !ff {
				return nil, s.divergedError(ctx, pl.dst, pl.src, pairs[i].Src)
			}
			r.Mode, next, r.Version = "fast-forward", pl.src.ID, pl.src.Number
		}
		if !next.IsZero() && next != pl.dst.head {
			r.To, r.Moved = next, true
			moves = append(moves, headMove{st: pl.dst, new: next})
		} else if r.Mode == "only" {
			r.Mode = "up-to-date"
		}
		results[i] = r
	}
	if len(moves) == 0 {
		return results, nil
	}
	if err := b.Flush(ctx); err != nil {
		return nil, err
	}
	var desc []string
	for _, p := range pairs {
		desc = append(desc, p.Src+" -> "+p.Dst)
	}
	if err := s.moveHeads(ctx, "promote: "+strings.Join(desc, ", "), moves...); err != nil {
		return nil, err
	}
	return results, nil
}

// maxDivergedShown bounds the versions a refused promotion names, and
// maxDivergedWalk how far back it looks for them.
const (
	maxDivergedShown = 3
	maxDivergedWalk  = 100
)

// divergedError says why dst cannot fast-forward to src (named srcRev by
// the caller): the versions on dst's first-parent line that src lacks,
// where to see their changes, and that --force would discard them.
func (s *Store) divergedError(ctx context.Context, dst *repoState, src *Version, srcRev string) error {
	var lost []string
	more := false
	h, err := s.newHistory(ctx, dst)
	if err != nil {
		return err
	}
	err = h.firstParents(ctx, dst.head, func(v *Version, _ bool) (bool, error) {
		in, err := s.isAncestor(ctx, v.ID, src.ID)
		if err != nil || in {
			return false, err
		}
		if len(lost) == maxDivergedWalk {
			more = true
			return false, nil
		}
		v.Repo = dst.name
		lost = append(lost, versionLine(v))
		return true, nil
	})
	if err != nil && !errors.Is(err, objects.ErrNotFound) {
		return err
	}
	n := fmt.Sprint(len(lost))
	if more {
		n += "+"
	}
	shown := lost
	if len(shown) > maxDivergedShown {
		shown = append(shown[:maxDivergedShown:maxDivergedShown], "...")
	}
	return fmt.Errorf("%w: %s has %s version(s) that %s lacks: %s (`pkgvc diff %s %s` shows their changes); "+
		"`pkgvc promote --force %s %s` would reset %s to %s and discard them from %s's history (the reflog keeps them), "+
		"`pkgvc promote --only PATH %s %s` copies single packages",
		ErrNotFastForward, dst.name, n, srcRev, strings.Join(shown, ", "), srcRev, dst.name,
		srcRev, dst.name, dst.name, src, dst.name, srcRev, dst.name)
}

// versionLine names v with the first line of its message, shortened.
func versionLine(v *Version) string {
	msg, _, _ := strings.Cut(v.Message, "\n")
	if r := []rune(msg); len(r) > 40 {
		msg = string(r[:39]) + "…"
	}
	if msg == "" {
		return v.String()
	}
	return fmt.Sprintf("%s %q", v, msg)
}

// promoteOnly writes a new version of dst with src's packages that match.
// It returns the zero id if dst already has them.
func (s *Store) promoteOnly(ctx context.Context, b *objects.Batch, src *Version, dst *repoState, only glob.Set) (objects.ID, int, error) {
	var changes []tree.Change
	if err := tree.Walk(ctx, s.objects, src.Tree, func(e tree.Entry) error {
		if only.Match(e.Path) {
			changes = append(changes, tree.Change{Path: e.Path, Entry: &e})
		}
		return nil
	}); err != nil {
		return objects.ID{}, 0, err
	}
	if len(changes) == 0 {
		return objects.ID{}, 0, fmt.Errorf("%w: no package of %s matches --only %v", ErrPathNotFound, src, []string(only))
	}
	w := storeWriter{s.objects, b}
	c := &Commit{Time: s.now(), Author: s.whoFor(ctx), Version: 1, Message: fmt.Sprintf("promote %d package(s) from %s", len(changes), src), Kind: dst.config.Kind}
	var base objects.ID // zero: the empty tree
	if !dst.head.IsZero() {
		head, err := s.version(ctx, dst.head)
		if err != nil {
			return objects.ID{}, 0, err
		}
		base, c.Parents, c.Version = head.Tree, []objects.ID{head.ID}, head.Number+1
	}
	root, err := tree.Apply(ctx, w, base, changes)
	if errors.Is(err, tree.ErrPathConflict) {
		return objects.ID{}, 0, fmt.Errorf("%w: promote into %s: %w", ErrInvalid, dst.name, err)
	}
	if err != nil {
		return objects.ID{}, 0, err
	}
	if root == base && !dst.head.IsZero() {
		return objects.ID{}, c.Version - 1, nil
	}
	c.Tree = root
	id, err := s.writeCommit(ctx, b, c)
	return id, c.Version, err
}

// checkKind refuses to put version v, of one content kind, into repository
// dst of another: a repository's versions hold records its kind accepted.
// rollback says whether it is a rollback, else a promotion.
func (s *Store) checkKind(ctx context.Context, rollback bool, v *Version, dst *repoState) error {
	kind, err := s.ReachedKind(ctx, v)
	if err != nil {
		return err
	}
	if kind == dst.config.Kind {
		return nil
	}
	what := fmt.Sprintf("cannot promote a %s version into %s repository %q", kind, dst.config.Kind, dst.name)
	if rollback {
		what = fmt.Sprintf("cannot roll %s repository %q back to a %s version", dst.config.Kind, dst.name, kind)
	}
	return kindMismatch(what, v, kind)
}
