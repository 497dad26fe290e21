package dist_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/dist"
	remoteall "github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
)

// TestNamespaceCacheDist: a distribution naming a remote that stands for
// a whole registry, and no repository, is a namespace cache of the
// remote's kind; base paths under it (or under the root one) are other
// distributions' to serve, and the longest wins.
func TestNamespaceCacheDist(t *testing.T) {
	ctx, st, _ := memDists(t)
	rm := remote.New(st, remoteall.Syncers())
	ds := dist.NewDists(st, dist.WithRemotes(rm))
	_, err := st.CreateRepo(ctx, "img", repo.CreateOptions{Kind: "container"})
	require.NoError(t, err)
	_, err = rm.Create(ctx, remote.Remote{Name: "hub", Kind: "container", URL: "http://127.0.0.1:1"})
	require.NoError(t, err, "a container remote without an upstream name: the whole registry")
	one := remote.Remote{Name: "one", Kind: "container", URL: "http://127.0.0.1:1", Options: remote.Options{"upstream_name": []byte(`"library/alpine"`)}}
	_, err = rm.Create(ctx, one)
	require.NoError(t, err)

	d, err := ds.Create(ctx, "hub", dist.DistSpec{BasePath: "hub", Remote: "hub"})
	require.NoError(t, err)
	require.True(t, d.Namespace())
	require.Equal(t, "container", d.Kind, "the remote's kind")
	require.Empty(t, d.Repo)

	_, err = ds.Create(ctx, "x", dist.DistSpec{BasePath: "x", Remote: "one"})
	require.ErrorIs(t, err, repo.ErrInvalid, "a remote of one image caches no namespace")
	require.ErrorContains(t, err, "--repo")
	_, err = ds.Create(ctx, "y", dist.DistSpec{BasePath: "y"})
	require.ErrorIs(t, err, repo.ErrInvalid)
	_, err = ds.Create(ctx, "z", dist.DistSpec{BasePath: "z", Repo: "img", Remote: "hub"})
	require.ErrorIs(t, err, repo.ErrInvalid, "a repository recording no upstream project cannot pull through the whole registry")
	require.ErrorContains(t, err, "omit --repo")
	_, err = st.CreateRepo(ctx, "cached", repo.CreateOptions{Kind: "container", Upstream: &repo.Upstream{Name: "library/alpine", Remote: "hub", Dist: "hub"}})
	require.NoError(t, err)
	_, err = ds.Create(ctx, "z", dist.DistSpec{BasePath: "z", Repo: "cached", Remote: "hub"})
	require.NoError(t, err, "a cache repository pulls its own project")

	// Under the namespace: another distribution's base path is allowed;
	// the same base path is not.
	_, err = ds.Create(ctx, "pinned", dist.DistSpec{BasePath: "hub/library/alpine", Repo: "img"})
	require.NoError(t, err)
	_, err = ds.Create(ctx, "hub2", dist.DistSpec{BasePath: "hub", Remote: "hub"})
	require.ErrorIs(t, err, dist.ErrBasePath)
	_, err = ds.Create(ctx, "team", dist.DistSpec{BasePath: "hub/team", Remote: "hub"})
	require.NoError(t, err, "a namespace inside a namespace")

	// The root is a namespace cache's only.
	_, err = ds.Create(ctx, "rootrepo", dist.DistSpec{BasePath: "/", Repo: "img"})
	require.ErrorIs(t, err, dist.ErrBasePath)
	root, err := ds.Create(ctx, "mirror", dist.DistSpec{BasePath: "/", Remote: "hub"})
	require.NoError(t, err)
	require.True(t, root.Namespace())

	all, err := ds.List(ctx)
	require.NoError(t, err)
	var ptrs []*dist.Distribution
	for i := range all {
		ptrs = append(ptrs, &all[i])
	}
	for _, tc := range []struct{ name, dist, rest string }{
		{"hub/library/alpine", "hub", "library/alpine"},
		{"hub/team/tools/jq", "team", "tools/jq"},
		{"hub/team", "hub", "team"},
		{"library/alpine", "mirror", "library/alpine"},
		{"hubx/a", "mirror", "hubx/a"},
	} {
		i, rest := dist.NamespaceOf(ptrs, tc.name)
		require.GreaterOrEqual(t, i, 0, tc.name)
		require.Equal(t, tc.dist, ptrs[i].Name, tc.name)
		require.Equal(t, tc.rest, rest, tc.name)
	}

	// A namespace cache cannot do without its remote: no detaching.
	_, err = ds.DeleteRemote(ctx, "hub", true)
	require.ErrorIs(t, err, dist.ErrInUse)
	require.ErrorContains(t, err, "caches its namespace")
	_, err = rm.Show(ctx, "hub")
	require.NoError(t, err)
}
