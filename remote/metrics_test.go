package remote_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/remote"
)

// syncCounts returns the number of syncs observed by kind/result.
func syncCounts(t *testing.T, reg *prometheus.Registry) map[string]uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	counts := map[string]uint64{}
	for _, mf := range mfs {
		if mf.GetName() != "pkgvc_sync_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var kind, result string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "kind":
					kind = l.GetValue()
				case "result":
					result = l.GetValue()
				}
			}
			counts[kind+"/"+result] = m.GetHistogram().GetSampleCount()
		}
	}
	return counts
}

func TestSyncMetrics(t *testing.T) {
	e := newEnv(t)
	reg := prometheus.NewRegistry()
	require.NoError(t, e.m.RegisterMetrics(reg))
	require.NoError(t, e.m.RegisterMetrics(reg), "registering again shares the metrics")
	up := newUpstream(t, map[string][]byte{"a.bin": content("a", 1000)})
	e.remote(up.url())

	require.True(t, e.syncOK(false).Changed)
	require.False(t, e.syncOK(false).Changed)
	_, err := e.m.Sync(e.ctx, "nope", "mirror", remote.SyncOptions{})
	require.Error(t, err)
	require.Equal(t, map[string]uint64{"file/changed": 1, "file/unchanged": 1, "unknown/failed": 1}, syncCounts(t, reg))

	// A Manager built with WithMetrics on the same registry shares them.
	m2 := remote.New(e.st, nil, remote.WithMetrics(reg))
	_, err = m2.Sync(e.ctx, "nope", "mirror", remote.SyncOptions{})
	require.Error(t, err)
	require.Equal(t, uint64(2), syncCounts(t, reg)["unknown/failed"])

	// Without metrics a Manager records nothing and still syncs.
	plain := remote.New(e.st, nil)
	_, err = plain.Sync(e.ctx, "nope", "mirror", remote.SyncOptions{})
	require.Error(t, err)
	require.Equal(t, uint64(2), syncCounts(t, reg)["unknown/failed"])
}
