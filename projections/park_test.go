package projections_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/belfry/belfry/domain/audit"
	"github.com/belfry/belfry/projections"
	auditrm "github.com/belfry/belfry/projections/audit"
)

// notes is a test read model of the "note-" streams: one row per event, its payload kept as jsonb.
// Its Apply fails as real ones do: a payload that is not JSON is Apply's own decode error, and a JSON
// string holding \u0000 is refused by jsonb (SQLSTATE 22P05). Setting fixed deploys "the fix": \u0000
// is dropped and a payload that is not JSON is stored as a JSON string. terminateAt makes the
// terminateAt-th Apply also queue the termination of its own Postgres backend (a lost connection).
type notes struct {
	name        string
	fixed       atomic.Bool
	terminateAt int64
	applied     atomic.Int64
}

func (n *notes) Name() string     { return n.name }
func (n *notes) Version() int     { return 1 }
func (n *notes) Tables() []string { return nil }
func (n *notes) Filter() *esdb.SubscriptionFilter {
	return &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{"note-"}}
}
func (n *notes) Setup(ctx context.Context, tx pgx.Tx, schema string) error {
	_, err := tx.Exec(ctx, "CREATE TABLE "+schema+".notes (position bigint PRIMARY KEY, stream text NOT NULL, body jsonb NOT NULL)")
	return err
}
func (n *notes) Apply(b *pgx.Batch, schema string, ev *esdb.RecordedEvent) error {
	if n.applied.Add(1) == n.terminateAt {
		b.Queue("SELECT pg_terminate_backend(pg_backend_pid())")
	}
	data := ev.Data
	if !json.Valid(data) {
		if !n.fixed.Load() {
			return fmt.Errorf("notes: decode %q: not JSON", data)
		}
		data, _ = json.Marshal(string(data))
	}
	if n.fixed.Load() {
		data = bytes.ReplaceAll(data, []byte(`\u0000`), nil)
	}
	b.Queue("INSERT INTO "+schema+".notes (position, stream, body) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
		int64(ev.Position.Commit), ev.StreamID, data)
	return nil
}

// appendRaw appends payloads to stream through the official client and returns their positions.
func appendRaw(t *testing.T, c *esdb.Client, stream, typ string, payloads ...[]byte) []uint64 {
	t.Helper()
	var evs []esdb.EventData
	for _, p := range payloads {
		evs = append(evs, esdb.EventData{EventID: uuid.New(), EventType: typ, ContentType: esdb.ContentTypeBinary, Data: p})
	}
	if _, err := c.AppendToStream(context.Background(), stream, esdb.AppendToStreamOptions{}, evs...); err != nil {
		t.Fatal(err)
	}
	rs, err := c.ReadStream(context.Background(), stream, esdb.ReadStreamOptions{From: esdb.End{}, Direction: esdb.Backwards}, uint64(len(payloads)))
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	pos := make([]uint64, len(payloads))
	for i := len(payloads) - 1; i >= 0; i-- {
		ev, err := rs.Recv()
		if err != nil {
			t.Fatal(err)
		}
		pos[i] = ev.Event.Position.Commit
	}
	return pos
}

func noteRows(t *testing.T, pool *pgxpool.Pool, schema string) map[uint64]string {
	t.Helper()
	rows, err := pool.Query(context.Background(), "SELECT position, body::text FROM "+schema+".notes")
	if err != nil {
		t.Fatal(err)
	}
	out := map[uint64]string{}
	for rows.Next() {
		var pos int64
		var body string
		if err := rows.Scan(&pos, &body); err != nil {
			t.Fatal(err)
		}
		out[uint64(pos)] = body
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func statusOf(t *testing.T, pool *pgxpool.Pool, client *esdb.Client, name string) projections.Status {
	t.Helper()
	st, err := projections.Report(context.Background(), pool, client)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no status for %s in %+v", name, st)
	return projections.Status{}
}

// parkedGauge scrapes belfry_projection_parked_events{projection=name}.
func parkedGauge(t *testing.T, pool *pgxpool.Pool, name string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(projections.NewParkedCollector(pool))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if mf.GetName() == "belfry_projection_parked_events" && m.GetLabel()[0].GetValue() == name {
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no belfry_projection_parked_events series for %s", name)
	return 0
}

func TestPoisonedEventsAreParkedLaterEventsApplyAndRetryAppliesThemAfterAFix(t *testing.T) {
	pool, client := setup(t)
	good1 := appendRaw(t, client, "note-a", "note", []byte(`{"n":1}`))[0]
	nul := appendRaw(t, client, "note-a", "note", []byte(`{"n":"bad\u0000"}`))[0]
	notJSON := appendRaw(t, client, "note-b", "note", []byte("not json at all"))[0]
	// A poisoned event between good ones in a single append (so in the middle of one batch).
	mixed := appendRaw(t, client, "note-c", "note", []byte(`{"n":5}`), []byte(`["x\u0000"]`), []byte(`{"n":7}`))

	p := &notes{name: "notes"}
	r := projections.NewRunner(pool, client, p, projections.RunnerConfig{})
	runUntil(t, r, mixed[2])

	rows := noteRows(t, pool, "rm_notes_g1")
	for _, pos := range []uint64{good1, mixed[0], mixed[2]} {
		if _, ok := rows[pos]; !ok {
			t.Fatalf("the good event at %d is not visible: %v", pos, rows)
		}
	}
	if len(rows) != 3 {
		t.Fatalf("rows %v, want only the 3 good events", rows)
	}
	st := statusOf(t, pool, client, "notes")
	if st.Parked != 3 || len(st.ParkedEvents) != 3 || st.Checkpoint != mixed[2] || st.LagEvents != 0 || st.Events != 3 {
		t.Fatalf("status %+v", st)
	}
	want := []struct {
		pos    uint64
		stream string
		errHas string
	}{{nul, "note-a", "SQLSTATE 22P05"}, {notJSON, "note-b", "not JSON"}, {mixed[1], "note-c", "SQLSTATE 22P05"}}
	for i, w := range want {
		pe := st.ParkedEvents[i]
		if pe.Position != w.pos || pe.StreamID != w.stream || pe.EventType != "note" || pe.Generation != 1 ||
			pe.Attempts != 1 || !strings.Contains(pe.Error, w.errHas) || pe.EventID == "" {
			t.Fatalf("parked event %d is %+v, want position %d stream %s error with %q", i, pe, w.pos, w.stream, w.errHas)
		}
	}
	if g := parkedGauge(t, pool, "notes"); g != 3 {
		t.Fatalf("belfry_projection_parked_events = %v, want 3", g)
	}

	// A restart neither re-applies nor re-parks anything, and later events keep applying.
	later := appendRaw(t, client, "note-d", "note", []byte(`{"n":8}`))[0]
	runUntil(t, projections.NewRunner(pool, client, p, projections.RunnerConfig{}), later)
	if st := statusOf(t, pool, client, "notes"); st.Parked != 3 || st.ParkedEvents[0].Attempts != 1 || len(noteRows(t, pool, "rm_notes_g1")) != 4 {
		t.Fatalf("after a restart: %+v", st)
	}

	retryBeforeAndAfterTheFix(t, pool, client, p, nul, notJSON, mixed[1])
}

// retryBeforeAndAfterTheFix retries p's three parked events (at nul, notJSON and nulInBatch) first
// unfixed, then fixed.
func retryBeforeAndAfterTheFix(t *testing.T, pool *pgxpool.Pool, client *esdb.Client, p *notes, nul, notJSON, nulInBatch uint64) {
	t.Helper()
	ctx := context.Background()
	// Retry before the fix: everything stays parked, with one more attempt.
	out, err := projections.Retry(ctx, pool, client, p)
	if err != nil || len(out) != 3 {
		t.Fatalf("retry: %+v %v", out, err)
	}
	for _, o := range out {
		if o.Applied || o.StillFailing == "" {
			t.Fatalf("an unfixed event must stay parked: %+v", o)
		}
	}
	if st := statusOf(t, pool, client, "notes"); st.Parked != 3 || st.ParkedEvents[0].Attempts != 2 || st.ParkedEvents[0].RetriedAt == nil {
		t.Fatalf("after a failed retry: %+v", st)
	}

	// The fix is deployed: retry applies them all and empties the parked table.
	p.fixed.Store(true)
	out, err = projections.Retry(ctx, pool, client, p)
	if err != nil || len(out) != 3 {
		t.Fatalf("retry: %+v %v", out, err)
	}
	for _, o := range out {
		if !o.Applied {
			t.Fatalf("a fixed event must apply: %+v", o)
		}
	}
	rows := noteRows(t, pool, "rm_notes_g1")
	if rows[nul] != `{"n": "bad"}` || rows[notJSON] != `"not json at all"` || rows[nulInBatch] != `["x"]` || len(rows) != 7 {
		t.Fatalf("rows after retry: %v", rows)
	}
	if st := statusOf(t, pool, client, "notes"); st.Parked != 0 || len(st.ParkedEvents) != 0 || st.Events != 7 {
		t.Fatalf("after a successful retry: %+v", st)
	}
	if g := parkedGauge(t, pool, "notes"); g != 0 {
		t.Fatalf("belfry_projection_parked_events = %v after retry, want 0", g)
	}
}

// auditRecord is a CloudTrail-shaped record whose request parameters hold name.
func auditRecord(t *testing.T, name string) []byte {
	t.Helper()
	params, err := json.Marshal(map[string]string{"Name": name})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(audit.APICallRecorded{EventVersion: "1.08", UserIdentity: audit.UserIdentity{Type: "Unknown"},
		EventTime: time.Now().UTC(), EventSource: "chime.amazonaws.com", EventName: "CreateAccount", AWSRegion: "us-east-1",
		SourceIPAddress: "127.0.0.1", RequestParameters: params, ResponseElements: json.RawMessage("null"),
		RequestID: uuid.New().String(), EventID: uuid.New().String(), EventType: "AwsApiCall",
		RecipientAccountID: "111122223333", HTTPStatus: 400})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAuditRecordWithNULDoesNotStopTheAuditLog replays issue 12's attack on the real audit read model:
// a record whose request parameters hold U+0000 (which jsonb refuses) is appended straight to the log,
// and every record after it must still become visible.
func TestAuditRecordWithNULDoesNotStopTheAuditLog(t *testing.T) {
	pool, client := setup(t)
	ctx := context.Background()
	stream := audit.StreamPrefix + "test"
	appendRaw(t, client, stream, audit.TypeAPICallRecorded, auditRecord(t, "before"))
	bad := appendRaw(t, client, stream, audit.TypeAPICallRecorded, auditRecord(t, "evil\x00"))
	after := appendRaw(t, client, stream, audit.TypeAPICallRecorded, auditRecord(t, "after 1"), auditRecord(t, "after 2"))
	if !bytes.Contains(auditRecord(t, "\x00"), []byte(`\u0000`)) {
		t.Fatal("the attack record must carry \\u0000")
	}

	r := projections.NewRunner(pool, client, auditrm.Projection{}, projections.RunnerConfig{Linger: 10 * time.Millisecond})
	runUntil(t, r, after[1])
	recs, err := auditrm.NewStore(pool).Lookup(ctx, auditrm.Query{EventName: "CreateAccount"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, rec := range recs {
		var p map[string]string
		_ = json.Unmarshal(rec.RequestParameters, &p)
		names = append(names, p["Name"])
	}
	if strings.Join(names, ",") != "after 2,after 1,before" {
		t.Fatalf("visible audit records %q", names)
	}
	st := statusOf(t, pool, client, "audit")
	if st.Parked != 1 || st.ParkedEvents[0].Position != bad[0] || st.ParkedEvents[0].StreamID != stream ||
		st.ParkedEvents[0].EventType != audit.TypeAPICallRecorded || !strings.Contains(st.ParkedEvents[0].Error, "22P05") ||
		st.Checkpoint != after[1] || st.Events != 3 {
		t.Fatalf("status %+v", st)
	}
	if g := parkedGauge(t, pool, "audit"); g != 1 {
		t.Fatalf("belfry_projection_parked_events = %v, want 1", g)
	}
}

// TestLostConnectionRetriesTheBatchAndParksNothing: a transient failure — the runner's own Postgres
// backend terminated in the middle of a batch — is retried from the checkpoint, not parked.
func TestLostConnectionRetriesTheBatchAndParksNothing(t *testing.T) {
	pool, client := setup(t)
	var payloads [][]byte
	for i := range 20 {
		payloads = append(payloads, fmt.Appendf(nil, `{"n":%d}`, i))
	}
	pos := appendRaw(t, client, "note-t", "note", payloads...)
	p := &notes{name: "flaky", terminateAt: 7}
	r := projections.NewRunner(pool, client, p, projections.RunnerConfig{BatchSize: 5})
	runUntil(t, r, pos[len(pos)-1])
	if p.applied.Load() <= 20 {
		t.Fatalf("Apply ran %d times: the batch whose backend was terminated must have been applied again", p.applied.Load())
	}
	if rows := noteRows(t, pool, "rm_flaky_g1"); len(rows) != 20 {
		t.Fatalf("%d rows, want 20", len(rows))
	}
	if st := statusOf(t, pool, client, "flaky"); st.Parked != 0 || st.Events != 20 {
		t.Fatalf("a lost connection must park nothing: %+v", st)
	}
}

// TestRebuildParksInsteadOfStalling: a rebuild meets the poisoned event again, parks it under the new
// generation, finishes and switches; the old generation's parked rows go with it.
func TestRebuildParksInsteadOfStalling(t *testing.T) {
	pool, client := setup(t)
	ctx := context.Background()
	pos := appendRaw(t, client, "note-r", "note", []byte(`{"n":1}`), []byte(`"\u0000"`), []byte(`{"n":3}`))
	p := &notes{name: "rebuilt"}
	runUntil(t, projections.NewRunner(pool, client, p, projections.RunnerConfig{}), pos[2])
	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := projections.Rebuild(rctx, pool, client, p, nil); err != nil {
		t.Fatalf("the rebuild must not stall on the poisoned event: %v", err)
	}
	st := statusOf(t, pool, client, "rebuilt")
	if st.Generation != 2 || st.Parked != 1 || st.ParkedEvents[0].Position != pos[1] || st.ParkedEvents[0].Generation != 2 ||
		st.Checkpoint != pos[2] {
		t.Fatalf("status after rebuild %+v", st)
	}
	if rows := noteRows(t, pool, "rm_rebuilt_g2"); len(rows) != 2 {
		t.Fatalf("rebuilt rows %v", rows)
	}
	var old int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM projections.parked_events WHERE name = 'rebuilt' AND generation = 1").Scan(&old); err != nil || old != 0 {
		t.Fatalf("generation 1 still has %d parked rows (%v)", old, err)
	}
}

func storedCheckpoint(t *testing.T, pool *pgxpool.Pool, name string) uint64 {
	t.Helper()
	var cp int64
	if err := pool.QueryRow(context.Background(), `SELECT c.position FROM projections.checkpoints c
		JOIN projections.registry r ON r.name = c.name AND r.active_generation = c.generation WHERE c.name = $1`, name).Scan(&cp); err != nil {
		t.Fatal(err)
	}
	return uint64(cp)
}

// TestCaughtUpProjectionStoresTheHead is issue 12 item 8: a projection whose last events were of
// other streams kept a stored checkpoint hundreds of positions behind the head (checkpoint-only
// advances were written at most once a second, and only when another one arrived), so `projections
// status` showed lag for a caught-up projection after a restart. Its stored checkpoint must reach
// the head while it idles, and be at the head when it stops.
func TestCaughtUpProjectionStoresTheHead(t *testing.T) {
	pool, client := setup(t)
	ctx := context.Background()
	note := appendRaw(t, client, "note-x", "note", []byte(`{"n":1}`))[0]
	p := &notes{name: "idle"}
	r := projections.NewRunner(pool, client, p, projections.RunnerConfig{})
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = r.Run(rctx); close(done) }()
	defer func() { cancel(); <-done }()
	wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
	defer wcancel()
	if err := r.WaitFor(wctx, note); err != nil {
		t.Fatal(err)
	}
	// Then only events of other streams: the runner passes them with checkpoint-only advances.
	var other [][]byte
	for range 300 {
		other = append(other, []byte(`{}`))
	}
	head := appendRaw(t, client, "other-stream", "noise", other...)[299]
	if err := r.WaitFor(wctx, head); err != nil {
		t.Fatal(err)
	}
	// Idle: nothing else arrives, yet the stored checkpoint reaches the head.
	for storedCheckpoint(t, pool, "idle") != head {
		if wctx.Err() != nil {
			t.Fatalf("an idle caught-up runner never stored the head %d (stored %d)", head, storedCheckpoint(t, pool, "idle"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st := statusOf(t, pool, client, "idle"); st.LagEvents != 0 || st.Head != head {
		t.Fatalf("status of a caught-up projection %+v", st)
	}

	// More noise, then a clean stop as soon as the runner has seen it: the stop stores the head.
	head = appendRaw(t, client, "other-stream", "noise", other[:50]...)[49]
	if err := r.WaitFor(wctx, head); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-done
	if cp := storedCheckpoint(t, pool, "idle"); cp != head {
		t.Fatalf("after a clean stop the stored checkpoint is %d, the head %d", cp, head)
	}
	if st := statusOf(t, pool, client, "idle"); st.LagEvents != 0 {
		t.Fatalf("status after a restart-worthy stop %+v", st)
	}
}
