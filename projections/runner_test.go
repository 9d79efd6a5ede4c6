package projections_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/infra/eventlog/eventlogtest"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
	"github.com/belfry/belfry/projections"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func setup(t *testing.T) (*pgxpool.Pool, *esdb.Client) { return eventlogtest.Start(t) }

func accountRepo(c *esdb.Client) *eventstore.Repository[account.State, account.Command, account.Event] {
	return eventstore.NewRepository(c, eventstore.Decider[account.State, account.Command, account.Event]{
		Initial: account.Initial, Evolve: account.Evolve, Decide: account.Decide, Decode: account.Decode,
		Type: func(e account.Event) string { return e.EventType() },
	}, nil)
}

// writeHistory creates n accounts and changes them, returning the last position.
func writeHistory(t *testing.T, c *esdb.Client, n int) uint64 {
	t.Helper()
	ctx := context.Background()
	repo := accountRepo(c)
	var last uint64
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("acc-%04d", i)
		res, err := repo.Execute(ctx, account.StreamName(id), account.Create{AccountID: id, AwsAccountID: "111122223333", Name: "Org " + id})
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("Renamed %d", i)
		lic := account.LicenseBasic
		if res, err = repo.Execute(ctx, account.StreamName(id), account.Update{AccountID: id, Name: &name, DefaultLicense: &lic}); err != nil {
			t.Fatal(err)
		}
		last = res.Position
		if i%3 == 0 {
			if res, err = repo.Execute(ctx, account.StreamName(id), account.Delete{AccountID: id}); err != nil {
				t.Fatal(err)
			}
			last = res.Position
		}
	}
	return last
}

// crashy wraps the accounts projection under another name, without views; its failAt-th Apply also
// queues the termination of the batch's own Postgres backend: the connection is lost mid-batch.
type crashy struct {
	chimeaccounts.Projection
	name    string
	failAt  int64
	applied atomic.Int64
}

func (c *crashy) Name() string     { return c.name }
func (c *crashy) Tables() []string { return nil }
func (c *crashy) Apply(b *pgx.Batch, schema string, ev *esdb.RecordedEvent) error {
	if c.applied.Add(1) == c.failAt {
		b.Queue("SELECT pg_terminate_backend(pg_backend_pid())")
	}
	return c.Projection.Apply(b, schema, ev)
}

// ApplyBatch is Apply of each event in turn, so that the injected crash is not bypassed by the
// accounts' own ApplyBatch.
func (c *crashy) ApplyBatch(b *pgx.Batch, schema string, evs []*esdb.RecordedEvent) error {
	return applyEach(c.Apply, b, schema, evs)
}

// applyEach queues apply of each of evs in turn: the ApplyBatch of a test's wrapper of a read model
// whose Apply it overrides (the wrapped read model's own ApplyBatch would not call the override).
func applyEach(apply func(*pgx.Batch, string, *esdb.RecordedEvent) error, b *pgx.Batch, schema string, evs []*esdb.RecordedEvent) error {
	for _, ev := range evs {
		if err := apply(b, schema, ev); err != nil {
			return err
		}
	}
	return nil
}

func dump(t *testing.T, pool *pgxpool.Pool, schema string) string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT account_id, name, default_license, deleted_at IS NOT NULL FROM `+schema+`.chime_accounts ORDER BY account_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, name, lic string
		var del bool
		if err := rows.Scan(&id, &name, &lic, &del); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s|%s|%s|%v\n", id, name, lic, del)
	}
	return b.String()
}

func runUntil(t *testing.T, r *projections.Runner, pos uint64) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = r.Run(ctx); close(done) }()
	wctx, wcancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer wcancel()
	err := r.WaitFor(wctx, pos)
	cancel()
	<-done
	if err != nil {
		t.Fatal(err)
	}
}

func TestCrashMidBatchThenRestartMatchesCleanRun(t *testing.T) {
	pool, client := setup(t)
	last := writeHistory(t, client, 120)

	clean := projections.NewRunner(pool, client, chimeaccounts.Projection{}, projections.RunnerConfig{BatchSize: 50})
	runUntil(t, clean, last)
	want := dump(t, pool, "rm_chime_accounts_g1")
	if strings.Count(want, "\n") != 120 {
		t.Fatalf("clean run has %d rows", strings.Count(want, "\n"))
	}

	// The crash happens in the middle of a batch: the batch's transaction rolls back as a whole.
	p := &crashy{name: "crashy", failAt: 137}
	r := projections.NewRunner(pool, client, p, projections.RunnerConfig{BatchSize: 50})
	runUntil(t, r, last) // Run resumes from the checkpoint after the failure
	if got := dump(t, pool, "rm_crashy_g1"); got != want {
		t.Fatalf("after crash and restart the read model differs:\n%s\nvs\n%s", got, want)
	}

	// A killed runner (cancelled context mid-stream), then a fresh runner, also converges.
	p2 := &crashy{name: "killed"}
	r2 := projections.NewRunner(pool, client, p2, projections.RunnerConfig{BatchSize: 10})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for p2.applied.Load() < 100 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_ = r2.Run(ctx)
	runUntil(t, projections.NewRunner(pool, client, p2, projections.RunnerConfig{BatchSize: 10}), last)
	if got := dump(t, pool, "rm_killed_g1"); got != want {
		t.Fatal("after kill and restart the read model differs")
	}

	// Duplicate delivery: rewind the checkpoint without touching the rows and replay everything.
	if _, err := pool.Exec(context.Background(), "UPDATE projections.checkpoints SET position = 0 WHERE name = 'killed'"); err != nil {
		t.Fatal(err)
	}
	runUntil(t, projections.NewRunner(pool, client, p2, projections.RunnerConfig{BatchSize: 7}), last)
	if got := dump(t, pool, "rm_killed_g1"); got != want {
		t.Fatal("duplicate delivery changed the read model")
	}
}

func TestRebuildSwitchesWhileReadsContinue(t *testing.T) {
	pool, client := setup(t)
	last := writeHistory(t, client, 60)
	live := projections.NewRunner(pool, client, chimeaccounts.Projection{}, projections.RunnerConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = live.Run(ctx) }()
	if err := live.WaitFor(ctx, last); err != nil {
		t.Fatal(err)
	}
	want := dump(t, pool, "rm")

	// Readers hammer the rm view during the rebuild; none may fail or see a partial table.
	stop := make(chan struct{})
	readErr := make(chan error, 1)
	go func() {
		defer close(readErr)
		for {
			select {
			case <-stop:
				return
			default:
			}
			var n int
			if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM rm.chime_accounts").Scan(&n); err != nil || n != 60 {
				readErr <- fmt.Errorf("read during rebuild: n=%d err=%v", n, err)
				return
			}
		}
	}()
	var progressCalls atomic.Int32
	if err := projections.Rebuild(ctx, pool, client, chimeaccounts.Projection{}, func(uint64, int64) { progressCalls.Add(1) }); err != nil {
		t.Fatal(err)
	}
	close(stop)
	if err := <-readErr; err != nil {
		t.Fatal(err)
	}
	st, err := projections.Statuses(ctx, pool)
	if err != nil || len(st) != 1 || st[0].Generation != 2 {
		t.Fatalf("status after rebuild: %+v %v", st, err)
	}
	if got := dump(t, pool, "rm"); got != want {
		t.Fatal("rebuilt read model differs")
	}
	// The live runner follows the switch: a new event shows up through the rm view.
	res, err := accountRepo(client).Execute(ctx, account.StreamName("after"), account.Create{AccountID: "after", AwsAccountID: "111122223333", Name: "After"})
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	if err := live.WaitFor(wctx, res.Position); err != nil {
		t.Fatal(err)
	}
	if _, err := chimeaccounts.NewStore(pool).Get(ctx, "111122223333", "after"); err != nil {
		t.Fatalf("after the switch the live runner must keep the new generation current: %v", err)
	}
	if progressCalls.Load() == 0 {
		t.Log("rebuild finished within a second: no progress line printed")
	}
}

// interrupting cancels the rebuild's context after n applied events.
type interrupting struct {
	chimeaccounts.Projection
	n      int64
	seen   atomic.Int64
	cancel context.CancelFunc
}

func (p *interrupting) Apply(b *pgx.Batch, schema string, ev *esdb.RecordedEvent) error {
	if p.seen.Add(1) == p.n {
		p.cancel()
	}
	return p.Projection.Apply(b, schema, ev)
}

// ApplyBatch is Apply of each event in turn (see crashy).
func (p *interrupting) ApplyBatch(b *pgx.Batch, schema string, evs []*esdb.RecordedEvent) error {
	return applyEach(p.Apply, b, schema, evs)
}

func TestInterruptedRebuildResumes(t *testing.T) {
	pool, client := setup(t)
	last := writeHistory(t, client, 40)
	live := projections.NewRunner(pool, client, chimeaccounts.Projection{}, projections.RunnerConfig{})
	runUntil(t, live, last)
	want := dump(t, pool, "rm")

	ctx, cancel := context.WithCancel(context.Background())
	p := &interrupting{n: 50, cancel: cancel}
	if err := projections.Rebuild(ctx, pool, client, p, nil); err == nil {
		t.Fatal("the interrupted rebuild must report its error")
	}
	if got := dump(t, pool, "rm"); got != want {
		t.Fatal("an interrupted rebuild must leave the served read model alone")
	}
	if err := projections.Rebuild(context.Background(), pool, client, chimeaccounts.Projection{}, nil); err != nil {
		t.Fatal(err)
	}
	st, _ := projections.Statuses(context.Background(), pool)
	if len(st) != 1 || st[0].Generation != 2 {
		t.Fatalf("the second rebuild must resume generation 2, got %+v", st)
	}
	if got := dump(t, pool, "rm"); got != want {
		t.Fatal("resumed rebuild differs")
	}
}

func TestRunnerRefreshesPlannerStatisticsAfterABulkLoad(t *testing.T) {
	pool, client := setup(t)
	last := writeHistory(t, client, 120)
	r := projections.NewRunner(pool, client, chimeaccounts.Projection{}, projections.RunnerConfig{BatchSize: 50, AnalyzeEvery: 100})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = r.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	if err := r.WaitFor(ctx, last); err != nil {
		t.Fatal(err)
	}
	// ANALYZE sets reltuples (-1 means "never analyzed"): the planner then knows the table's size.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var tuples float64
		if err := pool.QueryRow(ctx, `SELECT reltuples FROM pg_class WHERE oid = 'rm_chime_accounts_g1.chime_accounts'::regclass`).Scan(&tuples); err != nil {
			t.Fatal(err)
		}
		// The refresh runs once at least AnalyzeEvery events were applied, so it sees at least a third
		// of the accounts (an account has at most 3 events); without it reltuples stays -1.
		if tuples >= 30 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the table's statistics say %v rows, want at least 30 of 120", tuples)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRebuildDropsWhatAnInterruptedSwitchLeft: a rebuild interrupted after its switch committed but
// before it dropped the old generation (a kill between the two) leaves that generation's schema and
// checkpoint behind; the next rebuild drops every generation older than the one it switches to, not
// only the one it replaced, so nothing stays behind for good.
func TestRebuildDropsWhatAnInterruptedSwitchLeft(t *testing.T) {
	ctx := context.Background()
	pool, client := setup(t)
	writeHistory(t, client, 10)
	p := chimeaccounts.Projection{}
	if err := projections.Rebuild(ctx, pool, client, p, nil); err != nil { // generation 2 live
		t.Fatal(err)
	}
	// What a kill right after the switch to generation 2 left: generation 1 still there.
	if _, err := pool.Exec(ctx, `CREATE SCHEMA rm_chime_accounts_g1; CREATE TABLE rm_chime_accounts_g1.leftover (id int)`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO projections.checkpoints (name, generation, version) VALUES ('chime_accounts', 1, $1)`, p.Version()); err != nil {
		t.Fatal(err)
	}
	if err := projections.Rebuild(ctx, pool, client, p, nil); err != nil { // generation 3
		t.Fatal(err)
	}
	rows, _ := pool.Query(ctx, `SELECT nspname FROM pg_namespace WHERE nspname LIKE 'rm_chime_accounts_g%' ORDER BY 1`)
	schemas, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(schemas) != 1 || schemas[0] != "rm_chime_accounts_g3" {
		t.Fatalf("generations left after the rebuild: %v %v", schemas, err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM projections.checkpoints WHERE name = 'chime_accounts' AND generation < 3`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("older checkpoints left: %d %v", n, err)
	}
}
