package container

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	metamem "github.com/pkgvc/pkgvc/meta/mem"
)

// A log with Seen times and no pulls is kept: a prune of a repository
// never pulled from writes down only when its images were seen.
func TestPullLogKeepsSeenWithoutPulls(t *testing.T) {
	ctx := context.Background()
	m := metamem.New()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	require.NoError(t, updatePullLog(ctx, m, "r", func(l *PullLog) bool {
		l.Seen = map[string]time.Time{"v1": at}
		return true
	}))
	l, _, err := LoadPullLog(ctx, m, "r")
	require.NoError(t, err)
	require.Equal(t, at, l.Seen["v1"])

	require.NoError(t, updatePullLog(ctx, m, "r", func(l *PullLog) bool {
		l.Pulled["v2"] = at
		return true
	}))
	require.NoError(t, forgetPulls(ctx, m, "r", []string{"v2"}))
	l, _, err = LoadPullLog(ctx, m, "r")
	require.NoError(t, err)
	require.Equal(t, at, l.Seen["v1"], "forgetting a pull keeps the Seen times of others")

	require.NoError(t, forgetPulls(ctx, m, "r", []string{"v1"}))
	_, rev, err := LoadPullLog(ctx, m, "r")
	require.NoError(t, err)
	require.Empty(t, rev, "an empty log is deleted")
}
