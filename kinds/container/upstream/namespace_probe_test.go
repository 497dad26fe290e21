package upstream_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/container/upstream"
	"github.com/pkgvc/pkgvc/kinds/container/upstream/ocitest"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
)

// TestNamespaceCacheRepoKept: an image cached under the suffixed name
// (a plain repository held its name) stays in that repository once the
// plain one is deleted: its cached tags stay served, nothing starts over
// in a new empty repository.
func TestNamespaceCacheRepoKept(t *testing.T) {
	up := ocitest.Start(t, "")
	up.Push("team/app", "1", ocitest.NewImage(t, "linux", "amd64", true, 1000))
	e := newEnv(t)
	_, err := e.m.Create(ctx(t), remote.Remote{Name: "hub", Kind: upstream.Kind, URL: up.URL(), Retries: 1})
	require.NoError(t, err)
	_, err = e.st.CreateRepo(ctx(t), "hub.team.app", repo.CreateOptions{Kind: upstream.Kind})
	require.NoError(t, err)

	ref, err := e.m.CacheRepo(ctx(t), "hub", "hub", "team/app")
	require.NoError(t, err)
	require.NotEqual(t, "hub.team.app", ref.Repo)
	res, err := e.m.PullCache(ctx(t), ref, []string{"1"})
	require.NoError(t, err)
	require.Empty(t, res.NotFound)

	require.NoError(t, e.st.DeleteRepo(ctx(t), "hub.team.app"))
	again, err := e.m.CacheRepo(ctx(t), "hub", "hub", "team/app")
	require.NoError(t, err)
	require.Equal(t, ref.Repo, again.Repo, "the repository holding the cached image")
	require.True(t, again.Exists)
}

// A name Docker Hub's shorthand makes too long (library/ + 250
// characters) is no image name: refused as the client's, not tried
// upstream.
func TestNamespaceDockerHubTooLong(t *testing.T) {
	e := newEnv(t)
	_, err := e.m.Create(ctx(t), remote.Remote{Name: "dh", Kind: upstream.Kind, URL: "https://registry-1.docker.io"})
	require.NoError(t, err)
	_, err = e.m.CacheRepo(ctx(t), "dh", "ns", strings.Repeat("a", 250))
	require.ErrorIs(t, err, repo.ErrInvalid)
	ref, err := e.m.CacheRepo(ctx(t), "dh", "ns", strings.Repeat("a", 247))
	require.NoError(t, err, "library/ + 247 is 255")
	require.Equal(t, "library/"+strings.Repeat("a", 247), ref.Upstream.Name)
}
