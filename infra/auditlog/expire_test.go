package auditlog_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/belfry/belfry/domain/audit"
	"github.com/belfry/belfry/infra/auditlog"
	"github.com/belfry/belfry/infra/eventlog/eventlogtest"
	"github.com/belfry/belfry/projections"
	auditrm "github.com/belfry/belfry/projections/audit"
)

// TestExpirerReportsThenRemovesExpiredRecords: with a retention of 30 days, the records older than
// the horizon are reported by one AuditRecordsExpired record (window and count) and removed from the
// audit read model; younger records stay, every record stays in the event log, and a second round
// finds nothing to do.
func TestExpirerReportsThenRemovesExpiredRecords(t *testing.T) {
	ctx := context.Background()
	pool, c := eventlogtest.Start(t)
	w := auditlog.New(c, auditlog.Config{})
	defer w.Close()
	now := time.Date(2026, 11, 29, 10, 30, 0, 0, time.UTC)
	ages := []time.Duration{90 * 24 * time.Hour, 45 * 24 * time.Hour, 31 * 24 * time.Hour, 29 * 24 * time.Hour, time.Hour}
	for _, age := range ages {
		r := record("CreateUser")
		r.EventTime = now.Add(-age)
		if err := w.Record(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	runner := projections.NewRunner(pool, c, auditrm.Projection{}, projections.RunnerConfig{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = runner.Run(rctx) }()
	store := auditrm.NewStore(pool)
	count := func() int64 { // -1 until the runner has created the read model
		n, err := store.CountBetween(ctx, now.Add(-1000*24*time.Hour), now.Add(time.Hour))
		if err != nil {
			return -1
		}
		return n
	}
	waitFor(t, func() bool { return count() == int64(len(ages)) })

	expired := auditlog.NewExpiredCounter(prometheus.NewRegistry())
	e := &auditlog.Expirer{Store: store, Recorder: w, Retention: 30 * 24 * time.Hour, Batch: 2, Now: func() time.Time { return now },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Expired: expired}
	n, err := e.Round(ctx)
	if err != nil || n != 3 {
		t.Fatalf("round removed %d records (want 3): %v", n, err)
	}
	if v := value(t, expired); v != 3 {
		t.Fatalf("belfry_audit_expired_records_total = %v", v)
	}
	// The two young records and the report remain; the report names the window and the count.
	waitFor(t, func() bool { return count() == 3 })
	recs, err := store.Lookup(ctx, auditrm.Query{EventName: audit.EventNameRecordsExpired})
	if err != nil || len(recs) != 1 {
		t.Fatalf("AuditRecordsExpired records: %d, %v", len(recs), err)
	}
	d := recs[0].ServiceEventDetails
	horizon := now.Add(-30 * 24 * time.Hour).Truncate(time.Hour)
	if d == nil || d.Expired != 3 || !d.WindowStart.Equal(now.Add(-90*24*time.Hour)) || !d.WindowEnd.Equal(horizon) || d.Retention != "720h0m0s" {
		t.Fatalf("report: %+v", d)
	}
	if got := len(readStreams(t, c, w)); got != len(ages)+1 {
		t.Fatalf("the event log holds %d records, want every record and the report (%d)", got, len(ages)+1)
	}
	if n, err := e.Round(ctx); err != nil || n != 0 {
		t.Fatalf("second round: %d, %v", n, err)
	}
	if recs, _ := store.Lookup(ctx, auditrm.Query{EventName: audit.EventNameRecordsExpired}); len(recs) != 1 {
		t.Fatalf("a round with nothing expired must not report: %d reports", len(recs))
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatal("condition not reached in 30 s")
}
