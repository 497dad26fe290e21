package remote

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Results of a sync, as its metrics label them.
const (
	syncChanged   = "changed"   // a new version
	syncUnchanged = "unchanged" // nothing to commit
	syncFailed    = "failed"
)

// WithMetrics registers the Manager's Prometheus metrics in reg (see
// RegisterMetrics). Without it a Manager keeps none.
func WithMetrics(reg prometheus.Registerer) Option {
	return func(m *Manager) {
		if err := m.RegisterMetrics(reg); err != nil {
			panic(err) // a conflicting metric of the same name: a programming error
		}
	}
}

// RegisterMetrics registers the Manager's Prometheus metrics in reg, for
// a Manager built without WithMetrics: pkgvc_sync_duration_seconds, a
// histogram of Sync calls by remote kind and result (changed, unchanged,
// failed). Managers registered in one registry share the metrics; a
// conflicting collector of the same name is an error.
func (m *Manager) RegisterMetrics(reg prometheus.Registerer) error {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "pkgvc_sync_duration_seconds",
		Help:    "Time taken by syncs of remotes into repositories, by remote kind and result (changed: a new version, unchanged, failed).",
		Buckets: prometheus.ExponentialBuckets(0.1, 4, 10), // 0.1 s to about 7 hours
	}, []string{"kind", "result"})
	if err := reg.Register(h); err != nil {
		var are prometheus.AlreadyRegisteredError
		old, ok := (*prometheus.HistogramVec)(nil), false
		if errors.As(err, &are) {
			old, ok = are.ExistingCollector.(*prometheus.HistogramVec)
		}
		if !ok {
			return err
		}
		h = old
	}
	m.syncs.Store(h)
	return nil
}

// observeSync records one Sync of a remote of kind ("" when the remote
// could not be read).
func (m *Manager) observeSync(kind string, start time.Time, res *SyncResult, err error) {
	h := m.syncs.Load()
	if h == nil {
		return
	}
	result := syncUnchanged
	switch {
	case err != nil:
		result = syncFailed
	case res != nil && res.Changed:
		result = syncChanged
	}
	if kind == "" {
		kind = "unknown"
	}
	h.WithLabelValues(kind, result).Observe(time.Since(start).Seconds())
}
