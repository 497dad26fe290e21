package registry_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/kinds/container/upstream/ocitest"
	"github.com/pkgvc/pkgvc/repo"
)

// A token reading one cache repository of a private namespace cache
// reads no other image of it, creates no repository through it, and
// pushes nothing into its own; a plain repository of one's own named as
// a cache repository would be is not read through the cache, nor does a
// token reading it read the cache.
func TestNamespaceCacheTokenScopes(t *testing.T) {
	e := newNSEnv(t)
	e.up.Push("library/alpine", "3", ocitest.NewImage(t, "linux", "amd64", true, 1000))
	e.up.Push("library/busybox", "1", ocitest.NewImage(t, "linux", "amd64", true, 1100))
	e.up.Push("team/app", "1", ocitest.NewImage(t, "linux", "amd64", true, 1200))
	priv := true
	_, err := e.ds.Create(e.ctx, "priv", dist.DistSpec{BasePath: "priv", Remote: "hub", Private: &priv})
	require.NoError(t, err)
	mk := func(n string, scopes ...string) string {
		var sc []auth.Scope
		for _, s := range scopes {
			p, err := auth.ParseScope(s)
			require.NoError(t, err)
			sc = append(sc, p)
		}
		_, secret, err := e.tokens.Create(e.ctx, auth.CreateOptions{Name: n, Scopes: sc})
		require.NoError(t, err)
		return secret
	}
	ns := mk("ns", "dist:priv:read")
	resp, body := e.do(http.MethodGet, "/v2/priv/library/alpine/manifests/3", ns, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))

	one := mk("one", "repo:priv.library.alpine:write")
	resp, _ = e.do(http.MethodGet, "/v2/priv/library/alpine/manifests/3", one, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = e.do(http.MethodGet, "/v2/priv/library/busybox/manifests/1", one, nil)
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	m := e.fixture.image("test/img", "pushed", "")
	resp, _ = e.putManifest("priv/library/alpine", "mine", m, one)
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	require.Equal(t, map[string][]string{"priv:library/alpine": {"priv.library.alpine"}}, e.cacheRepos(), "nothing created by a refused pull")

	// A private repository of one's own under the name team/app's cache
	// would take: the cache takes another, and neither token reads the
	// other.
	_, err = e.st.CreateRepo(e.ctx, "priv.team.app", repo.CreateOptions{Kind: "container"})
	require.NoError(t, err)
	own := mk("own", "repo:priv.team.app:read")
	resp, _ = e.do(http.MethodGet, "/v2/priv/team/app/manifests/1", own, nil)
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "the cache of team/app is not priv.team.app")
	resp, body = e.do(http.MethodGet, "/v2/priv/team/app/manifests/1", ns, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	cached := e.cacheRepos()["priv:team/app"]
	require.Len(t, cached, 1)
	require.NotEqual(t, "priv.team.app", cached[0])
	info, err := e.st.ShowRepo(e.ctx, "priv.team.app")
	require.NoError(t, err)
	require.Nil(t, info.Head, "nothing written into the plain repository")
}
