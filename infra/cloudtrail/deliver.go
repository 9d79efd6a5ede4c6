package cloudtrail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// Records is what a delivery reads besides the records themselves (projections/audit.Store).
type Records interface {
	Source
	FirstEventTime(ctx context.Context) (time.Time, bool, error)
}

// Delivery delivers a trail continuously, as a CloudTrail trail does: every Interval it writes the
// log files of the windows that ended at least Settle ago and the digests of the hours that ended.
//
// Its State is checkpointed in trail.deliveries under the target's name after every hour and after
// the late records of a round, and a PostgreSQL advisory lock lets one process at a time deliver to a
// target. Records that reach the audit read model after their window was delivered (late records)
// go to log files of their own, listed in the next digest, as CloudTrail does with late deliveries:
// each record is delivered once. A round that fails (a target that refuses writes) is counted in
// belfry_trail_delivery_failures_total, logged, and retried after 1 s, doubling up to Interval; it
// runs in its own goroutine and holds one database connection, so it never blocks the API or the
// audit writer.
//
// Retention: with Retention set, records older than now-Retention are not delivered; reporting and
// removing them from the audit read model is auditlog.Expirer's, which serve runs whenever a retention
// is set. Files already delivered stay in the target: a bucket's lifecycle rules govern them, as with
// CloudTrail.
type Delivery struct {
	Trail     *Trail
	Records   Records
	Pool      *pgxpool.Pool
	Position  func() uint64 // the audit read model's position: records up to it are stored
	Interval  time.Duration // default 5 minutes
	Settle    time.Duration // default 1 minute; tests may make it negative
	Retention time.Duration // 0: forever
	Now       func() time.Time
	Logger    *slog.Logger
	Metrics   *Metrics
}

// Metrics of a delivery.
type Metrics struct {
	Failures  prometheus.Counter
	Files     *prometheus.CounterVec
	Through   prometheus.Gauge
	Horizon   prometheus.Gauge
	Succeeded prometheus.Counter
}

// NewMetrics registers a delivery's metrics.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "belfry_trail_delivery_failures_total",
			Help: "Trail delivery rounds that failed (the target refused a write or was unreachable); retried with back-off."}),
		Files: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "belfry_trail_files_written_total",
			Help: "CloudTrail files the trail delivery wrote, by kind (log, digest)."}, []string{"kind"}),
		Through: prometheus.NewGauge(prometheus.GaugeOpts{Name: "belfry_trail_delivered_through_timestamp_seconds",
			Help: "Records with an event time before this are delivered to the trail."}),
		Horizon: prometheus.NewGauge(prometheus.GaugeOpts{Name: "belfry_trail_retention_horizon_timestamp_seconds",
			Help: "Records with an event time before this are past BELFRY_AUDIT_RETENTION and no longer delivered or exported (0: kept forever)."}),
		Succeeded: prometheus.NewCounter(prometheus.CounterOpts{Name: "belfry_trail_delivery_rounds_total",
			Help: "Trail delivery rounds that completed."}),
	}
	reg.MustRegister(m.Failures, m.Files, m.Through, m.Horizon, m.Succeeded)
	return m
}

// ErrBusy is returned by Round when another process delivers to the same target.
var ErrBusy = errors.New("cloudtrail: another process delivers to this target")

// Run delivers until ctx ends.
func (d *Delivery) Run(ctx context.Context) {
	interval := d.Interval
	if interval <= 0 {
		interval = 5 * time.Minute
	}
	first := min(time.Second, interval)
	wait, backoff := time.Duration(0), first
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		err := d.Round(ctx)
		switch {
		case err == nil || errors.Is(err, ErrBusy):
			wait, backoff = interval, first
		case ctx.Err() != nil:
			return
		default:
			d.Metrics.Failures.Inc()
			d.Logger.Error("trail delivery failed; retrying", "target", d.Trail.Target.String(), "retry_in", backoff, "err", err)
			wait, backoff = backoff, min(2*backoff, interval)
		}
	}
}

// Round delivers what is due now.
func (d *Delivery) Round(ctx context.Context) error {
	conn, err := d.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	h := fnv.New64a()
	_, _ = h.Write([]byte("belfry-trail:" + d.name()))
	lock := int64(h.Sum64())
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, lock).Scan(&got); err != nil {
		return fmt.Errorf("cloudtrail: lock: %w", err)
	}
	if !got {
		return ErrBusy
	}
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lock) }()
	st, err := d.load(ctx, conn)
	if err != nil {
		return err
	}
	pos := d.Position()
	if pos == 0 || pos < st.Position {
		return nil // the read model has not loaded its checkpoint yet, or is being rebuilt: wait for it
	}
	now := d.Now().UTC()
	d.expire(st, now)
	save := func(st *State) error { return d.save(ctx, conn, st) }
	p, err := d.Trail.Advance(ctx, st, now.Add(-d.settle()).Truncate(Window), pos, save)
	d.Metrics.Files.WithLabelValues("log").Add(float64(p.FilesWritten))
	d.Metrics.Files.WithLabelValues("digest").Add(float64(p.DigestsWritten))
	d.Metrics.Through.Set(float64(st.Next.Unix()))
	if err != nil {
		return err
	}
	d.Metrics.Succeeded.Inc()
	if p.FilesWritten+p.DigestsWritten > 0 {
		d.Logger.Info("trail delivered", "target", d.Trail.Target.String(), "through", st.Next, "log_files", p.FilesWritten,
			"digests", p.DigestsWritten, "records", p.Records)
	}
	return nil
}

func (d *Delivery) settle() time.Duration {
	if d.Settle == 0 {
		return time.Minute
	}
	return d.Settle
}

// name is the checkpoint's key: the target and the key prefix.
func (d *Delivery) name() string { return d.Trail.Target.String() + "/" + d.Trail.Layout.Prefix }

func (d *Delivery) load(ctx context.Context, conn *pgxpool.Conn) (*State, error) {
	var b []byte
	err := conn.QueryRow(ctx, `SELECT state FROM trail.deliveries WHERE target = $1`, d.name()).Scan(&b)
	if err == nil {
		st := &State{}
		if err := json.Unmarshal(b, st); err != nil {
			return nil, fmt.Errorf("cloudtrail: checkpoint: %w", err)
		}
		return st, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("cloudtrail: checkpoint: %w", err)
	}
	first, ok, err := d.Records.FirstEventTime(ctx)
	if err != nil {
		return nil, err
	}
	if !ok {
		first = d.Now()
	}
	return NewState(first, d.Trail.Account, d.Trail.Layout.HomeRegion), nil
}

func (d *Delivery) save(ctx context.Context, conn *pgxpool.Conn, st *State) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	_, err = conn.Exec(ctx, `INSERT INTO trail.deliveries (target, state) VALUES ($1, $2)
		ON CONFLICT (target) DO UPDATE SET state = excluded.state, updated_at = now()`, d.name(), b)
	if err != nil {
		return fmt.Errorf("cloudtrail: checkpoint: %w", err)
	}
	return nil
}

// expire applies the retention horizon: the trail delivers nothing before it, and moves past windows
// that expired before they were delivered (their chains' next digests then start at the horizon, a gap
// an auditor sees). Reporting and removing the expired records is auditlog.Expirer's.
func (d *Delivery) expire(st *State, now time.Time) {
	if d.Retention <= 0 {
		return
	}
	horizon := now.Add(-d.Retention).Truncate(time.Hour)
	d.Metrics.Horizon.Set(float64(horizon.Unix()))
	if st.Since.Before(horizon) {
		st.Since = horizon
	}
	if st.Next.Before(horizon) {
		d.Logger.Warn("trail windows expired before they were delivered", "from", st.Next, "to", horizon)
		st.Next = horizon
		for _, c := range st.Chains {
			if c.Start.Before(horizon) {
				c.Start = horizon
			}
		}
	}
}
