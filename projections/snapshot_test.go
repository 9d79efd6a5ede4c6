package projections_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/projections"
	"github.com/belfry/belfry/projections/chimeaccounts"
	"github.com/belfry/belfry/projections/history"
)

func TestSQLRewritesTheReadModelQualifierForASnapshot(t *testing.T) {
	ctx := context.Background()
	q := `SELECT u.x FROM rm.chime_users u JOIN rm.chime_accounts a ON a.id = u.id, iam.installation i WHERE perm.x = 'rm.'`
	if got := projections.SQL(ctx, q); got != q {
		t.Fatalf("live: %s", got)
	}
	sctx := projections.WithSnapshot(ctx, "snap_t1")
	want := `SELECT u.x FROM snap_t1.chime_users u JOIN snap_t1.chime_accounts a ON a.id = u.id, iam.installation i WHERE perm.x = 'rm.'`
	for i := 0; i < 2; i++ { // the second answer comes from the cache
		if got := projections.SQL(sctx, q); got != want {
			t.Fatalf("snapshot:\n got %s\nwant %s", got, want)
		}
	}
	if projections.SnapshotOf(sctx) != "snap_t1" || projections.SnapshotOf(ctx) != "" {
		t.Fatal("SnapshotOf")
	}
}

// TestSnapshotAsOfAPositionEqualsTheLiveReadModelThen: the live accounts read model is dumped at a
// position, the history goes on, and a snapshot as of that position — built in two sittings, the
// first interrupted — holds exactly what the live model held then; a second snapshot of the same
// position exports byte-identical files; bad requests change nothing.
func TestSnapshotAsOfAPositionEqualsTheLiveReadModelThen(t *testing.T) {
	pool, client := setup(t)
	ctx := context.Background()
	p := chimeaccounts.Projection{}
	if _, _, err := projections.Ensure(ctx, pool, p); err != nil {
		t.Fatal(err)
	}
	at := writeHistory(t, client, 12)
	runUntil(t, projections.NewRunner(pool, client, p, projections.RunnerConfig{}), at)
	then := dump(t, pool, "rm")
	later := time.Now()
	repo := accountRepo(client)
	var head uint64
	for i := 1; i < 12; i += 3 { // accounts left undeleted by writeHistory
		id := "acc-000" + strconv.Itoa(i%10)
		if i >= 10 {
			id = "acc-00" + strconv.Itoa(i)
		}
		name := "Much later"
		res, err := repo.Execute(ctx, account.StreamName(id), account.Update{AccountID: id, Name: &name})
		if err != nil {
			t.Fatal(err)
		}
		head = res.Position
	}
	runUntil(t, projections.NewRunner(pool, client, p, projections.RunnerConfig{}), head)
	if dump(t, pool, "rm") == then {
		t.Fatal("the live read model must have moved on")
	}

	snaps := projections.NewSnapshots(pool, client, []projections.Projection{p, history.Projection{}})
	snaps.BatchSize = 5
	sn, err := snaps.Create(ctx, "first", strconv.FormatUint(at, 10))
	if err != nil || sn.Status != projections.SnapshotBuilding || sn.TargetPosition != at {
		t.Fatalf("create: %+v %v", sn, err)
	}
	if _, err := snaps.Serving(ctx, "first"); !errors.Is(err, projections.ErrSnapshotNotReady) {
		t.Fatalf("a building snapshot must not be served: %v", err)
	}
	// Interrupted after its first batch, then resumed.
	bctx, cancel := context.WithCancel(ctx)
	err = snaps.Build(bctx, "first", func(s projections.Snapshot) { cancel() })
	if err == nil {
		t.Fatal("the interrupted build must report it")
	}
	mid, _ := snaps.Get(ctx, "first")
	if mid.Status != projections.SnapshotBuilding || mid.ReachedPosition == 0 || mid.ReachedPosition >= at {
		t.Fatalf("after the interruption: %+v", mid)
	}
	if err := snaps.Build(ctx, "first", nil); err != nil {
		t.Fatal(err)
	}
	schema, err := snaps.Serving(ctx, "first")
	if err != nil {
		t.Fatal(err)
	}
	// Built unlogged without its secondary indexes, served logged with all of them.
	var unlogged, idxSnap, idxLive int
	_ = pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE c.relpersistence = 'u') FROM pg_class c WHERE c.relnamespace = $1::regnamespace`, schema).Scan(&unlogged)
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE schemaname = $1 AND tablename LIKE 'chime_%'`, schema).Scan(&idxSnap)
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE schemaname = 'rm_chime_accounts_g1'`).Scan(&idxLive)
	if unlogged != 0 || idxSnap != idxLive || idxLive == 0 {
		t.Fatalf("ready snapshot: %d unlogged relations, %d indexes (live %d)", unlogged, idxSnap, idxLive)
	}
	if got := dump(t, pool, schema); got != then {
		t.Fatalf("snapshot:\n%s\nlive then:\n%s", got, then)
	}
	// The stores answer from it under WithSnapshot.
	store := chimeaccounts.NewStore(pool)
	live, _ := store.Get(ctx, "111122223333", "acc-0004")
	old, err := store.Get(projections.WithSnapshot(ctx, schema), "111122223333", "acc-0004")
	if err != nil || live.Name != "Much later" || old.Name != "Renamed 4" {
		t.Fatalf("live %q, snapshot %q (%v)", live.Name, old.Name, err)
	}

	// A second snapshot of the same instant exports the same bytes.
	if _, err := snaps.Create(ctx, "second", strconv.FormatUint(at, 10)); err != nil {
		t.Fatal(err)
	}
	if err := snaps.Build(ctx, "second", nil); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"jsonl", "csv"} {
		d1, d2 := t.TempDir(), t.TempDir()
		f1, err := snaps.Export(ctx, "first", d1, projections.ExportOptions{Format: format})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := snaps.Export(ctx, "second", d2, projections.ExportOptions{Format: format}); err != nil {
			t.Fatal(err)
		}
		for _, f := range f1 {
			b1, _ := os.ReadFile(f.File)
			b2, err := os.ReadFile(filepath.Join(d2, filepath.Base(f.File)))
			if err != nil || !bytes.Equal(b1, b2) {
				t.Fatalf("%s differs between two snapshots of the same position (%v)", filepath.Base(f.File), err)
			}
		}
		if len(f1) != len(p.Tables())+1 {
			t.Fatalf("%s export: %+v", format, f1)
		}
	}
	// Rows come in primary-key order: resource_history's key is (resource, position).
	d := t.TempDir()
	if _, err := snaps.Export(ctx, "first", d, projections.ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	lines, _ := os.ReadFile(filepath.Join(d, "resource_history.jsonl"))
	var prev struct {
		Resource string
		Position uint64
	}
	for i, l := range bytes.Split(bytes.TrimSpace(lines), []byte("\n")) {
		var r struct {
			Resource string
			Position uint64
		}
		if err := json.Unmarshal(l, &r); err != nil {
			t.Fatal(err)
		}
		if i > 0 && (r.Resource < prev.Resource || r.Resource == prev.Resource && r.Position <= prev.Position) {
			t.Fatalf("row %d out of key order: %+v after %+v", i, r, prev)
		}
		prev = r
	}
	narrowed, err := snaps.Export(ctx, "first", t.TempDir(), projections.ExportOptions{Column: "account_id", Value: "acc-0001"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range narrowed {
		if f.Table == "chime_accounts" && f.Rows != 1 || f.Table == "resource_history" {
			t.Fatalf("narrowed to one account: %+v", narrowed)
		}
	}

	// Bad requests: each says what to do, nothing is created.
	for _, asOf := range []string{"", "yesterday", "2001-01-01T00:00:00Z", time.Now().Add(time.Hour).Format(time.RFC3339), strconv.FormatUint(at*1000, 10)} {
		if _, err := snaps.Create(ctx, "bad", asOf); domain.KindOf(err) != domain.KindInvalid {
			t.Errorf("AsOf %q: %v", asOf, err)
		}
	}
	if _, err := snaps.Create(ctx, "Bad-Name", strconv.FormatUint(at, 10)); domain.KindOf(err) != domain.KindInvalid {
		t.Errorf("bad name: %v", err)
	}
	if _, err := snaps.Create(ctx, "first", "1"); !errors.Is(err, projections.ErrSnapshotExists) {
		t.Errorf("same name, other instant: %v", err)
	}
	if _, err := snaps.Serving(ctx, "nope"); !errors.Is(err, projections.ErrSnapshotNotFound) {
		t.Errorf("unknown: %v", err)
	}
	all, _ := snaps.List(ctx)
	if len(all) != 2 {
		t.Fatalf("snapshots: %+v", all)
	}
	// A time resolves to the last event at or before it.
	tpos, tat, err := snaps.Resolve(ctx, later.Format(time.RFC3339Nano))
	if err != nil || tpos != at || tat == nil {
		t.Fatalf("as of %s: position %d (want %d) %v", later, tpos, at, err)
	}
	if err := snaps.Delete(ctx, "second"); err != nil {
		t.Fatal(err)
	}
	var n int
	_ = pool.QueryRow(ctx, "SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'snap_second'").Scan(&n)
	if n != 0 {
		t.Fatal("the deleted snapshot's schema is left")
	}
}

// failOnce is the accounts read model failing transiently (a serialization failure) the first time
// it meets the event at position at, after wait returns.
type failOnce struct {
	chimeaccounts.Projection
	at    uint64
	wait  func()
	fired *atomic.Bool
}

func (f failOnce) Apply(b *pgx.Batch, schema string, ev *esdb.RecordedEvent) error {
	if ev.Position.Commit == f.at && f.fired.CompareAndSwap(false, true) {
		f.wait()
		b.Queue(`DO $$BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = '40001'; END$$`)
		return nil
	}
	return f.Projection.Apply(b, schema, ev)
}

// ApplyBatch is Apply of each event in turn, so that the injected failure is not bypassed by the
// accounts' own ApplyBatch.
func (f failOnce) ApplyBatch(b *pgx.Batch, schema string, evs []*esdb.RecordedEvent) error {
	return applyEach(f.Apply, b, schema, evs)
}

// TestSnapshotResumesEachReadModelFromItsOwnPosition: the read models of a build (and the lanes of
// the accounts' streams) move on their own connections; when one fails, the others keep what they
// stored, and the resumed build applies no event twice and none is missed: the snapshot exports the
// same bytes as one built in one go, with one lane.
func TestSnapshotResumesEachReadModelFromItsOwnPosition(t *testing.T) {
	pool, client := setup(t)
	ctx := context.Background()
	at := writeHistory(t, client, 12)
	// position is the least position of a read model's rows (one per lane of its streams) and
	// the events they applied.
	position := func(snapshot, projection string) (pos, events int64) {
		_ = pool.QueryRow(ctx, `SELECT min(position), sum(events) FROM projections.snapshot_positions
			WHERE snapshot = $1 AND (projection = $2 OR projection LIKE $2 || '#%')`, snapshot, projection).Scan(&pos, &events)
		return pos, events
	}
	failing := failOnce{at: at, fired: &atomic.Bool{}, wait: func() {
		// The history read model is not held back by the failing one: it reaches the end first.
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if pos, _ := position("resumed", "history"); uint64(pos) >= at {
				return
			}
		}
		t.Error("the history read model did not reach the end on its own")
	}}
	snaps := projections.NewSnapshots(pool, client, []projections.Projection{failing, history.Projection{}})
	snaps.BatchSize = 5
	if _, err := snaps.Create(ctx, "resumed", strconv.FormatUint(at, 10)); err != nil {
		t.Fatal(err)
	}
	if err := snaps.Build(ctx, "resumed", nil); err == nil {
		t.Fatal("the injected failure must fail the build")
	}
	failed, _ := snaps.Get(ctx, "resumed")
	accPos, _ := position("resumed", "chime_accounts")
	histPos, histEvents := position("resumed", "history")
	if failed.Status != projections.SnapshotFailed || uint64(histPos) != at || uint64(accPos) >= at || failed.ReachedPosition > uint64(accPos) {
		t.Fatalf("after the failure: %+v; accounts at %d, history at %d (target %d)", failed, accPos, histPos, at)
	}
	var lanes int
	_ = pool.QueryRow(ctx, "SELECT count(*) FROM projections.snapshot_positions WHERE snapshot = 'resumed' AND projection LIKE 'chime_accounts#%'").Scan(&lanes)
	if lanes != 2 {
		t.Fatalf("the accounts' streams in %d lanes, want 2", lanes)
	}
	if err := snaps.Build(ctx, "resumed", nil); err != nil {
		t.Fatal(err)
	}
	if _, events := position("resumed", "history"); events != histEvents {
		t.Fatalf("the resumed build applied history events again: %d, then %d", histEvents, events)
	}

	straight := projections.NewSnapshots(pool, client, []projections.Projection{chimeaccounts.Projection{}, history.Projection{}})
	straight.Lanes = 1
	if _, err := straight.Create(ctx, "straight", strconv.FormatUint(at, 10)); err != nil {
		t.Fatal(err)
	}
	if err := straight.Build(ctx, "straight", nil); err != nil {
		t.Fatal(err)
	}
	// The history key, dropped while the build ran (PositionKeyed), is back on both snapshots.
	for _, name := range []string{"resumed", "straight"} {
		var def string
		if err := pool.QueryRow(ctx, `SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'`,
			projections.SnapshotSchema(name)+".resource_history").Scan(&def); err != nil || def != "PRIMARY KEY (resource, \"position\")" {
			t.Fatalf("snapshot %s: the key of resource_history is %q (%v)", name, def, err)
		}
	}
	d1, d2 := t.TempDir(), t.TempDir()
	f1, err := straight.Export(ctx, "resumed", d1, projections.ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := straight.Export(ctx, "straight", d2, projections.ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	var rows int64
	for _, f := range f1 {
		b1, _ := os.ReadFile(f.File)
		b2, err := os.ReadFile(filepath.Join(d2, filepath.Base(f.File)))
		if err != nil || !bytes.Equal(b1, b2) {
			t.Fatalf("%s differs between the resumed build and the straight one (%v):\n%s\n---\n%s", filepath.Base(f.File), err, b1, b2)
		}
		rows += f.Rows
	}
	if rows == 0 {
		t.Fatal("nothing exported")
	}
}
