package bench

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"

	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/projections"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

// Config sets the size of each scenario.
type Config struct {
	Duration      time.Duration // per append scenario
	Writers       []int         // concurrency levels for single-event appends
	PayloadBytes  int
	BatchWriters  int
	CatchupEvents int
	LagRate       int // events per second
	LagDuration   time.Duration
	Progress      io.Writer
	// Only, when set, selects the scenarios to run by name (baselines run with their scenario).
	Only func(name string) bool
	// Setting describes non-default server settings of the run (printed and kept in the report).
	Setting string
}

// Defaults fills zero fields.
func (c *Config) Defaults() {
	if c.Duration <= 0 {
		c.Duration = 5 * time.Second
	}
	if len(c.Writers) == 0 {
		c.Writers = []int{1, 8, 32}
	}
	if c.PayloadBytes <= 0 {
		c.PayloadBytes = 256
	}
	if c.BatchWriters <= 0 {
		c.BatchWriters = 4
	}
	if c.CatchupEvents <= 0 {
		c.CatchupEvents = 1_000_000
	}
	if c.LagRate <= 0 {
		c.LagRate = 1000
	}
	if c.LagDuration <= 0 {
		c.LagDuration = 10 * time.Second
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
}

// Result is one measured figure.
type Result struct {
	Name         string  `json:"name"`
	Events       int64   `json:"events"`
	Seconds      float64 `json:"seconds"`
	EventsPerSec float64 `json:"eventsPerSecond"`
	P50ms        float64 `json:"p50Ms,omitempty"`
	P99ms        float64 `json:"p99Ms,omitempty"`
	Note         string  `json:"note,omitempty"`
}

// Check compares a figure with its target.
type Check struct {
	Name   string  `json:"name"`
	Target string  `json:"target"`
	Value  float64 `json:"value"`
	Pass   bool    `json:"pass"`
}

// Report is the outcome of a run.
type Report struct {
	StartedAt time.Time `json:"startedAt"`
	CPUs      int       `json:"cpus"`
	GoVersion string    `json:"goVersion"`
	Config    struct {
		Setting         string  `json:"setting,omitempty"`
		DurationSeconds float64 `json:"durationSeconds"`
		PayloadBytes    int     `json:"payloadBytes"`
		CatchupEvents   int     `json:"catchupEvents"`
		LagRate         int     `json:"lagRate"`
	} `json:"config"`
	Results []Result `json:"results"`
	Checks  []Check  `json:"checks"`
}

func (r *Report) add(res Result) Result {
	if res.Seconds > 0 {
		res.EventsPerSec = float64(res.Events) / res.Seconds
	}
	r.Results = append(r.Results, res)
	return res
}

func (r *Report) find(name string) Result {
	for _, x := range r.Results {
		if x.Name == name {
			return x
		}
	}
	return Result{}
}

type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) { l.mu.Lock(); l.d = append(l.d, d); l.mu.Unlock() }

func (l *latencies) pct(p float64) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0
	}
	sort.Slice(l.d, func(i, j int) bool { return l.d[i] < l.d[j] })
	i := int(p * float64(len(l.d)-1))
	return float64(l.d[i].Microseconds()) / 1000
}

func payload(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = 'a' + b[i]%26
	}
	return []byte(fmt.Sprintf(`{"p":"%s"}`, b[:max(0, n-8)]))
}

// RunEventStore runs every scenario against client (the event log on pool's database) and pool.
// Each Belfry figure is printed beside a plain-pgx baseline measured in the same run on the same
// PostgreSQL: INSERT+COMMIT per event for single appends, COPY of 100 rows per transaction for
// batches, and one plain scan of eventlog.events for ReadAll.
func RunEventStore(ctx context.Context, pool *pgxpool.Pool, client *esdb.Client, cfg Config) (*Report, error) {
	cfg.Defaults()
	rep := &Report{StartedAt: time.Now().UTC(), CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	rep.Config.DurationSeconds, rep.Config.PayloadBytes = cfg.Duration.Seconds(), cfg.PayloadBytes
	rep.Config.CatchupEvents, rep.Config.LagRate = cfg.CatchupEvents, cfg.LagRate
	rep.Config.Setting = cfg.Setting
	b := &benchRun{cfg: cfg, rep: rep, pool: pool, client: client, run: uuid.NewString()[:8],
		data: payload(cfg.PayloadBytes), meta: []byte(`{"actor":"bench","schemaVersion":1}`)}
	if _, err := pool.Exec(ctx, `DROP TABLE IF EXISTS bench_plain; CREATE TABLE bench_plain (
		position bigserial PRIMARY KEY, stream text NOT NULL, revision bigint NOT NULL, event_id uuid NOT NULL,
		event_type text NOT NULL, data bytea NOT NULL, metadata bytea NOT NULL, UNIQUE (stream, revision))`); err != nil {
		return nil, fmt.Errorf("bench: baseline table: %w", err)
	}
	if err := b.appends(ctx); err != nil {
		return nil, err
	}
	if err := b.reads(ctx); err != nil {
		return nil, err
	}
	rep.Checks = b.checks()
	return rep, nil
}

// benchRun is the state shared by the scenarios of one run.
type benchRun struct {
	cfg        Config
	rep        *Report
	pool       *pgxpool.Pool
	client     *esdb.Client
	run        string
	data, meta []byte
}

func (b *benchRun) want(name string) bool { return b.cfg.Only == nil || b.cfg.Only(name) }

func (b *benchRun) say(format string, a ...any) { fmt.Fprintf(b.cfg.Progress, format+"\n", a...) }

// appends runs the append scenarios, each followed by its baseline.
func (b *benchRun) appends(ctx context.Context) error {
	d, run := b.cfg.Duration, b.run
	for _, w := range b.cfg.Writers {
		if !b.want(fmt.Sprintf("append_single_w%d", w)) {
			continue
		}
		b.say("single-event appends, %d writers, %v ...", w, d)
		res, err := singleAppends(ctx, b.client, w, d, fmt.Sprintf("bench.single-%s-w%d", run, w), b.data, b.meta)
		if err != nil {
			return err
		}
		b.rep.add(res)
		b.say("plain pgx INSERT+COMMIT, %d writers, %v ...", w, d)
		if res, err = plainInserts(ctx, b.pool, w, d, fmt.Sprintf("plain-%s-w%d", run, w), b.data, b.meta); err != nil {
			return err
		}
		b.rep.add(res)
	}
	if !b.want("append_batch100") {
		return nil
	}
	b.say("100-event batch appends, %d writers ...", b.cfg.BatchWriters)
	res, err := batchAppends(ctx, b.client, b.cfg.BatchWriters, d, "bench.batch-"+run, b.data, b.meta)
	if err != nil {
		return err
	}
	b.rep.add(res)
	b.say("plain pgx COPY of 100 rows per transaction, %d writers ...", b.cfg.BatchWriters)
	if res, err = plainCopies(ctx, b.pool, b.cfg.BatchWriters, d, "plain-batch-"+run, b.data, b.meta); err != nil {
		return err
	}
	b.rep.add(res)
	return nil
}

// reads writes the account history, then runs the read, catch-up and lag scenarios.
func (b *benchRun) reads(ctx context.Context) error {
	if !b.want("read_all") && !b.want("projection_catchup") && !b.want("read_model_lag") {
		return nil
	}
	b.say("writing %d account events for the catch-up scenario ...", b.cfg.CatchupEvents)
	last, err := writeAccountHistory(ctx, b.client, b.cfg.CatchupEvents, b.run, b.cfg.Progress)
	if err != nil {
		return err
	}
	if b.want("read_all") {
		b.say("reading $all ...")
		res, err := readAll(ctx, b.client)
		if err != nil {
			return err
		}
		b.rep.add(res)
		b.say("plain pgx scan of the same rows ...")
		if res, err = plainScan(ctx, b.pool); err != nil {
			return err
		}
		b.rep.add(res)
		b.say("the client's decoding of the same events alone ...")
		decoded, err := clientDecode(ctx, b.pool, res.Events)
		if err != nil {
			return err
		}
		for _, r := range decoded {
			b.rep.add(r)
		}
	}
	p := &benchProjection{name: "bench_" + b.run}
	if b.want("projection_catchup") {
		b.say("projection catch-up from position 0 ...")
		res, err := catchUp(ctx, b.pool, b.client, p, last, b.cfg.CatchupEvents)
		if err != nil {
			return err
		}
		b.rep.add(res)
	}
	if b.want("read_model_lag") {
		b.say("append-to-read-model lag at %d events/s for %v ...", b.cfg.LagRate, b.cfg.LagDuration)
		res, err := lag(ctx, b.pool, b.client, p, b.run, b.cfg.LagRate, b.cfg.LagDuration)
		if err != nil {
			return err
		}
		b.rep.add(res)
	}
	_, _ = b.pool.Exec(ctx, "DROP SCHEMA IF EXISTS rm_"+p.name+"_g1 CASCADE")
	return nil
}

// checks compares the figures of the run with the targets (scenarios not run are left out).
func (b *benchRun) checks() []Check {
	rep := b.rep
	var out []Check
	ratio := func(name, of, base, target string, goal float64) {
		x, y := rep.find(of), rep.find(base)
		if x.Name == "" || y.EventsPerSec <= 0 {
			return
		}
		v := x.EventsPerSec / y.EventsPerSec
		out = append(out, Check{Name: name, Target: target, Value: v, Pass: v >= goal})
	}
	atLeast := func(name, of, target string, goal float64) {
		if x := rep.find(of); x.Name != "" {
			out = append(out, Check{Name: name, Target: target, Value: x.EventsPerSec, Pass: x.EventsPerSec >= goal})
		}
	}
	ratio("single-event appends at 1 writer vs plain INSERT+COMMIT", "append_single_w1", "pg_insert_commit_w1", ">= 0.6x", 0.6)
	ratio("single-event appends at 32 writers vs plain INSERT+COMMIT", "append_single_w32", "pg_insert_commit_w32", ">= 1.0x", 1.0)
	ratio("100-event batch appends vs plain COPY of 100 rows", "append_batch100", "pg_copy_batch100", ">= 0.8x", 0.8)
	atLeast("100-event batch appends", "append_batch100", ">= 15000 events/s", 15000)
	atLeast("ReadAll forwards ($all catch-up read)", "read_all", ">= 500000 events/s", 500000)
	ratio("ReadAll forwards vs plain pgx scan", "read_all", "pg_scan_all", "(shown)", 0)
	ratio("ReadAll forwards vs the client's decoding alone", "read_all", "client_decode_floor", "(shown)", 0)
	ratio("ReadAll forwards vs the registered codec's decoding alone", "read_all", "client_decode_codec", "(shown)", 0)
	atLeast("projection catch-up from 0", "projection_catchup", ">= 20000 events/s", 20000)
	if x := rep.find("read_model_lag"); x.Name != "" {
		out = append(out, Check{Name: "append-to-read-model lag p99", Target: "< 250 ms", Value: x.P99ms, Pass: x.P99ms < 250})
	}
	return out
}

// measure runs writers goroutines calling op until d has passed; op returns how many events one call
// wrote. It reports the throughput and the per-call latency percentiles.
func measure(writers int, d time.Duration, name, note string, op func(w, i int) (int, error)) (Result, error) {
	var lat latencies
	var n atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				t0 := time.Now()
				k, err := op(w, i)
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				lat.add(time.Since(t0))
				n.Add(int64(k))
			}
		}(w)
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return Result{}, fmt.Errorf("bench: %s: %w", name, err)
	}
	return Result{Name: name, Events: n.Load(), Seconds: time.Since(start).Seconds(), P50ms: lat.pct(0.5), P99ms: lat.pct(0.99), Note: note}, nil
}

func singleAppends(ctx context.Context, client *esdb.Client, writers int, d time.Duration, prefix string, data, meta []byte) (Result, error) {
	return measure(writers, d, fmt.Sprintf("append_single_w%d", writers), "AppendToStream, 1 event, exact expected revision",
		func(w, i int) (int, error) {
			var expect esdb.ExpectedRevision = esdb.NoStream{}
			if i > 0 {
				expect = esdb.Revision(uint64(i - 1))
			}
			_, err := client.AppendToStream(ctx, fmt.Sprintf("%s-%d", prefix, w), esdb.AppendToStreamOptions{ExpectedRevision: expect},
				esdb.EventData{EventID: uuid.New(), EventType: "bench.single.v1", ContentType: esdb.ContentTypeJson, Data: data, Metadata: meta})
			return 1, err
		})
}

func plainInserts(ctx context.Context, pool *pgxpool.Pool, writers int, d time.Duration, prefix string, data, meta []byte) (Result, error) {
	return measure(writers, d, fmt.Sprintf("pg_insert_commit_w%d", writers), "baseline: one INSERT, autocommit, same payload",
		func(w, i int) (int, error) {
			_, err := pool.Exec(ctx, `INSERT INTO bench_plain (stream, revision, event_id, event_type, data, metadata)
				VALUES ($1, $2, $3, 'bench.single.v1', $4, $5)`, fmt.Sprintf("%s-%d", prefix, w), i, uuid.New(), data, meta)
			return 1, err
		})
}

func batchAppends(ctx context.Context, client *esdb.Client, writers int, d time.Duration, prefix string, data, meta []byte) (Result, error) {
	return measure(writers, d, "append_batch100", fmt.Sprintf("%d writers, 100 events per append", writers),
		func(w, i int) (int, error) {
			evs := make([]esdb.EventData, 100)
			for j := range evs {
				evs[j] = esdb.EventData{EventID: uuid.New(), EventType: "bench.batch.v1", ContentType: esdb.ContentTypeJson, Data: data, Metadata: meta}
			}
			var expect esdb.ExpectedRevision = esdb.NoStream{}
			if i > 0 {
				expect = esdb.Revision(uint64(i*100 - 1))
			}
			_, err := client.AppendToStream(ctx, fmt.Sprintf("%s-%d", prefix, w), esdb.AppendToStreamOptions{ExpectedRevision: expect}, evs...)
			return 100, err
		})
}

// plainCopies is the batch baseline: pgx COPY of 100 rows into a plain table, one transaction each.
func plainCopies(ctx context.Context, pool *pgxpool.Pool, writers int, d time.Duration, prefix string, data, meta []byte) (Result, error) {
	cols := []string{"stream", "revision", "event_id", "event_type", "data", "metadata"}
	return measure(writers, d, "pg_copy_batch100", "baseline: pgx COPY of 100 rows, autocommit, same payload",
		func(w, i int) (int, error) {
			stream := fmt.Sprintf("%s-%d", prefix, w)
			rows := make([][]any, 100)
			for j := range rows {
				rows[j] = []any{stream, int64(i*100 + j), uuid.New(), "bench.batch.v1", data, meta}
			}
			_, err := pool.CopyFrom(ctx, pgx.Identifier{"bench_plain"}, cols, pgx.CopyFromRows(rows))
			return 100, err
		})
}

// writeAccountHistory appends total account events: streams of 1 Created and 9 Renamed.
func writeAccountHistory(ctx context.Context, client *esdb.Client, total int, run string, progress io.Writer) (uint64, error) {
	const perStream = 10
	streams := (total + perStream - 1) / perStream
	var next atomic.Int64
	var last atomic.Uint64
	var written atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprintf(progress, "  %d/%d events written\n", written.Load(), total)
			}
		}
	}()
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= streams || firstErr.Load() != nil {
					return
				}
				id := fmt.Sprintf("%s-%07d", run, i)
				evs := make([]esdb.EventData, 0, perStream)
				add := func(e account.Event) {
					b, _ := json.Marshal(e)
					evs = append(evs, esdb.EventData{EventID: uuid.New(), EventType: e.EventType(), ContentType: esdb.ContentTypeJson, Data: b})
				}
				add(account.Created{AccountID: id, AwsAccountID: "999900001111", Name: "Bench " + id, AccountType: account.TypeTeam,
					DefaultLicense: account.LicensePro, SupportedLicenses: []string{"Basic", "Pro"}, CreatedAt: time.Now().UTC()})
				for r := 1; r < perStream; r++ {
					add(account.Renamed{Name: fmt.Sprintf("Bench %s r%d", id, r)})
				}
				wr, err := client.AppendToStream(ctx, account.StreamName(id), esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, evs...)
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				written.Add(perStream)
				for {
					cur := last.Load()
					if wr.CommitPosition <= cur || last.CompareAndSwap(cur, wr.CommitPosition) {
						break
					}
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	if err, ok := firstErr.Load().(error); ok {
		return 0, fmt.Errorf("bench: write history: %w", err)
	}
	return last.Load(), nil
}

func readAll(ctx context.Context, client *esdb.Client) (Result, error) {
	start := time.Now()
	rs, err := client.ReadAll(ctx, esdb.ReadAllOptions{From: esdb.Start{}}, ^uint64(0))
	if err != nil {
		return Result{}, err
	}
	defer rs.Close()
	var n int64
	for {
		_, err := rs.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Result{}, fmt.Errorf("bench: read $all: %w", err)
		}
		n++
	}
	return Result{Name: "read_all", Events: n, Seconds: time.Since(start).Seconds(), Note: "ReadAll forwards from Start, one call"}, nil
}

// plainScan is the read baseline: one pgx query over the same rows ReadAll returns, each row scanned
// into Go values.
func plainScan(ctx context.Context, pool *pgxpool.Pool) (Result, error) {
	start := time.Now()
	rows, err := pool.Query(ctx, `SELECT position, stream, revision, event_id, event_type, content_type, created, data, metadata
		FROM eventlog.events ORDER BY position`)
	if err != nil {
		return Result{}, fmt.Errorf("bench: plain scan: %w", err)
	}
	defer rows.Close()
	var n int64
	for rows.Next() {
		var pos, rev, created int64
		var id [16]byte
		var stream, typ, ct string
		var data, meta []byte
		if err := rows.Scan(&pos, &stream, &rev, &id, &typ, &ct, &created, &data, &meta); err != nil {
			return Result{}, fmt.Errorf("bench: plain scan: %w", err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return Result{}, fmt.Errorf("bench: plain scan: %w", err)
	}
	return Result{Name: "pg_scan_all", Events: n, Seconds: time.Since(start).Seconds(),
		Note: "baseline: one pgx query over eventlog.events by position, every column scanned"}, nil
}

// clientDecode is the ceiling of ReadAll through EventStore-Client-Go on this machine: the client
// unmarshals every ReadResp on the goroutine that calls Recv. It decodes total messages built from
// (up to 10,000) stored events, on one goroutine, with no server and no network: with
// proto.Unmarshal (protobuf-go's decoder, what the client uses by default) and with gRPC's "proto"
// codec as this process registered it (infra/wirecodec's, when imported).
func clientDecode(ctx context.Context, pool *pgxpool.Pool, total int64) ([]Result, error) {
	msgs, err := readResps(ctx, pool)
	if err != nil || len(msgs) == 0 || total == 0 {
		return nil, err
	}
	start := time.Now()
	for i := int64(0); i < total; i++ {
		var r api.ReadResp
		if err := proto.Unmarshal(msgs[i%int64(len(msgs))], &r); err != nil {
			return nil, fmt.Errorf("bench: client decode: %w", err)
		}
	}
	out := []Result{{Name: "client_decode_floor", Events: total, Seconds: time.Since(start).Seconds(),
		Note: "ceiling: protobuf-go's proto.Unmarshal of each ReadResp alone, one goroutine, no server"}}
	codec := encoding.GetCodecV2("proto")
	start = time.Now()
	for i := int64(0); i < total; i++ {
		var r api.ReadResp
		if err := codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(msgs[i%int64(len(msgs))])}, &r); err != nil {
			return nil, fmt.Errorf("bench: client decode: %w", err)
		}
	}
	return append(out, Result{Name: "client_decode_codec", Events: total, Seconds: time.Since(start).Seconds(),
		Note: fmt.Sprintf("ceiling: gRPC's registered proto codec (%T) on each ReadResp alone, one goroutine, no server", codec)}), nil
}

// readResps are the ReadResps of (up to 10,000) stored events, marshalled as the event log sends them.
func readResps(ctx context.Context, pool *pgxpool.Pool) ([][]byte, error) {
	rows, err := pool.Query(ctx, `SELECT position, stream, revision, event_id, event_type, content_type, created, data, metadata
		FROM eventlog.events ORDER BY position LIMIT 10000`)
	if err != nil {
		return nil, fmt.Errorf("bench: client decode: %w", err)
	}
	defer rows.Close()
	var msgs [][]byte
	for rows.Next() {
		var pos, rev, created int64
		var id uuid.UUID
		var stream, typ, ct string
		var data, meta []byte
		if err := rows.Scan(&pos, &stream, &rev, &id, &typ, &ct, &created, &data, &meta); err != nil {
			return nil, fmt.Errorf("bench: client decode: %w", err)
		}
		most, least := esdb.UUIDAsInt64(id)
		m, err := proto.Marshal(&api.ReadResp{Content: &api.ReadResp_Event{Event: &api.ReadResp_ReadEvent{
			Event: &api.ReadResp_ReadEvent_RecordedEvent{
				Id:               &shared.UUID{Value: &shared.UUID_Structured_{Structured: &shared.UUID_Structured{MostSignificantBits: most, LeastSignificantBits: least}}},
				StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(stream)},
				StreamRevision:   uint64(rev), PreparePosition: uint64(pos), CommitPosition: uint64(pos),
				Metadata:       map[string]string{"type": typ, "content-type": ct, "created": fmt.Sprint(created)},
				CustomMetadata: meta, Data: data},
			Position: &api.ReadResp_ReadEvent_CommitPosition{CommitPosition: uint64(pos)}}}})
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, m)
	}
	return msgs, rows.Err()
}

// benchProjection is the accounts projection under its own name, without rm views.
type benchProjection struct {
	chimeaccounts.Projection
	name string
}

func (p *benchProjection) Name() string     { return p.name }
func (p *benchProjection) Tables() []string { return nil }

func catchUp(ctx context.Context, pool *pgxpool.Pool, client *esdb.Client, p *benchProjection, last uint64, events int) (Result, error) {
	if _, _, err := projections.Ensure(ctx, pool, p); err != nil {
		return Result{}, err
	}
	r := projections.NewRunner(pool, client, p, projections.RunnerConfig{BatchSize: 2000})
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	go func() { _ = r.Run(rctx) }()
	if err := r.WaitFor(ctx, last); err != nil {
		return Result{}, err
	}
	secs := time.Since(start).Seconds()
	var rows int64
	_ = pool.QueryRow(ctx, "SELECT count(*) FROM rm_"+p.name+"_g1.chime_accounts").Scan(&rows)
	return Result{Name: "projection_catchup", Events: int64(events), Seconds: secs,
		Note: fmt.Sprintf("accounts read model from position 0 (filtered $all, batches of 2000); %d rows built", rows)}, nil
}

// lag appends at a steady rate while the projection runs live and measures append-start to applied.
func lag(ctx context.Context, pool *pgxpool.Pool, client *esdb.Client, p *benchProjection, run string, rate int, d time.Duration) (Result, error) {
	r := projections.NewRunner(pool, client, p, projections.RunnerConfig{})
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = r.Run(rctx) }()
	const workers = 64
	revs := make([]int64, workers)
	for i := range revs {
		revs[i] = -1
	}
	var lat latencies
	var n atomic.Int64
	var firstErr atomic.Value
	tokens := make(chan time.Time, rate)
	go func() {
		defer close(tokens)
		interval := time.Second / time.Duration(rate)
		start := time.Now()
		for i := 0; ; i++ {
			due := start.Add(time.Duration(i) * interval)
			if time.Since(start) >= d {
				return
			}
			if w := time.Until(due); w > 0 {
				time.Sleep(w)
			}
			tokens <- due
		}
	}()
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			id := fmt.Sprintf("lag-%s-%d", run, w)
			for due := range tokens {
				var e account.Event = account.Renamed{Name: "lag " + due.String()}
				var expect esdb.ExpectedRevision = esdb.Revision(uint64(revs[w]))
				if revs[w] < 0 {
					e = account.Created{AccountID: id, AwsAccountID: "999900001111", Name: "Lag", AccountType: account.TypeTeam,
						DefaultLicense: "Pro", SupportedLicenses: []string{"Basic", "Pro"}, CreatedAt: time.Now().UTC()}
					expect = esdb.NoStream{}
				}
				b, _ := json.Marshal(e)
				wr, err := client.AppendToStream(ctx, account.StreamName(id), esdb.AppendToStreamOptions{ExpectedRevision: expect},
					esdb.EventData{EventID: uuid.New(), EventType: e.EventType(), ContentType: esdb.ContentTypeJson, Data: b})
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				revs[w]++
				wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
				err = r.WaitFor(wctx, wr.CommitPosition)
				wcancel()
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				lat.add(time.Since(due))
				n.Add(1)
			}
		}(w)
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return Result{}, fmt.Errorf("bench: lag: %w", err)
	}
	return Result{Name: "read_model_lag", Events: n.Load(), Seconds: time.Since(start).Seconds(), P50ms: lat.pct(0.5), P99ms: lat.pct(0.99),
		Note: fmt.Sprintf("target %d events/s; from scheduled append time to applied by the live accounts projection", rate)}, nil
}

// Print writes the report as a table.
func (r *Report) Print(w io.Writer) {
	rows := make([][]string, len(r.Results))
	for i, x := range r.Results {
		rows[i] = []string{x.Name, fmt.Sprint(x.Events), fmt.Sprintf("%.2f", x.Seconds), fmt.Sprintf("%.0f", x.EventsPerSec),
			fmt.Sprintf("%.2f", x.P50ms), fmt.Sprintf("%.2f", x.P99ms), x.Note}
	}
	Table(w, []string{"SCENARIO", "EVENTS", "SECONDS", "EVENTS/S", "P50 ms", "P99 ms", "NOTE"}, rows)
	PrintChecks(w, r.Checks)
}

// Table prints aligned columns.
func Table(w io.Writer, header []string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, row := range rows {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
}

// PrintChecks prints the targets and whether they were met.
func PrintChecks(w io.Writer, checks []Check) {
	fmt.Fprintln(w)
	rows := make([][]string, len(checks))
	for i, c := range checks {
		res := "PASS"
		if !c.Pass {
			res = "MISS"
		}
		rows[i] = []string{c.Name, c.Target, fmt.Sprintf("%.2f", c.Value), res}
	}
	Table(w, []string{"TARGET", "GOAL", "MEASURED", "RESULT"}, rows)
}
