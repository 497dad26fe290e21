package registry_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/kinds/container"
	"github.com/pkgvc/pkgvc/kinds/container/upstream/ocitest"
	"github.com/pkgvc/pkgvc/options"
)

// A namespace cache with retain_unpulled: each image's repository
// records its pulls, and a prune of the distribution drops the images
// nobody pulled within the window from their repositories.
func TestNamespaceCacheRetainUnpulled(t *testing.T) {
	e := newNSEnv(t)
	e.up.Push("library/a", "1", ocitest.NewImage(t, "linux", "amd64", true, 1000))
	e.up.Push("library/b", "1", ocitest.NewImage(t, "linux", "amd64", true, 1000))
	_, err := e.ds.Create(e.ctx, "hub", dist.DistSpec{BasePath: "hub", Remote: "hub",
		Options: options.Values{container.OptRetainUnpulled: json.RawMessage(`"30d"`)}})
	require.NoError(t, err)
	for _, ref := range []string{"hub/library/a:1", "hub/library/b:1"} {
		_, err := e.image(ref)
		require.NoError(t, err)
	}
	repos := e.cacheRepos()
	require.Len(t, repos["hub:library/a"], 1)
	require.Len(t, repos["hub:library/b"], 1)
	ra, rb := repos["hub:library/a"][0], repos["hub:library/b"][0]
	for _, r := range []string{ra, rb} {
		l, _, err := container.LoadPullLog(e.ctx, e.st.Meta(), r)
		require.NoError(t, err)
		require.Contains(t, l.Pulled, "1", "the pull is written down in the image's repository %s", r)
	}

	now := time.Now()
	later := &container.PullRecorder{Meta: e.st.Meta(), Now: func() time.Time { return now.Add(20 * 24 * time.Hour) }}
	require.NoError(t, later.Record(e.ctx, ra, "1"))
	res, err := e.ds.Prune(e.ctx, "hub", now.Add(31*24*time.Hour))
	require.NoError(t, err)
	require.Len(t, res.Caches, 1)
	require.Equal(t, rb, res.Caches[0].Repo)
	require.Contains(t, res.Caches[0].Removed, container.TagPath("1"))
	require.NotZero(t, res.Caches[0].Version)
	_, err = e.st.Stat(e.ctx, ra, container.TagPath("1"))
	require.NoError(t, err, "pulled on day 20: kept")
	_, err = e.st.Stat(e.ctx, rb, container.TagPath("1"))
	require.Error(t, err, "not pulled for 31 days: dropped")

	all, err := e.ds.PruneAll(e.ctx, now.Add(31*24*time.Hour))
	require.NoError(t, err)
	require.Empty(t, all, "nothing more is due")
}
