package registry_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/kinds/container/upstream/ocitest"
	"github.com/pkgvc/pkgvc/repo"
)

// Crafted names under a namespace cache get a client error and create
// nothing; the longest valid name is cached in a repository of a valid
// name; names spelled into one repository name get two repositories.
func TestNamespaceCacheCraftedNames(t *testing.T) {
	e := newNSEnv(t)
	_, err := e.ds.Create(e.ctx, "hub", dist.DistSpec{BasePath: "hub", Remote: "hub"})
	require.NoError(t, err)
	long := strings.Repeat("a", 120) + "/" + strings.Repeat("b", 130) // 255 with "hub/"
	dLong := e.up.Push(long, "1", ocitest.NewImage(t, "linux", "amd64", true, 500))
	dAB := e.up.Push("a/b", "1", ocitest.NewImage(t, "linux", "amd64", true, 600))
	dADotB := e.up.Push("a.b", "1", ocitest.NewImage(t, "linux", "amd64", true, 700))
	for _, p := range []string{
		"/v2/hub/%2e%2e/x/manifests/1",
		"/v2/hub//a/manifests/1",
		"/v2/hub/A/manifests/1",
		"/v2/hub/-a/manifests/1",
		"/v2/hub/a..b/manifests/1",
		"/v2/hub/" + strings.Repeat("c", 300) + "/manifests/1",
		"/v2/hub/" + long + "x/manifests/1",
		"/v2/hub/a/manifests/..",
		"/v2/hub/a/blobs/sha256:..",
		"/v2/hub/a/manifests/sha256:" + strings.Repeat("A", 64),
		"/v2/hub/a/tags/list?n=-1",
		"/v2/hub/a/referrers/sha256:zz",
	} {
		resp, body := e.do(http.MethodGet, p, "", nil)
		require.Less(t, resp.StatusCode, 500, "%s: %s", p, body)
		require.GreaterOrEqual(t, resp.StatusCode, 300, "%s: %s", p, body)
	}
	require.Empty(t, e.cacheRepos())

	for ref, want := range map[string]string{"hub/" + long + ":1": dLong.String(), "hub/a/b:1": dAB.String(), "hub/a.b:1": dADotB.String()} {
		got, err := e.image(ref)
		require.NoError(t, err, ref)
		require.Equal(t, want, got.String(), ref)
	}
	repos := e.cacheRepos()
	require.Len(t, repos, 3)
	for up, rs := range repos {
		require.Len(t, rs, 1, up)
		require.NoError(t, repo.ValidateName(rs[0]), up)
		require.True(t, strings.HasPrefix(rs[0], "hub."), rs[0])
	}
	require.NotEqual(t, repos["hub:a/b"][0], repos["hub:a.b"][0])
}
