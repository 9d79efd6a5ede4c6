package eventlog

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the writer's Prometheus series.
type Metrics struct {
	Commits       prometheus.Counter
	Events        prometheus.Counter
	Requests      prometheus.Counter
	GroupRequests prometheus.Histogram
	CommitSeconds prometheus.Histogram
}

// NewMetrics creates and registers the writer metrics.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Commits:  prometheus.NewCounter(prometheus.CounterOpts{Name: "belfry_eventlog_commits_total", Help: "Group commits of the event log writer."}),
		Events:   prometheus.NewCounter(prometheus.CounterOpts{Name: "belfry_eventlog_events_total", Help: "Events committed (system events included)."}),
		Requests: prometheus.NewCounter(prometheus.CounterOpts{Name: "belfry_eventlog_write_requests_total", Help: "Write requests decided (appends, deletes, tombstones)."}),
		GroupRequests: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "belfry_eventlog_group_requests",
			Help: "Write requests per group commit.", Buckets: prometheus.ExponentialBuckets(1, 2, 12)}),
		CommitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "belfry_eventlog_commit_seconds",
			Help: "Duration of one group commit.", Buckets: prometheus.ExponentialBuckets(0.0002, 2, 14)}),
	}
	if reg != nil {
		reg.MustRegister(m.Commits, m.Events, m.Requests, m.GroupRequests, m.CommitSeconds)
	}
	return m
}
