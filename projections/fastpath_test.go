package projections_test

import (
	"context"
	"testing"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/belfry/belfry/projections"
)

// tally counts the events it applies in a one-row table, with a statement that is not idempotent:
// an event applied twice shows.
type tally struct{}

func (tally) Name() string     { return "tally" }
func (tally) Version() int     { return 1 }
func (tally) Tables() []string { return []string{"tally"} }
func (tally) Filter() *esdb.SubscriptionFilter {
	return &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{"tally-"}}
}
func (tally) Setup(ctx context.Context, tx pgx.Tx, schema string) error {
	_, err := tx.Exec(ctx, `CREATE TABLE `+schema+`.tally (n bigint NOT NULL); INSERT INTO `+schema+`.tally VALUES (0)`)
	return err
}
func (tally) Apply(b *pgx.Batch, schema string, _ *esdb.RecordedEvent) error {
	b.Queue(`UPDATE ` + schema + `.tally SET n = n + 1`)
	return nil
}

// TestRunnerSeesACheckpointMovedUnderIt: a running runner applies each batch in one round trip on the
// checkpoint it last committed; when another writer (a second process, an operator) moved the
// checkpoint meanwhile, the events that checkpoint covers are not applied again.
func TestRunnerSeesACheckpointMovedUnderIt(t *testing.T) {
	pool, client := setup(t)
	ctx := context.Background()
	appendN := func(n int) uint64 {
		var last uint64
		for range n {
			res, err := client.AppendToStream(ctx, "tally-1", esdb.AppendToStreamOptions{},
				esdb.EventData{EventID: uuid.New(), EventType: "tally.v1", ContentType: esdb.ContentTypeJson, Data: []byte(`{}`)})
			if err != nil {
				t.Fatal(err)
			}
			last = res.CommitPosition
		}
		return last
	}
	count := func() int64 {
		var n int64
		if err := pool.QueryRow(ctx, `SELECT n FROM rm.tally`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	r := projections.NewRunner(pool, client, tally{}, projections.RunnerConfig{BatchSize: 4})
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = r.Run(rctx); close(done) }()
	defer func() { cancel(); <-done }()
	wait := func(pos uint64) {
		t.Helper()
		if err := r.WaitFor(ctx, pos); err != nil {
			t.Fatal(err)
		}
	}
	first := appendN(10) // the runner commits a few batches: it knows its checkpoint
	wait(first)
	if n := count(); n != 10 {
		t.Fatalf("applied %d events, want 10", n)
	}
	// Another writer applies the next 5 events and moves the checkpoint past them, before they
	// reach this runner (the log's positions are consecutive: they will be first+1 … first+5).
	if _, err := pool.Exec(ctx, `UPDATE rm_tally_g1.tally SET n = n + 5`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE projections.checkpoints SET position = $1 WHERE name = 'tally'`, int64(first+5)); err != nil {
		t.Fatal(err)
	}
	last := appendN(12)
	wait(last)
	if n := count(); n != 22 {
		t.Fatalf("applied %d events, want 22: the events under the moved checkpoint were applied again (or some were lost)", n)
	}
}
