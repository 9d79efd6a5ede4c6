package eventlog

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/infra/pgcluster/pgtest"
)

// openTestLog opens a Log over a fresh database, both closed when the test ends.
func openTestLog(t *testing.T, cfg LogConfig) (*Log, *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	l, err := Open(ctx, pool, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l, pool
}
