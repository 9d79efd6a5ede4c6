package auditlog

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/belfry/belfry/domain/audit"
)

// ExpiryStore is the audit read model as the Expirer uses it (projections/audit.Store).
type ExpiryStore interface {
	FirstEventTime(ctx context.Context) (time.Time, bool, error)
	CountBetween(ctx context.Context, from, to time.Time) (int64, error)
	DeleteBefore(ctx context.Context, horizon time.Time, limit int) (int64, error)
}

// Recorder stores a record durably (Writer.Record).
type Recorder interface {
	Record(ctx context.Context, r audit.APICallRecorded) error
}

// Expirer keeps the audit trail for Retention (BELFRY_AUDIT_RETENTION) and no longer.
//
// Each Round computes the horizon, now − Retention truncated to the hour (the same horizon the trail
// delivery and `belfry audit export` apply). When the read model holds records before it, the round
// first stores an AuditRecordsExpired service record naming the window [oldest record, horizon), its
// record count and the retention — durably, through the authenticated lane — and only then deletes those
// records from the audit read model in batches of at most Batch rows, so nothing expires without a
// report. The events stay in the event log (its hash chain stays whole; an as-of replay before the
// horizon still shows them); a rebuild of the audit read model brings them back until the next round
// removes them again. A round interrupted between the report and the end of the deletion reports the
// remaining window again in the next round: a window may be reported twice, never not at all.
type Expirer struct {
	Store     ExpiryStore
	Recorder  Recorder
	Retention time.Duration // > 0
	Batch     int           // rows per DELETE; default 5,000
	Now       func() time.Time
	Logger    *slog.Logger
	Expired   prometheus.Counter // records removed
}

// NewExpiredCounter registers belfry_audit_expired_records_total.
func NewExpiredCounter(reg prometheus.Registerer) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "belfry_audit_expired_records_total",
		Help: "Audit records removed from the audit read model because they passed BELFRY_AUDIT_RETENTION (each window is reported by an AuditRecordsExpired record; the events stay in the log)."})
	reg.MustRegister(c)
	return c
}

// Run calls Round at once and then every interval until ctx ends; a failed round is logged and
// retried at the next tick.
func (e *Expirer) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := e.Round(ctx); err != nil && ctx.Err() == nil {
			e.Logger.Error("audit retention round failed; retrying at the next tick", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Round reports and removes the records that passed the horizon and returns how many it removed.
func (e *Expirer) Round(ctx context.Context) (int64, error) {
	horizon := e.Now().Add(-e.Retention).Truncate(time.Hour).UTC()
	first, ok, err := e.Store.FirstEventTime(ctx)
	if err != nil || !ok || !first.Before(horizon) {
		return 0, err
	}
	n, err := e.Store.CountBetween(ctx, first, horizon)
	if err != nil {
		return 0, err
	}
	id := uuid.New()
	rec := audit.APICallRecorded{
		EventVersion: "1.08", EventTime: e.Now().UTC(), EventSource: "belfry.local", EventName: audit.EventNameRecordsExpired,
		EventType: "AwsServiceEvent", ReadOnly: true, UserIdentity: audit.UserIdentity{Type: "AWSService"},
		RequestID: id.String(), EventID: id.String(),
		ServiceEventDetails: &audit.ServiceEventDetails{WindowStart: first, WindowEnd: horizon, Expired: n, Retention: e.Retention.String()},
	}
	if err := e.Recorder.Record(ctx, rec); err != nil {
		return 0, fmt.Errorf("auditlog: report of expired records: %w", err)
	}
	e.Logger.Warn("audit records passed the retention: removed from the audit read model (they stay in the event log)",
		"from", first, "to", horizon, "records", n, "retention", e.Retention)
	batch := e.Batch
	if batch <= 0 {
		batch = 5000
	}
	var total int64
	for {
		d, err := e.Store.DeleteBefore(ctx, horizon, batch)
		total += d
		if e.Expired != nil {
			e.Expired.Add(float64(d))
		}
		if err != nil || d == 0 {
			return total, err
		}
	}
}
