// Package eventlogtest starts an embedded event log on a fresh test database and connects the official
// client to it.
package eventlogtest

import (
	"context"
	"testing"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/infra/eventlog"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
)

// Start returns a pool on a fresh database, with the log served on a free loopback port, and a client.
// Everything is closed when the test ends. The package's TestMain must call pgtest.Main.
func Start(t testing.TB) (*pgxpool.Pool, *esdb.Client) {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	srv, err := eventlog.Start(context.Background(), pool, eventlog.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	client, err := eventstore.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return pool, client
}
