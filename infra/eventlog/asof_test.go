package eventlog_test

import (
	"context"
	"testing"
	"time"

	"github.com/belfry/belfry/infra/eventlog"
)

// TestPositionAtNeverCountsALaterEvent steps the writer's clock back (an NTP correction, a restart
// on a host whose clock is behind) between two groups: the position found for an instant must never
// include an event stamped after it, or an as-of replay would show state from after T.
func TestPositionAtNeverCountsALaterEvent(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := t0.Add(10 * time.Second)
	e := startEnv(t, eventlog.Config{Log: eventlog.LogConfig{Now: func() time.Time { return clock }}})
	e.appendN("first", 3) // stamped t0+10s
	clock = t0            // the clock steps back
	e.appendN("second", 2)
	ctx := context.Background()
	pos, ok, err := eventlog.PositionAt(ctx, e.pool, t0.Add(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if ok {
		var later int
		if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM eventlog.events WHERE position <= $1 AND created > $2`,
			int64(pos), t0.Add(5*time.Second).UnixNano()/100).Scan(&later); err != nil {
			t.Fatal(err)
		}
		if later > 0 {
			t.Fatalf("as of t0+5s: position %d includes %d event(s) stamped after t0+5s", pos, later)
		}
	}
	// Every stamp is at least the one before it.
	var backwards int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT created < lag(created) OVER (ORDER BY position) AS back
		FROM eventlog.events) s WHERE back`).Scan(&backwards); err != nil {
		t.Fatal(err)
	}
	if backwards > 0 {
		t.Fatalf("%d event(s) stamped before the event before them", backwards)
	}
}
