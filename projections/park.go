package projections

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// applyError is an error Apply itself returned (a payload it cannot decode, say). Apply is
// deterministic and reads nothing, so the same event fails the same way every time.
type applyError struct {
	ev  *esdb.RecordedEvent
	err error
}

func (e *applyError) Error() string {
	return fmt.Sprintf("apply %s@%d (%s): %v", e.ev.StreamID, e.ev.EventNumber, e.ev.EventType, e.err)
}

func (e *applyError) Unwrap() error { return e.err }

// deterministic reports whether err recurs every time the same event is applied to the same read
// model, so retrying cannot help and the event is parked instead: an error of Apply itself, or a
// Postgres error about the statement's data or shape (SQLSTATE classes 21 cardinality violation,
// 22 data exception — 22P05 is a \u0000 in jsonb —, 23 integrity constraint violation, 2F routine
// exception, 42 syntax error or access rule violation, 44 check option violation, 54 program limit
// exceeded, 0A feature not supported, P0 PL/pgSQL raise). Everything else is transient and retried:
// a lost connection (no PgError at all, or class 08), 40 serialization failure and deadlock, 53
// insufficient resources, 55 lock not available, 57 operator intervention (admin shutdown, query
// cancelled), 58 and XX system errors, a cancelled context, and errors of unknown kind.
func deterministic(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errSwitched) {
		return false
	}
	var ae *applyError
	if errors.As(err, &ae) {
		return true
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || len(pgErr.Code) != 5 {
		return false
	}
	switch pgErr.Code[:2] {
	case "21", "22", "23", "2F", "42", "44", "54", "0A", "P0":
		return true
	}
	return false
}

// storable makes s safe for a text column whatever the event carried: NUL and invalid UTF-8 become
// U+FFFD, and s is cut to at most limit bytes (on a rune boundary).
func storable(s string, limit int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", "\uFFFD"), "\uFFFD")
	if len(s) <= limit {
		return s
	}
	for limit > 0 && limit < len(s) && s[limit]&0xC0 == 0x80 {
		limit--
	}
	return s[:limit] + "…"
}

const maxErrorText = 4000

// errorText is what an operator is shown of a failure: the error, and Postgres's detail if any
// ("\u0000 cannot be converted to text."), made storable.
func errorText(err error) string {
	text := err.Error()
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Detail != "" {
		text += ": " + pgErr.Detail
	}
	return storable(text, maxErrorText)
}

// park records ev as parked for generation gen with cause, in tx (the transaction that moves the
// checkpoint past it).
func park(ctx context.Context, tx pgx.Tx, name string, gen int, ev *esdb.RecordedEvent, cause error) error {
	_, err := tx.Exec(ctx, `INSERT INTO projections.parked_events
		(name, generation, position, stream_id, event_number, event_type, event_id, error)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (name, generation, position) DO UPDATE SET error = EXCLUDED.error,
			attempts = projections.parked_events.attempts + 1, retried_at = now()`,
		name, gen, int64(ev.Position.Commit), storable(ev.StreamID, 1000), int64(ev.EventNumber),
		storable(ev.EventType, 1000), ev.EventID.String(), errorText(cause))
	if err != nil {
		return fmt.Errorf("projections: park %s@%d: %w", ev.StreamID, ev.EventNumber, err)
	}
	return nil
}

// ParkedEvent is an event a projection could not apply and moved past.
type ParkedEvent struct {
	Projection  string     `json:"projection"`
	Generation  int        `json:"generation"`
	Position    uint64     `json:"position"`
	StreamID    string     `json:"streamId"`
	EventNumber uint64     `json:"eventNumber"`
	EventType   string     `json:"eventType"`
	EventID     string     `json:"eventId"`
	Error       string     `json:"error"`
	Attempts    int        `json:"attempts"`
	ParkedAt    time.Time  `json:"parkedAt"`
	RetriedAt   *time.Time `json:"retriedAt,omitempty"`
}

// Parked returns up to limit parked events of the active generation of projection name, in position
// order (limit <= 0: all of them).
func Parked(ctx context.Context, pool *pgxpool.Pool, name string, limit int) ([]ParkedEvent, error) {
	if limit <= 0 {
		limit = math.MaxInt32
	}
	rows, err := pool.Query(ctx, `SELECT p.name, p.generation, p.position, p.stream_id, p.event_number, p.event_type,
		p.event_id::text, p.error, p.attempts, p.parked_at, p.retried_at
		FROM projections.parked_events p JOIN projections.registry r ON r.name = p.name AND r.active_generation = p.generation
		WHERE p.name = $1 ORDER BY p.position LIMIT $2`, name, limit)
	if err != nil {
		return nil, fmt.Errorf("projections: parked events of %s: %w", name, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ParkedEvent, error) {
		var e ParkedEvent
		var pos, num int64
		err := row.Scan(&e.Projection, &e.Generation, &pos, &e.StreamID, &num, &e.EventType, &e.EventID, &e.Error,
			&e.Attempts, &e.ParkedAt, &e.RetriedAt)
		e.Position, e.EventNumber = uint64(pos), uint64(num)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("projections: parked events of %s: %w", name, err)
	}
	return out, nil
}

// parkedCollector exports belfry_projection_parked_events from the table at each scrape, so the
// figure is exact whichever process parked or retried.
type parkedCollector struct {
	pool *pgxpool.Pool
	desc *prometheus.Desc
}

// NewParkedCollector returns the collector of belfry_projection_parked_events: the events parked in
// each projection's active generation (0 for a projection with none), read from the database at
// each scrape. A scrape that cannot reach the database omits the series rather than failing.
func NewParkedCollector(pool *pgxpool.Pool) prometheus.Collector {
	return &parkedCollector{pool: pool, desc: prometheus.NewDesc("belfry_projection_parked_events",
		"Events the projection could not apply and moved past (see `belfry projections status`).", []string{"projection"}, nil)}
}

func (c *parkedCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *parkedCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rows, err := c.pool.Query(ctx, `SELECT r.name, count(p.position) FROM projections.registry r
		LEFT JOIN projections.parked_events p ON p.name = r.name AND p.generation = r.active_generation
		GROUP BY r.name`)
	if err != nil {
		return
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var n int64
		if rows.Scan(&name, &n) == nil {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), name)
		}
	}
}
