// Package projectiontest helps the projections' tests: it catches one projection up with the log.
package projectiontest

import (
	"context"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/projections"
)

// CatchUp creates p's read model when it is missing and runs p until it has applied the log's
// position head (at most a minute), then stops the runner; the test fails otherwise.
func CatchUp(t testing.TB, ctx context.Context, pool *pgxpool.Pool, client *esdb.Client, p projections.Projection, head uint64) {
	t.Helper()
	if _, _, err := projections.Ensure(ctx, pool, p); err != nil {
		t.Fatal(err)
	}
	r := projections.NewRunner(pool, client, p, projections.RunnerConfig{})
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = r.Run(rctx); close(done) }()
	wctx, wcancel := context.WithTimeout(ctx, time.Minute)
	err := r.WaitFor(wctx, head)
	wcancel()
	cancel()
	<-done
	if err != nil {
		t.Fatal(err)
	}
}
