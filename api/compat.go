package api

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/belfry/belfry/api/awsproto"
)

// Caller is the authenticated principal behind a request; iam.Principal implements it.
type Caller = awsproto.Caller

// AuditSink receives one record per API call (see awsproto.AuditSink).
type AuditSink = awsproto.AuditSink

// Metrics are the API's request counters and latency histograms.
type Metrics = awsproto.Metrics

// NewMetrics registers the API metrics with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics { return awsproto.NewMetrics(reg) }
