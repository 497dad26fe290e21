package container_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/container"
)

// A pull is written down at most once per PullEvery, so the log's time
// of an image may be up to that much older than its last pull: an image
// pulled within the window is kept though its written pull is older.
func TestPruneKeepsUnwrittenPull(t *testing.T) {
	e := newCacheEnv(t, 0, "2h")
	rec := &container.PullRecorder{Meta: e.st.Meta(), Now: e.clk.Now}
	a := e.newImage("a", "x")
	e.commit("cache a", map[string]*img{"a": a})
	e.clk.add(time.Hour)
	require.NoError(t, rec.Record(e.ctx, "cache", "a")) // written
	e.clk.add(50 * time.Minute)
	require.NoError(t, rec.Record(e.ctx, "cache", "a")) // within the hour: not written
	e.clk.add(110 * time.Minute)                        // the last pull was 1h50m ago
	res, err := e.dists.Prune(e.ctx, "cache", e.clk.Now())
	require.NoError(t, err)
	require.Empty(t, res.Removed, "a was pulled within the 2h window")
	require.True(t, e.paths()[container.TagPath("a")])
}
