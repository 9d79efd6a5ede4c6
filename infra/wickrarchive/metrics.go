package wickrarchive

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the shipper's Prometheus series: its progress, and the networks it has not caught up.
type Metrics struct {
	// Lines counts the lines written (belfry_wickr_archive_lines_total).
	Lines prometheus.Counter
	// Failures counts the networks whose shipping failed in a round (belfry_wickr_archive_failures_total).
	Failures prometheus.Counter
	// Behind is how many networks the last round left with items not shipped
	// (belfry_wickr_archive_networks_behind): those whose shipping failed, retried next round.
	Behind prometheus.Gauge
}

// NewMetrics registers the shipper's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Lines: prometheus.NewCounter(prometheus.CounterOpts{Name: "belfry_wickr_archive_lines_total",
			Help: "Lines (archived messages) the Wickr data-retention archive wrote."}),
		Failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "belfry_wickr_archive_failures_total",
			Help: "Networks whose archive shipping failed in a round (retried the next round)."}),
		Behind: prometheus.NewGauge(prometheus.GaugeOpts{Name: "belfry_wickr_archive_networks_behind",
			Help: "Networks the last archive round left with messages not shipped."}),
	}
	if reg != nil {
		reg.MustRegister(m.Lines, m.Failures, m.Behind)
	}
	return m
}

// round records a round: lines written, and the networks whose shipping failed.
func (m *Metrics) round(lines, failed int) {
	if m == nil {
		return
	}
	m.Lines.Add(float64(lines))
	m.Failures.Add(float64(failed))
	m.Behind.Set(float64(failed))
}
