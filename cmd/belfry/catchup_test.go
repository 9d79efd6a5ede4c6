package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/infra/eventlog"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/infra/migrations"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
)

// catchUpTestProjection is a read model of the streams "catchup-test-…": each event is a row, or,
// when stuck, a statement that always fails with a transient error (a serialization failure), which
// the runner retries for ever without moving on.
type catchUpTestProjection struct {
	name  string
	stuck bool
}

func (p catchUpTestProjection) Name() string { return p.name }
func (catchUpTestProjection) Version() int   { return 1 }
func (catchUpTestProjection) Filter() *esdb.SubscriptionFilter {
	return &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{"catchup-test-"}}
}
func (catchUpTestProjection) Tables() []string { return []string{"rows"} }
func (catchUpTestProjection) Setup(ctx context.Context, tx pgx.Tx, schema string) error {
	_, err := tx.Exec(ctx, "CREATE TABLE "+schema+".rows (id text PRIMARY KEY)")
	return err
}
func (p catchUpTestProjection) Apply(b *pgx.Batch, schema string, ev *esdb.RecordedEvent) error {
	if p.stuck {
		b.Queue(`DO $$ BEGIN RAISE EXCEPTION 'the read model is always busy' USING ERRCODE = '40001'; END $$`)
		return nil
	}
	b.Queue("INSERT INTO "+schema+".rows (id) VALUES ($1) ON CONFLICT DO NOTHING", ev.EventID.String())
	return nil
}

// syncBuffer is a bytes.Buffer safe for the catch-up's progress writes beside the test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// startCatchUpLog starts an event log on a fresh database, with one event of a "catchup-test-" stream.
func startCatchUpLog(t *testing.T) (*pgxpool.Pool, *eventlog.Server, *esdb.Client) {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := migrations.Apply(ctx, pool); err != nil {
		t.Fatal(err)
	}
	srv, err := eventlog.Start(ctx, pool, eventlog.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	client, err := eventstore.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	if _, err := client.AppendToStream(ctx, "catchup-test-1", esdb.AppendToStreamOptions{}, esdb.EventData{EventID: uuid.New(),
		EventType: "Happened", ContentType: esdb.ContentTypeJson, Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	return pool, srv, client
}

// TestCatchUpGivesUpOnAStuckReadModel: a CLI command's catch-up meets a read model that keeps failing
// on an event (a transient error the runner retries for ever). It shows its progress — the read model,
// its position against the head, how long without progress — and gives up once the read model has not
// advanced for the bound, with an error naming the read model and the runner's last error, instead
// of waiting for ever without a word. A healthy read model beside it catches up.
func TestCatchUpGivesUpOnAStuckReadModel(t *testing.T) {
	t.Parallel()
	pool, _, client := startCatchUpLog(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out syncBuffer
	c := catchUpper{stall: 2 * time.Second, out: &out, tick: 200 * time.Millisecond}
	if err := c.run(ctx, pool, client, catchUpTestProjection{name: "catchup_ok"}); err != nil {
		t.Fatalf("a healthy read model: %v", err)
	}
	start := time.Now()
	err := c.run(ctx, pool, client, catchUpTestProjection{name: "catchup_stuck", stuck: true})
	if took := time.Since(start); took > 20*time.Second {
		t.Fatalf("the catch-up gave up after %s, for a bound of 2s", took)
	}
	if !errors.Is(err, errCatchUpStalled) || !strings.Contains(err.Error(), "catchup_stuck") || !strings.Contains(err.Error(), "always busy") {
		t.Fatalf("a stuck read model: %v", err)
	}
	if s := out.String(); !strings.Contains(s, "catching up read model catchup_stuck: position") || !strings.Contains(s, "no progress for") {
		t.Fatalf("no progress shown: %q", s)
	}
}

// TestCatchUpGivesUpOnAnUnreachableLog: the event log does not answer (its address takes connections
// and says nothing; the client's own retries take about 50 s). The catch-up shows that it waits and
// gives up within its bound, with an error saying the log did not answer, instead of waiting without
// a word.
func TestCatchUpGivesUpOnAnUnreachableLog(t *testing.T) {
	t.Parallel()
	pool, srv, _ := startCatchUpLog(t)
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				_ = c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	client, err := eventstore.Connect(strings.Replace(srv.URL(), srv.Addr(), silent.Addr().String(), 1))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out syncBuffer
	start := time.Now()
	err = catchUpper{stall: 2 * time.Second, out: &out, tick: 200 * time.Millisecond}.run(ctx, pool, client, catchUpTestProjection{name: "catchup_gone"})
	if took := time.Since(start); took > 20*time.Second {
		t.Fatalf("an unreachable log: gave up after %s, for a bound of 2s: %v", took, err)
	}
	if !errors.Is(err, errCatchUpStalled) || !strings.Contains(err.Error(), "event log did not answer") {
		t.Fatalf("an unreachable log: %v", err)
	}
	if !strings.Contains(out.String(), "the event log has not answered for") {
		t.Fatalf("no progress shown: %q", out.String())
	}
}
