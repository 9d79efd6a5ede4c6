package awsproto

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the API's request counters and latency histograms, per service and operation. The
// latency is the server's: from the request's arrival at the handler to its response being written.
type Metrics struct {
	Requests *prometheus.CounterVec
	Seconds  *prometheus.HistogramVec
}

// LatencyBuckets resolve the low milliseconds, where the API's targets are.
var LatencyBuckets = []float64{.0005, .001, .002, .003, .005, .0075, .01, .015, .02, .03, .05, .075, .1, .2, .5, 1, 2, 5}

// NewMetrics registers the API metrics with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "belfry_api_requests_total",
			Help: "API calls by signing service, operation and HTTP status."}, []string{"service", "operation", "status"}),
		Seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "belfry_api_request_seconds",
			Help: "Server-side latency of API calls.", Buckets: LatencyBuckets}, []string{"service", "operation"}),
	}
	if reg != nil {
		reg.MustRegister(m.Requests, m.Seconds)
	}
	return m
}

func (m *Metrics) observe(service, op string, status int, d time.Duration) {
	m.Requests.WithLabelValues(service, op, strconv.Itoa(status)).Inc()
	m.Seconds.WithLabelValues(service, op).Observe(d.Seconds())
}
