package content_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/repo"
)

// TestNamespaceTargetRepoReplaced: a cache repository deleted and made
// again under its name by someone else (a private repository of one's
// own) is no longer the cache: the namespace cache, public here, must
// not serve that repository's versions under its base path.
func TestNamespaceTargetRepoReplaced(t *testing.T) {
	ctx := context.Background()
	st, rm, ds, w := namespaceStore(t)
	srv := content.NewServer(st, ds, publish.NewPublications(st, publish.NewRegistry(manifestPublisher{}), 8), content.WithRefsWatch(w), content.WithNamespaceCache(rm))

	commit := func(rp, body string) string {
		b := st.Objects().NewBatch()
		put, err := b.PutBlob(ctx, strings.NewReader(body))
		require.NoError(t, err)
		require.NoError(t, b.Flush(ctx))
		_, err = st.Commit(ctx, rp, repo.CommitRequest{Records: []repo.Record{{Path: "blobs/sha256/" + put.ID.String(), SHA256: put.ID, Size: put.Size}}})
		require.NoError(t, err)
		return "blobs/sha256/" + put.ID.String()
	}
	// The cache of library/foo, as its first pull made it.
	_, err := st.CreateRepo(ctx, "hub.library.foo", repo.CreateOptions{Kind: "container", Upstream: &repo.Upstream{Name: "library/foo", Remote: "hub", Dist: "hub"}})
	require.NoError(t, err)
	commit("hub.library.foo", "cached")
	tg, err := srv.Target(ctx, "hub/library/foo")
	require.NoError(t, err)
	require.Equal(t, "hub.library.foo", tg.Dist.Repo)
	require.NotNil(t, tg.Version)

	// Deleted, and the name taken by a repository of one's own.
	require.NoError(t, st.DeleteRepo(ctx, "hub.library.foo"))
	_, err = st.CreateRepo(ctx, "hub.library.foo", repo.CreateOptions{Kind: "container"})
	require.NoError(t, err)
	secret := commit("hub.library.foo", "secret")

	tg, err = srv.Target(ctx, "hub/library/foo")
	require.NoError(t, err)
	require.NotNil(t, tg)
	require.NotEqual(t, "hub.library.foo", tg.Dist.Repo, "not the cache any more")
	_, found, err := tg.Lookup(ctx, secret)
	require.NoError(t, err)
	require.False(t, found, "the namespace cache serves no repository it did not make")
}
