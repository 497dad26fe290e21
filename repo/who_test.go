package repo_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/repo"
)

// TestWhoContext checks that every ref move records the context's who, and
// that versions made without an author name it.
func TestWhoContext(t *testing.T) {
	e := newMemEnv(t)
	ctx := repo.WithWhoContext(e.ctx, "ci-token")
	require.Equal(t, "ci-token", repo.WhoFrom(ctx))
	require.Empty(t, repo.WhoFrom(e.ctx))

	_, err := e.s.CreateRepo(ctx, "dev", repo.CreateOptions{})
	require.NoError(t, err)
	_, err = e.s.CreateRepo(ctx, "test", repo.CreateOptions{})
	require.NoError(t, err)
	_, err = e.s.Commit(ctx, "dev", repo.CommitRequest{Adds: e.adds(map[string]string{"a": "1"})})
	require.NoError(t, err)
	e.commit("dev", map[string]string{"b": "2"}) // no who in the context: the store's
	_, err = e.s.Promote(ctx, []repo.Pair{{Src: "dev@1", Dst: "test"}}, repo.PromoteOptions{})
	require.NoError(t, err)
	_, err = e.s.Promote(ctx, []repo.Pair{{Src: "dev", Dst: "test"}}, repo.PromoteOptions{Only: []string{"b"}})
	require.NoError(t, err)
	_, err = e.s.Rollback(ctx, "dev", "dev@1")
	require.NoError(t, err)

	whos := func(name string) []string {
		log, err := e.s.Reflog(e.ctx, name)
		require.NoError(t, err)
		var out []string
		for _, l := range log {
			out = append(out, l.Who)
		}
		return out
	}
	require.Equal(t, []string{"ci-token", rtWho, "ci-token"}, whos("dev")) // rollback, commit, commit
	require.Equal(t, []string{"ci-token", "ci-token"}, whos("test"))

	entries, err := e.s.Log(e.ctx, "dev", 0)
	require.NoError(t, err)
	require.Equal(t, "ci-token", entries[0].Author) // rollback
	require.Equal(t, rtWho, entries[1].Author)
	require.Equal(t, "ci-token", entries[2].Author)
	entries, err = e.s.Log(e.ctx, "test", 1)
	require.NoError(t, err)
	require.Equal(t, "ci-token", entries[0].Author) // promote --only

	// A commit's explicit author wins over the context for the version,
	// not for the reflog.
	_, err = e.s.Commit(ctx, "dev", repo.CommitRequest{Adds: e.adds(map[string]string{"c": "3"}), Author: "alice"})
	require.NoError(t, err)
	entries, err = e.s.Log(e.ctx, "dev", 1)
	require.NoError(t, err)
	require.Equal(t, "alice", entries[0].Author)
	require.Equal(t, "ci-token", whos("dev")[0])

	require.NoError(t, e.s.DeleteRepo(ctx, "test"))
	require.Equal(t, "ci-token", whos("test")[0])
}
