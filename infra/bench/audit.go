package bench

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/infra/eventlog"
	"github.com/belfry/belfry/infra/eventlog/chain"
	"github.com/belfry/belfry/projections"
	auditrm "github.com/belfry/belfry/projections/audit"
	"github.com/belfry/belfry/projections/history"
)

// AuditConfig sizes `belfry bench audit`: the auditors' reads over a large log.
type AuditConfig struct {
	Events    int // chained events in the log (and rows in the history index)
	Resources int // distinct resources the history rows are spread over
	Lookups   int // history pages read
	Progress  io.Writer
}

func (c *AuditConfig) defaults() {
	if c.Events <= 0 {
		c.Events = 2_000_000
	}
	if c.Resources <= 0 {
		c.Resources = max(1, c.Events/50)
	}
	if c.Lookups <= 0 {
		c.Lookups = 2000
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
}

// AuditReport is the outcome of `belfry bench audit`.
type AuditReport struct {
	StartedAt time.Time `json:"startedAt"`
	Config    AuditConfig
	Results   []Result `json:"results"`
	Checks    []Check  `json:"checks"`
}

// RunAudit seeds a chained log of cfg.Events events (written straight into eventlog.events with their
// digests, chain and a signed checkpoint, as the writer stores them) and as many history rows, then
// measures `audit verify` beside a plain pgx scan of the same rows (the floor), and history lookups.
// pool's database must be migrated.
func RunAudit(ctx context.Context, pool *pgxpool.Pool, cfg AuditConfig) (AuditReport, error) {
	cfg.defaults()
	rep := AuditReport{StartedAt: time.Now().UTC(), Config: cfg}
	pub, err := seedChain(ctx, pool, cfg)
	if err != nil {
		return rep, err
	}
	fmt.Fprintln(cfg.Progress, "verifying ...")
	start := time.Now()
	res, err := eventlog.Verify(ctx, pool, pub, eventlog.VerifyRange{})
	if err != nil {
		return rep, err
	}
	if !res.OK() || res.Rows != uint64(cfg.Events) {
		return rep, fmt.Errorf("bench: the seeded log does not verify: %+v", res)
	}
	verify := rep.add(Result{Name: "audit_verify", Events: int64(res.Rows), Seconds: time.Since(start).Seconds(),
		Note: "eventlog.Verify: every digest and link recomputed, the checkpoints checked"})
	scan, err := plainScan(ctx, pool)
	if err != nil {
		return rep, err
	}
	scan = rep.add(scan)
	hist, err := historyLookups(ctx, pool, cfg)
	if err != nil {
		return rep, err
	}
	hist = rep.add(hist)
	rep.Checks = []Check{
		{Name: "audit verify", Target: ">= 200000 events/s", Value: verify.EventsPerSec, Pass: verify.EventsPerSec >= 200_000},
		{Name: "audit verify vs plain pgx scan", Target: "(shown)", Value: verify.EventsPerSec / scan.EventsPerSec, Pass: true},
		{Name: "history of one resource, p99", Target: "< 20 ms", Value: hist.P99ms, Pass: hist.P99ms < 20},
	}
	return rep, nil
}

func (r *AuditReport) add(res Result) Result {
	if res.Seconds > 0 {
		res.EventsPerSec = float64(res.Events) / res.Seconds
	}
	r.Results = append(r.Results, res)
	return res
}

// Print writes the report as a table.
func (r *AuditReport) Print(w io.Writer) {
	rep := Report{Results: r.Results, Checks: r.Checks}
	rep.Print(w)
}

// seedChain writes cfg.Events chained events and a signed checkpoint at the last one.
func seedChain(ctx context.Context, pool *pgxpool.Pool, cfg AuditConfig) (ed25519.PublicKey, error) {
	pub, key, _ := ed25519.GenerateKey(nil)
	store, err := eventlog.StoreID(ctx, pool)
	if err != nil {
		return nil, err
	}
	var head chain.Hash
	meta := []byte(`{"actorType":"accessKey","actor":"AKIABENCHBENCHBENCH2","requestId":"00000000-0000-0000-0000-000000000000","schemaVersion":1}`)
	const batch = 20_000
	for from := 1; from <= cfg.Events; from += batch {
		rows := make([][]any, 0, batch)
		for pos := from; pos < from+batch && pos <= cfg.Events; pos++ {
			e := chain.Event{Position: uint64(pos), Stream: fmt.Sprintf("chime.account-bench-%d", pos%cfg.Resources), Revision: uint64(pos / cfg.Resources),
				EventID: uuid.New(), Type: "chime.account.renamed.v1", ContentType: "application/json", Created: int64(pos) * 10_000_000,
				Data: fmt.Appendf(nil, `{"name":"Renamed %d"}`, pos), Metadata: meta}
			d := chain.Digest(&e)
			head = chain.Link(head, d)
			h := head
			rows = append(rows, []any{int64(e.Position), e.Stream, int64(e.Revision), [16]byte(e.EventID), e.Type, e.ContentType, e.Created, e.Data, e.Metadata, d[:], h[:]})
		}
		if _, err := pool.CopyFrom(ctx, pgx.Identifier{"eventlog", "events"},
			[]string{"position", "stream", "revision", "event_id", "event_type", "content_type", "created", "data", "metadata", "digest", "chain"},
			pgx.CopyFromRows(rows)); err != nil {
			return nil, fmt.Errorf("bench: seed the log: %w", err)
		}
		fmt.Fprintf(cfg.Progress, "  %d/%d events written\n", min(from+batch-1, cfg.Events), cfg.Events)
	}
	cp := chain.Sign(key, store, uint64(cfg.Events), head)
	_, err = pool.Exec(ctx, `INSERT INTO eventlog.checkpoints (position, chain, signature, key_id) VALUES ($1,$2,$3,$4)`,
		int64(cp.Position), cp.Chain[:], cp.Signature, cp.KeyID)
	return pub, err
}

// historyLookups indexes the seeded events in the history read model (cfg.Events rows over
// cfg.Resources resources) and reads cfg.Lookups first pages of random resources.
func historyLookups(ctx context.Context, pool *pgxpool.Pool, cfg AuditConfig) (Result, error) {
	for _, p := range []projections.Projection{history.Projection{}, auditrm.Projection{}} {
		if _, _, err := projections.Ensure(ctx, pool, p); err != nil {
			return Result{}, err
		}
	}
	fmt.Fprintln(cfg.Progress, "indexing the history ...")
	if _, err := pool.Exec(ctx, `INSERT INTO rm.resource_history (resource, position, stream, revision, event_type, occurred_at,
			actor_type, actor, principal_arn, source_ip, request_id)
		SELECT 'bench-' || (position % $1), position, stream, revision, event_type, to_timestamp(created / 10000000.0),
			'accessKey', 'AKIABENCHBENCHBENCH2', '', '127.0.0.1', '' FROM eventlog.events`, cfg.Resources); err != nil {
		return Result{}, fmt.Errorf("bench: index the history: %w", err)
	}
	if _, err := pool.Exec(ctx, `ANALYZE rm.resource_history`); err != nil {
		return Result{}, err
	}
	store := history.NewStore(pool)
	lat := make([]time.Duration, 0, cfg.Lookups)
	start := time.Now()
	var n int64
	for range cfg.Lookups {
		t := time.Now()
		page, err := store.Lookup(ctx, fmt.Sprintf("bench-%d", rand.IntN(cfg.Resources)), 0, 100)
		if err != nil {
			return Result{}, err
		}
		lat = append(lat, time.Since(t))
		n += int64(len(page))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	return Result{Name: "history_lookup", Events: n, Seconds: time.Since(start).Seconds(), P50ms: pct(0.5), P99ms: pct(0.99),
		Note: fmt.Sprintf("%d first pages (up to 100 events, with the audit-record join) of random resources among %d over %d rows", cfg.Lookups, cfg.Resources, cfg.Events)}, nil
}

// AuditOptions are the parsed flags of `belfry bench audit` and what its caller supplies.
type AuditOptions struct {
	Postgres Postgres
	Migrate  func(ctx context.Context, pool *pgxpool.Pool) error
	Config   AuditConfig
	JSON     string
	Out      io.Writer
}

// AuditCommand runs `belfry bench audit`: RunAudit in a scratch database (belfry_bench_audit).
func AuditCommand(ctx context.Context, o AuditOptions) error {
	url, stop, err := ScratchDatabase(ctx, o.Postgres, "belfry_bench_audit")
	if err != nil {
		return err
	}
	defer stop()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := o.Migrate(ctx, pool); err != nil {
		return err
	}
	rep, err := RunAudit(ctx, pool, o.Config)
	if err != nil {
		return err
	}
	fmt.Fprintln(o.Out)
	rep.Print(o.Out)
	path := ReportPath(o.JSON, "audit", rep.StartedAt)
	if err := WriteJSON(path, rep); err != nil {
		return err
	}
	fmt.Fprintln(o.Out, "\nJSON report:", path)
	return nil
}
