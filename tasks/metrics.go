package tasks

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are a Runner's Prometheus collectors.
type metrics struct {
	duration  *prometheus.HistogramVec
	queued    prometheus.Gauge
	running   prometheus.Gauge
	schedules *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pkgvc_task_duration_seconds",
			Help:    "Time from start to end of tasks, by operation and final state.",
			Buckets: prometheus.ExponentialBuckets(0.25, 4, 11), // 0.25 s to about 3 days
		}, []string{"op", "state"}),
		queued: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pkgvc_tasks_queued",
			Help: "Tasks waiting to run in the store, as this process last saw them.",
		}),
		running: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pkgvc_tasks_running",
			Help: "Tasks this process is running.",
		}),
		schedules: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pkgvc_schedule_runs_total",
			Help: "Due schedule times this process handled: started a task, or skipped because the previous one was not done.",
		}, []string{"result"}),
	}
	if reg != nil {
		m.duration = register(reg, m.duration)
		m.queued = register(reg, m.queued)
		m.running = register(reg, m.running)
		m.schedules = register(reg, m.schedules)
	}
	return m
}

// register registers c, or returns the collector registered before it
// (a second Runner on one registry shares the first one's).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if old, ok := are.ExistingCollector.(C); ok {
				return old
			}
		}
		panic(err) // a conflicting metric of the same name: a programming error
	}
	return c
}
