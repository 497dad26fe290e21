package repo_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

// TestCommitPrecondition: a commit's Precondition is checked against the
// head each attempt builds on: a writer that moves the head between an
// attempt's check and its head move makes the commit check the new head,
// and the precondition's error fails it without a version.
func TestCommitPrecondition(t *testing.T) {
	e := newMemEnv(t)
	e.create("dev", repo.CreateOptions{})
	e.commit("dev", map[string]string{"keep": "k", "loose": "l"})
	errTaken := errors.New("taken")

	var seen []objects.ID
	var lookups []bool
	req := repo.CommitRequest{Removes: []string{"loose"}, Precondition: func(ctx context.Context, h repo.HeadView) error {
		seen = append(seen, h.ID())
		_, found, err := h.Lookup(ctx, "taker")
		if err != nil {
			return err
		}
		lookups = append(lookups, found)
		if found {
			return errTaken
		}
		if len(seen) == 1 {
			// A writer moves the head after this attempt's check.
			e.commit("dev", map[string]string{"taker": "t"})
		}
		return nil
	}}
	before := e.head("dev")
	_, err := e.s.Commit(e.ctx, "dev", req)
	require.ErrorIs(t, err, errTaken)
	require.Len(t, seen, 2, "checked again against the moved head")
	require.Equal(t, before, seen[0])
	require.Equal(t, e.head("dev"), seen[1])
	require.Equal(t, []bool{false, true}, lookups)
	require.ElementsMatch(t, []string{"keep", "loose", "taker"}, e.paths("dev"), "nothing removed")

	// A precondition that holds: the change is made; Prefix reads the head.
	var under []string
	req.Precondition = func(ctx context.Context, h repo.HeadView) error {
		return h.Prefix(ctx, "t", func(r repo.Record) error { under = append(under, r.Path); return nil })
	}
	res, err := e.s.Commit(e.ctx, "dev", req)
	require.NoError(t, err)
	require.True(t, res.Changed)
	require.Equal(t, []string{"taker"}, under)
	require.ElementsMatch(t, []string{"keep", "taker"}, e.paths("dev"))

	// A repository without versions: an empty head.
	e.create("empty", repo.CreateOptions{})
	_, err = e.s.Commit(e.ctx, "empty", repo.CommitRequest{Adds: e.adds(map[string]string{"a": "a"}), Precondition: func(ctx context.Context, h repo.HeadView) error {
		require.True(t, h.ID().IsZero())
		_, found, err := h.Lookup(ctx, "a")
		require.False(t, found)
		return err
	}})
	require.NoError(t, err)
}
