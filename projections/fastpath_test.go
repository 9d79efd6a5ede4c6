package projections_test

import (
	"context"
	"encoding/json"
	"fmt"
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

// rowsx appends, for each event, the rows its data names ({"n":N,"dup":true} → rows 0…N-1, each
// twice when dup): an Appender, whose batches the live runner inserts as multi-row statements. Its
// Apply marks its rows (stream 'via-apply'), so the test sees which batches took the fast path.
type rowsx struct{}

func (rowsx) Name() string     { return "rowsx" }
func (rowsx) Version() int     { return 1 }
func (rowsx) Tables() []string { return []string{"rowsx"} }
func (rowsx) Filter() *esdb.SubscriptionFilter {
	return &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{"rowsx-"}}
}
func (rowsx) Setup(ctx context.Context, tx pgx.Tx, schema string) error {
	_, err := tx.Exec(ctx, `CREATE TABLE `+schema+`.rowsx (position bigint, i int, stream text NOT NULL, PRIMARY KEY (position, i))`)
	return err
}
func (rowsx) AppendTable() (string, []string) { return "rowsx", []string{"position", "i", "stream"} }
func (rowsx) AppendRows(rows [][]any, ev *esdb.RecordedEvent) ([][]any, error) {
	var d struct {
		N   int
		Dup bool
	}
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		return rows, err
	}
	for i := range d.N {
		rows = append(rows, []any{int64(ev.Position.Commit), i, ev.StreamID})
		if d.Dup {
			rows = append(rows, []any{int64(ev.Position.Commit), i, ev.StreamID})
		}
	}
	return rows, nil
}
func (p rowsx) Apply(b *pgx.Batch, schema string, ev *esdb.RecordedEvent) error {
	rows, err := p.AppendRows(nil, ev)
	for _, r := range rows { // marked: the test sees which batches went through Apply
		b.Queue(`INSERT INTO `+schema+`.rowsx (position, i, stream) VALUES ($1, $2, 'via-apply') ON CONFLICT DO NOTHING`, r[:2]...)
	}
	return err
}

// TestRunnerAppendsBatchesOfRows: once the runner knows its checkpoint, a batch of an Appender's
// events goes in as a few multi-row INSERTs (64, 32, … rows): every row of every event arrives once,
// whatever the batch's size (1 row to a few hundred, rows repeated within an event), and an event
// whose data cannot be read is parked while the others of its batch apply.
func TestRunnerAppendsBatchesOfRows(t *testing.T) {
	pool, client := setup(t)
	ctx := context.Background()
	r := projections.NewRunner(pool, client, rowsx{}, projections.RunnerConfig{BatchSize: 50})
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = r.Run(rctx); close(done) }()
	defer func() { cancel(); <-done }()
	want := 0
	round := func(data ...string) {
		t.Helper()
		evs := make([]esdb.EventData, len(data))
		for i, d := range data {
			evs[i] = esdb.EventData{EventID: uuid.New(), EventType: "rowsx.v1", ContentType: esdb.ContentTypeJson, Data: []byte(d)}
		}
		res, err := client.AppendToStream(ctx, "rowsx-1", esdb.AppendToStreamOptions{}, evs...)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.WaitFor(ctx, res.CommitPosition); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM rm.rowsx`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Fatalf("%d rows, want %d", n, want)
		}
	}
	want += 1
	round(`{"n":1}`) // the first batch: the runner learns its checkpoint
	var data []string
	for i := range 40 {
		data = append(data, fmt.Sprintf(`{"n":%d,"dup":%v}`, i%9, i%3 == 0))
		want += i % 9
	}
	round(data...)
	want += 200 + 3
	round(`{"n":200}`, `{"n":3,"dup":true}`)
	fast := want - 1 // the rows of the two rounds the runner applied knowing its checkpoint
	want += 2
	round(`{"n":1}`, `not json`, `{"n":1}`)
	// The first round went through Apply; the next two in multi-row statements. (The last round's
	// good events go either way: its events may come in one batch or several, and the bad event's
	// batch is applied event by event.)
	var viaApply, viaRows int
	if err := pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE stream = 'via-apply'), count(*) FILTER (WHERE stream = 'rowsx-1') FROM rm.rowsx`).
		Scan(&viaApply, &viaRows); err != nil || viaApply < 1 || viaRows < fast {
		t.Fatalf("%d rows through Apply, %d through the multi-row statements (%v): want at least 1 and %d", viaApply, viaRows, err, fast)
	}
	var parked int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM projections.parked_events WHERE name = 'rowsx'`).Scan(&parked); err != nil || parked != 1 {
		t.Fatalf("%d parked (%v), want 1", parked, err)
	}
}

// TestRunnerFollowsARebuild: while a runner applies batches in one round trip on generation 1, a
// rebuild builds generation 2 and switches to it; the runner's next batch fails its guard (its
// generation is no longer the active one), it follows generation 2, and every event is counted once.
func TestRunnerFollowsARebuild(t *testing.T) {
	pool, client := setup(t)
	ctx := context.Background()
	var last uint64
	appendN := func(n int) {
		for range n {
			res, err := client.AppendToStream(ctx, "tally-1", esdb.AppendToStreamOptions{},
				esdb.EventData{EventID: uuid.New(), EventType: "tally.v1", ContentType: esdb.ContentTypeJson, Data: []byte(`{}`)})
			if err != nil {
				t.Fatal(err)
			}
			last = res.CommitPosition
		}
	}
	r := projections.NewRunner(pool, client, tally{}, projections.RunnerConfig{BatchSize: 4})
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = r.Run(rctx); close(done) }()
	defer func() { cancel(); <-done }()
	appendN(10)
	if err := r.WaitFor(ctx, last); err != nil {
		t.Fatal(err)
	}
	if err := projections.Rebuild(ctx, pool, client, tally{}, nil); err != nil {
		t.Fatal(err)
	}
	appendN(12)
	if err := r.WaitFor(ctx, last); err != nil {
		t.Fatal(err)
	}
	var n int64
	var gen int
	if err := pool.QueryRow(ctx, `SELECT (SELECT n FROM rm.tally), (SELECT active_generation FROM projections.registry WHERE name = 'tally')`).Scan(&n, &gen); err != nil {
		t.Fatal(err)
	}
	if gen != 2 || n != 22 {
		t.Fatalf("generation %d counted %d events, want generation 2 and 22", gen, n)
	}
}
