package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the runner's Prometheus series, labelled by projection.
type Metrics struct {
	Checkpoint    *prometheus.GaugeVec
	EventsApplied *prometheus.CounterVec
	BatchSeconds  *prometheus.HistogramVec
}

// NewMetrics creates and registers the runner metrics.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Checkpoint: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "belfry_projection_checkpoint_position",
			Help: "Last $all position the projection has applied."}, []string{"projection"}),
		EventsApplied: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "belfry_projection_events_applied_total",
			Help: "Events applied by the projection."}, []string{"projection"}),
		BatchSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "belfry_projection_batch_seconds",
			Help: "Duration of one batch transaction.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}, []string{"projection"}),
	}
	if reg != nil {
		reg.MustRegister(m.Checkpoint, m.EventsApplied, m.BatchSeconds)
	}
	return m
}

// RunnerConfig tunes a runner.
type RunnerConfig struct {
	// BatchSize is the most events one transaction applies (default 1000).
	BatchSize int
	Logger    *slog.Logger
	Metrics   *Metrics
	// AnalyzeEvery is how many applied events (or rows, see Weigher) make the runner refresh its tables' planner statistics
	// once it has drained what was queued (default 20,000). Autovacuum would do it too, but up to a
	// minute later: a bulk import or a catch-up would leave the planner believing the tables empty
	// (and, say, sorting 100,000 users for every page of ListUsers) until then.
	AnalyzeEvery int
	// Linger is how long a batch that has events but found no more queued waits for more before it
	// is applied (default 0: at once). A read model nobody waits on (the audit log) trades a few
	// milliseconds of visibility for fewer, larger transactions: each batch costs its round trips
	// and a commit whatever its size. A batch never lingers while a WaitFor waits (a command reading
	// its own write): it is applied at once.
	Linger time.Duration
}

// Runner keeps one projection's active generation up to date.
type Runner struct {
	pool   *pgxpool.Pool
	client *esdb.Client
	p      Projection
	cfg    RunnerConfig

	mu      sync.Mutex
	pos     uint64
	changed chan struct{}

	// waiters counts the WaitFor calls waiting; wake tells a lingering batch that one started.
	waiters atomic.Int32
	wake    chan struct{}

	// sinceAnalyze counts events applied since the tables' statistics were last refreshed;
	// analyzing is set while a refresh runs.
	sinceAnalyze int
	analyzing    atomic.Bool

	// known is, per generation, the checkpoint this runner last committed or read (see applyFast).
	knownMu sync.Mutex
	known   map[int]uint64
}

// analyze refreshes the planner statistics of a generation's tables.
func analyze(ctx context.Context, pool *pgxpool.Pool, p Projection, gen int) error {
	for _, t := range p.Tables() {
		if _, err := pool.Exec(ctx, "ANALYZE "+schemaName(p.Name(), gen)+"."+t); err != nil {
			return fmt.Errorf("projections: analyze %s: %w", t, err)
		}
	}
	return nil
}

// NewRunner returns a runner for p.
func NewRunner(pool *pgxpool.Pool, client *esdb.Client, p Projection, cfg RunnerConfig) *Runner {
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 1000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.AnalyzeEvery <= 0 {
		cfg.AnalyzeEvery = 20_000
	}
	return &Runner{pool: pool, client: client, p: p, cfg: cfg, changed: make(chan struct{}), wake: make(chan struct{}, 1)}
}

// Name is the projection's name.
func (r *Runner) Name() string { return r.p.Name() }

var errSwitched = errors.New("projections: generation switched")

// Run follows $all until ctx ends, resubscribing after errors and following generation switches.
func (r *Runner) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		gen, stale, err := Ensure(ctx, r.pool, r.p)
		if err == nil && stale {
			r.cfg.Logger.Info("projection schema version changed: rebuilding", "projection", r.p.Name())
			if err = Rebuild(ctx, r.pool, r.client, r.p, nil); err == nil || ctx.Err() != nil {
				continue
			}
		}
		if err == nil {
			err = r.follow(ctx, gen, false)
		}
		if errors.Is(err, errSwitched) || ctx.Err() != nil {
			continue
		}
		r.cfg.Logger.Warn("projection stopped; resuming from its checkpoint", "projection", r.p.Name(), "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
	return nil
}

// Position is the last $all position the active generation has applied (or skipped past).
func (r *Runner) Position() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pos
}

// WaitFor blocks until the projection has applied position pos, or ctx ends.
func (r *Runner) WaitFor(ctx context.Context, pos uint64) error {
	if r.reached(pos) {
		return nil
	}
	r.waiters.Add(1)
	defer r.waiters.Add(-1)
	select {
	case r.wake <- struct{}{}: // a lingering batch is applied now
	default:
	}
	for {
		r.mu.Lock()
		if r.pos >= pos {
			r.mu.Unlock()
			return nil
		}
		ch := r.changed
		r.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("projections: %s did not reach position %d: %w", r.p.Name(), pos, ctx.Err())
		}
	}
}

func (r *Runner) reached(pos uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pos >= pos
}

func (r *Runner) advance(pos uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if pos > r.pos {
		r.pos = pos
		close(r.changed)
		r.changed = make(chan struct{})
	}
	if r.cfg.Metrics != nil {
		r.cfg.Metrics.Checkpoint.WithLabelValues(r.p.Name()).Set(float64(r.pos))
	}
}

// resetTo sets the position to cp, even backwards: a new generation may be behind the old one.
func (r *Runner) resetTo(cp uint64) {
	r.mu.Lock()
	r.pos = 0
	r.mu.Unlock()
	r.advance(cp)
}

type subMsg struct {
	ev         *esdb.RecordedEvent
	checkpoint uint64
	caughtUp   bool
	err        error
}

// follow applies generation gen from its checkpoint. In rebuild mode it returns nil once caught up,
// its checkpoint at least the log's head as it was when follow began (every event up to there was
// delivered before the subscription said it caught up), and does not check the active generation
// (it is building the next one).
func (r *Runner) follow(ctx context.Context, gen int, rebuild bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var cp int64
	if err := r.pool.QueryRow(ctx, "SELECT position FROM projections.checkpoints WHERE name = $1 AND generation = $2",
		r.p.Name(), gen).Scan(&cp); err != nil {
		return fmt.Errorf("projections: read checkpoint: %w", err)
	}
	var head uint64 // rebuilding: the log's head, which the checkpoint reaches once caught up
	if rebuild {
		h, err := Head(ctx, r.client)
		if err != nil {
			return err
		}
		head = h
	} else {
		r.resetTo(uint64(cp))
	}
	var from esdb.AllPosition = esdb.Start{}
	if cp > 0 {
		from = esdb.Position{Commit: uint64(cp), Prepare: uint64(cp)}
	}
	sub, err := r.client.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: from, Filter: r.p.Filter(),
		MaxSearchWindow: 64, CheckpointInterval: 16})
	if err != nil {
		return fmt.Errorf("projections: subscribe: %w", err)
	}
	defer sub.Close()
	msgs := r.pump(ctx, sub)
	var persisted time.Time
	// unsaved is a checkpoint-only mark taken in memory but not written yet (see
	// checkpointPersistEvery); await writes it when the subscription stays quiet, saveOnExit when
	// follow returns.
	var unsaved uint64
	defer func() { r.saveOnExit(ctx, gen, rebuild, unsaved) }()
	for {
		first, ok, err := r.await(ctx, msgs, gen, rebuild, &unsaved, &persisted)
		if err != nil {
			return err
		}
		batch, mark, caughtUp, err := r.gather(ctx, msgs, first, ok)
		if err != nil {
			return err
		}
		if rebuild && caughtUp && head > uint64(cp) {
			mark = max(mark, head)
		}
		switch {
		case len(batch) > 0, mark > 0 && (rebuild && caughtUp || time.Since(persisted) >= checkpointPersistEvery):
			if err := r.applyBatch(ctx, gen, rebuild, batch, mark); err != nil {
				return err
			}
			persisted, unsaved = time.Now(), 0
		case mark > 0:
			// Only a checkpoint past events of other streams: readers and the lag gauges see it at
			// once; it is written at most once a second, and at the latest a second after the
			// previous write when the subscription goes quiet. After a crash the runner scans
			// those events again and applies none of them.
			if !rebuild {
				r.advance(mark)
			}
			unsaved = max(unsaved, mark)
		}
		r.sinceAnalyze += weight(r.p, batch)
		if r.sinceAnalyze >= r.cfg.AnalyzeEvery && len(msgs) == 0 && r.analyzing.CompareAndSwap(false, true) {
			// In the background: ANALYZE blocks neither reads nor writes, and the next batch (and the
			// read-your-writes waits behind it) must not queue behind it.
			r.sinceAnalyze = 0
			go func() {
				defer r.analyzing.Store(false)
				if err := analyze(ctx, r.pool, r.p, gen); err != nil && ctx.Err() == nil {
					r.cfg.Logger.Warn("refreshing planner statistics failed", "projection", r.p.Name(), "err", err)
				}
			}()
		}
		if rebuild && caughtUp {
			return nil
		}
	}
}

// pump forwards the subscription's messages to a channel, closed when the subscription ends.
func (r *Runner) pump(ctx context.Context, sub *esdb.Subscription) <-chan subMsg {
	msgs := make(chan subMsg, 4*r.cfg.BatchSize)
	go func() {
		defer close(msgs)
		for {
			m := sub.Recv()
			var out subMsg
			switch {
			case m.SubscriptionDropped != nil:
				out.err = m.SubscriptionDropped.Error
			case m.EventAppeared != nil:
				out.ev = m.EventAppeared.Event
			case m.CheckPointReached != nil:
				out.checkpoint = m.CheckPointReached.Commit
			case m.CaughtUp != nil:
				out.caughtUp = true
			default:
				continue
			}
			select {
			case msgs <- out:
			case <-ctx.Done():
				return
			}
			if out.err != nil {
				return
			}
		}
	}()
	return msgs
}

// await waits for the next message. While it waits with a checkpoint-only mark unsaved, it writes
// that mark once checkpointPersistEvery has passed since the last write.
func (r *Runner) await(ctx context.Context, msgs <-chan subMsg, gen int, rebuild bool, unsaved *uint64,
	persisted *time.Time) (subMsg, bool, error) {
	for {
		var idleC <-chan time.Time
		var idle *time.Timer
		if *unsaved > 0 {
			idle = time.NewTimer(checkpointPersistEvery - time.Since(*persisted))
			idleC = idle.C
		}
		select {
		case m, ok := <-msgs:
			if idle != nil {
				idle.Stop()
			}
			return m, ok, nil
		case <-idleC:
			if err := r.applyBatch(ctx, gen, rebuild, nil, *unsaved); err != nil {
				return subMsg{}, false, err
			}
			*persisted, *unsaved = time.Now(), 0
		case <-ctx.Done():
			if idle != nil {
				idle.Stop()
			}
			return subMsg{}, false, ctx.Err()
		}
	}
}

// gather collects a batch starting with first: what is queued, up to BatchSize events, waiting up to
// Linger for more when a batch has events but nothing more is queued. mark is the highest position
// the batch (events and checkpoints) passed.
func (r *Runner) gather(ctx context.Context, msgs <-chan subMsg, first subMsg, ok bool) (batch []*esdb.RecordedEvent,
	mark uint64, caughtUp bool, err error) {
	pending := []subMsg{first}
	var lingerUntil time.Time
	for {
		if !ok {
			return nil, 0, false, fmt.Errorf("projections: subscription ended")
		}
		for _, m := range pending {
			if m.err != nil {
				if ctx.Err() != nil {
					return nil, 0, false, ctx.Err()
				}
				return nil, 0, false, fmt.Errorf("projections: subscription dropped: %w", m.err)
			}
			if m.ev != nil {
				batch = append(batch, m.ev)
				mark = max(mark, m.ev.Position.Commit)
			}
			mark = max(mark, m.checkpoint)
			caughtUp = caughtUp || m.caughtUp
		}
		if len(batch) >= r.cfg.BatchSize {
			return batch, mark, caughtUp, nil
		}
		select {
		case m, more := <-msgs:
			pending, ok = []subMsg{m}, more
			continue
		default:
		}
		if r.cfg.Linger <= 0 || len(batch) == 0 || r.waiters.Load() > 0 {
			return batch, mark, caughtUp, nil
		}
		if lingerUntil.IsZero() {
			lingerUntil = time.Now().Add(r.cfg.Linger)
			select {
			case <-r.wake: // left by a waiter that has its position already
			default:
			}
			if r.waiters.Load() > 0 {
				return batch, mark, caughtUp, nil
			}
		}
		wait := time.NewTimer(time.Until(lingerUntil))
		select {
		case m, more := <-msgs:
			wait.Stop()
			pending, ok = []subMsg{m}, more
		case <-wait.C:
			return batch, mark, caughtUp, nil
		case <-r.wake:
			wait.Stop()
			return batch, mark, caughtUp, nil
		case <-ctx.Done():
			wait.Stop()
			return nil, 0, false, ctx.Err()
		}
	}
}

// checkpointPersistEvery bounds how often a checkpoint that applied no event is written: a filtered
// subscription receives one after every append to any other stream, and writing each would cost a
// transaction per append per projection. The last such checkpoint is still written promptly — when
// the subscription has been quiet until checkpointPersistEvery after the previous write, and when
// the runner stops — so the stored checkpoint of a caught-up projection reaches the head within
// about a second and stays there across a clean restart: `belfry projections status`, which reads
// the stored checkpoint, shows no lag for it.
const checkpointPersistEvery = time.Second

// saveOnExit writes the checkpoint-only mark follow had not written yet when it returns (a shutdown,
// a dropped subscription): the mark is a position the subscription has passed, so it is as good as
// any other checkpoint. It has its own short deadline, as ctx may be the cancelled one.
func (r *Runner) saveOnExit(ctx context.Context, gen int, rebuild bool, unsaved uint64) {
	if unsaved == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := r.applyBatch(ctx, gen, rebuild, nil, unsaved); err != nil && !errors.Is(err, errSwitched) {
		r.cfg.Logger.Warn("writing the last checkpoint at exit failed; it is scanned again at the next start",
			"projection", r.p.Name(), "err", err)
	}
}

// applyBatch applies events and moves the checkpoint to mark in one transaction. When that fails
// deterministically (see deterministic) it applies the batch again in one transaction, each event in
// its own savepoint: an event that fails is parked (projections.parked_events) in the transaction that
// moves the checkpoint past it, and the others apply. A transient failure is returned: the runner
// resumes from the checkpoint and tries the batch again.
func (r *Runner) applyBatch(ctx context.Context, gen int, rebuild bool, batch []*esdb.RecordedEvent, mark uint64) error {
	start := time.Now()
	applied, parked, err := r.applyTx(ctx, gen, rebuild, batch, mark, false)
	if deterministic(err) && ctx.Err() == nil {
		r.cfg.Logger.Warn("a batch failed on an event's data: applying its events one at a time to park the culprit",
			"projection", r.p.Name(), "generation", gen, "events", len(batch), "err", err)
		applied, parked, err = r.applyTx(ctx, gen, rebuild, batch, mark, true)
	}
	if err != nil {
		return err
	}
	for _, pk := range parked {
		r.cfg.Logger.Error("event parked: the projection moved past it (belfry projections status / retry)",
			"projection", r.p.Name(), "generation", gen, "position", pk.ev.Position.Commit, "stream", pk.ev.StreamID,
			"eventNumber", pk.ev.EventNumber, "type", pk.ev.EventType, "err", pk.err)
	}
	if r.cfg.Metrics != nil {
		r.cfg.Metrics.EventsApplied.WithLabelValues(r.p.Name()).Add(float64(applied))
		r.cfg.Metrics.BatchSeconds.WithLabelValues(r.p.Name()).Observe(time.Since(start).Seconds())
	}
	if !rebuild {
		r.advance(mark)
	}
	return nil
}

type parkedEvent struct {
	ev  *esdb.RecordedEvent
	err error
}

// applyTx is one attempt of applyBatch. Without isolate the whole batch goes out in one round trip;
// with isolate each event is applied in its own savepoint and one that fails deterministically is
// parked.
func (r *Runner) applyTx(ctx context.Context, gen int, rebuild bool, batch []*esdb.RecordedEvent, mark uint64,
	isolate bool) (applied int, parked []parkedEvent, err error) {
	if !isolate {
		if applied, ok := r.applyFast(ctx, gen, rebuild, batch, mark); ok {
			return applied, nil, nil
		}
	}
	schema := schemaName(r.p.Name(), gen)
	var cp uint64
	err = pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		applied, parked = 0, nil
		if _, err := tx.Exec(ctx, asyncCommit); err != nil {
			return err
		}
		cp, err = lockCheckpoint(ctx, tx, r.p.Name(), gen, rebuild)
		if err != nil {
			return err
		}
		b := &pgx.Batch{}
		for _, ev := range batch {
			if ev.Position.Commit <= cp {
				continue // delivered again: already applied (or parked)
			}
			if !isolate {
				if err := r.p.Apply(b, schema, ev); err != nil {
					return &applyError{ev: ev, err: err}
				}
				applied++
				continue
			}
			err := applyOne(ctx, tx, r.p, schema, ev)
			if err == nil {
				applied++
				continue
			}
			if !deterministic(err) || ctx.Err() != nil {
				return err
			}
			if err := park(ctx, tx, r.p.Name(), gen, ev, err); err != nil {
				return err
			}
			parked = append(parked, parkedEvent{ev: ev, err: err})
		}
		if mark <= cp {
			return nil
		}
		b.Queue(`UPDATE projections.checkpoints SET position = $3, events = events + $4, updated_at = now()
			WHERE name = $1 AND generation = $2`, r.p.Name(), gen, int64(mark), applied)
		return tx.SendBatch(ctx, b).Close()
	})
	r.setKnown(gen, max(cp, mark), err == nil)
	return applied, parked, err
}

// asyncCommit makes the transaction of a batch commit without waiting for its WAL flush: a read
// model is derived from the log, and a crash that loses its last batches loses their checkpoint
// with them (one transaction), so the runner applies them again at restart. What was read from
// them meanwhile is read again, the same.
const asyncCommit = `SELECT set_config('synchronous_commit', 'off', true)`

// applyFast is applyTx's one round trip: when the runner knows the checkpoint it last committed,
// the batch goes out as one pipeline, one implicit transaction, whose first statement makes it
// commit without waiting for its WAL flush (as asyncCommit does), share-locks the registry row (as
// lockCheckpoint does) and moves the checkpoint to mark — and fails unless the checkpoint was still
// the one known (and, unless building, gen still the active generation). Any failure — that guard,
// or an event's statement — rolls the whole of it back, and ok is false: the caller then goes
// through the transaction of applyTx, which reads the checkpoint afresh and knows what to do with a
// poison event.
func (r *Runner) applyFast(ctx context.Context, gen int, building bool, batch []*esdb.RecordedEvent, mark uint64) (applied int, ok bool) {
	cp, known := r.knownCP(gen)
	if !known {
		return 0, false
	}
	schema := schemaName(r.p.Name(), gen)
	b := &pgx.Batch{}
	guard := b.Queue(`WITH s AS (SELECT set_config('synchronous_commit', 'off', true)),
		r AS (SELECT active_generation FROM projections.registry WHERE name = $1 FOR SHARE),
		u AS (UPDATE projections.checkpoints c SET position = $5, events = c.events + $6, updated_at = now() FROM r
			WHERE c.name = $1 AND c.generation = $2 AND c.position = $3 AND ($4 OR r.active_generation = c.generation) RETURNING 1)
		SELECT 1 / count(*)::int FROM u, s`, r.p.Name(), gen, int64(cp), building, int64(mark), 0)
	fresh := make([]*esdb.RecordedEvent, 0, len(batch))
	for _, ev := range batch {
		if ev.Position.Commit > cp { // else delivered again: already applied (or parked)
			fresh = append(fresh, ev)
		}
	}
	if err := queueEvents(b, r.p, schema, fresh); err != nil {
		return 0, false
	}
	applied = len(fresh)
	if mark <= cp {
		return applied, applied == 0 // nothing to write
	}
	guard.Arguments[5] = applied
	err := r.pool.SendBatch(ctx, b).Close()
	r.setKnown(gen, mark, err == nil)
	return applied, err == nil
}

// queueEvents queues the statements that apply evs in order: an Appender's rows as a few multi-row
// INSERTs for the whole batch, a BatchApplier's own statements, or each event's Apply in turn.
func queueEvents(b *pgx.Batch, p Projection, schema string, evs []*esdb.RecordedEvent) error {
	switch p := p.(type) {
	case Appender:
		table, cols := p.AppendTable()
		var rows [][]any
		for _, ev := range evs {
			var err error
			if rows, err = p.AppendRows(rows, ev); err != nil {
				return err
			}
		}
		queueRows(b, schema+"."+table, cols, rows)
		return nil
	case BatchApplier:
		return p.ApplyBatch(b, schema, evs)
	}
	for _, ev := range evs {
		if err := p.Apply(b, schema, ev); err != nil {
			return err
		}
	}
	return nil
}

func (r *Runner) knownCP(gen int) (uint64, bool) {
	r.knownMu.Lock()
	defer r.knownMu.Unlock()
	cp, ok := r.known[gen]
	return cp, ok
}

// setKnown records the checkpoint gen has after a commit (ok), or forgets it (!ok: it is unknown
// until read again).
func (r *Runner) setKnown(gen int, cp uint64, ok bool) {
	r.knownMu.Lock()
	defer r.knownMu.Unlock()
	if r.known == nil {
		r.known = map[int]uint64{}
	}
	if ok {
		r.known[gen] = cp
	} else {
		delete(r.known, gen)
	}
}

// lockCheckpoint returns generation gen's checkpoint, locking its row, and share-locks the registry
// row so that a generation switch waits for tx. Unless building (a rebuild's generation is not
// active yet) it fails with errSwitched when gen is no longer the active generation. One round trip.
func lockCheckpoint(ctx context.Context, tx pgx.Tx, name string, gen int, building bool) (uint64, error) {
	var cp int64
	active := gen
	if err := tx.QueryRow(ctx, `SELECT c.position, r.active_generation FROM projections.checkpoints c
		JOIN projections.registry r ON r.name = c.name WHERE c.name = $1 AND c.generation = $2
		FOR UPDATE OF c FOR SHARE OF r`, name, gen).Scan(&cp, &active); err != nil {
		return 0, err
	}
	if !building && active != gen {
		return 0, errSwitched
	}
	return uint64(cp), nil
}

// applyOne applies ev inside a savepoint of tx. On failure it rolls back to the savepoint, so tx
// stays usable (to park ev, or to go on with the next event).
func applyOne(ctx context.Context, tx pgx.Tx, p Projection, schema string, ev *esdb.RecordedEvent) error {
	b := &pgx.Batch{}
	if err := p.Apply(b, schema, ev); err != nil {
		return &applyError{ev: ev, err: err}
	}
	if b.Len() == 0 {
		return nil
	}
	sp, err := tx.Begin(ctx)
	if err != nil {
		return err
	}
	if err := sp.SendBatch(ctx, b).Close(); err != nil {
		if rbErr := sp.Rollback(ctx); rbErr != nil {
			return fmt.Errorf("projections: roll back to savepoint after %v: %w", err, rbErr)
		}
		return err
	}
	return sp.Commit(ctx)
}

// Progress receives rebuild progress: the position the new generation reached and the events it applied.
type Progress func(position uint64, events int64)

// Rebuild builds the next generation of p from position 0 (or resumes an interrupted rebuild), then
// switches the rm views to it in one transaction and drops the older generations.
func Rebuild(ctx context.Context, pool *pgxpool.Pool, client *esdb.Client, p Projection, progress Progress) error {
	active, _, err := Ensure(ctx, pool, p)
	if err != nil {
		return err
	}
	var next, nextVersion int
	err = pool.QueryRow(ctx, `SELECT coalesce(max(generation), 0), coalesce(max(version) FILTER (WHERE generation = (SELECT max(generation) FROM projections.checkpoints WHERE name = $1)), 0)
		FROM projections.checkpoints WHERE name = $1`, p.Name()).Scan(&next, &nextVersion)
	if err != nil {
		return fmt.Errorf("projections: rebuild %s: %w", p.Name(), err)
	}
	if next <= active || nextVersion != p.Version() {
		next = max(next, active) + 1
		if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return createGeneration(ctx, tx, p, next) }); err != nil {
			return err
		}
	}
	r := NewRunner(pool, client, p, RunnerConfig{})
	done := make(chan struct{})
	if progress != nil {
		go func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					var pos, n int64
					_ = pool.QueryRow(ctx, "SELECT position, events FROM projections.checkpoints WHERE name = $1 AND generation = $2", p.Name(), next).Scan(&pos, &n)
					progress(uint64(pos), n)
				}
			}
		}()
	}
	err = r.follow(ctx, next, true)
	if err == nil {
		// A new generation must not go live without statistics.
		err = analyze(ctx, pool, p, next)
	}
	// The live runner may have applied events to the active generation since the catch-up: the
	// switch waits until the new generation has them too.
	for err == nil {
		if err = switchGeneration(ctx, pool, client, p, next); !errors.Is(err, errBehind) {
			break
		}
		err = r.follow(ctx, next, true)
	}
	close(done)
	if err != nil {
		return fmt.Errorf("projections: rebuild %s generation %d (resumable): %w", p.Name(), next, err)
	}
	if progress != nil {
		var pos, n int64
		_ = pool.QueryRow(ctx, "SELECT position, events FROM projections.checkpoints WHERE name = $1 AND generation = $2", p.Name(), next).Scan(&pos, &n)
		progress(uint64(pos), n)
	}
	return dropOlder(ctx, pool, p, active, next)
}

// errBehind is a switch refused because the new generation has not reached the active one.
var errBehind = errors.New("projections: the new generation is behind the active one")

// switchGeneration points the rm views at generation next, in one transaction that locks the registry
// row: the live runners' batches (which share-lock it) wait, and then find their generation switched.
// It fails with errBehind, switching nothing, while next's checkpoint is behind the active
// generation's — events the live runner applied after the rebuild caught up, which the views must
// not lose — unless the log's head is behind that checkpoint too (the log was restored from an
// older copy: there is nothing more to catch up).
func switchGeneration(ctx context.Context, pool *pgxpool.Pool, client *esdb.Client, p Projection, next int) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT 1 FROM projections.registry WHERE name = $1 FOR UPDATE", p.Name()); err != nil {
			return err
		}
		// A statement of its own, after the lock: it sees the batches committed before the lock.
		var active, nextCP int64
		if err := tx.QueryRow(ctx, `SELECT coalesce((SELECT c.position FROM projections.checkpoints c JOIN projections.registry r
				ON r.name = c.name AND r.active_generation = c.generation WHERE c.name = $1 AND c.generation <> $2), 0),
			(SELECT position FROM projections.checkpoints WHERE name = $1 AND generation = $2)`, p.Name(), next).Scan(&active, &nextCP); err != nil {
			return err
		}
		if nextCP < active {
			head, err := Head(ctx, client)
			if err != nil {
				return err
			}
			if uint64(active) <= head {
				return errBehind
			}
		}
		return activate(ctx, tx, p, next)
	})
}

// dropOlder drops the generations of p older than next, now live: the one it replaced (active) and
// any an earlier rebuild interrupted between its switch and this cleanup left, with their
// checkpoints and parked events (the rebuild met the same events again and parked those that still
// fail under the new generation).
func dropOlder(ctx context.Context, pool *pgxpool.Pool, p Projection, active, next int) error {
	rows, _ := pool.Query(ctx, "SELECT generation FROM projections.checkpoints WHERE name = $1 AND generation < $2", p.Name(), next)
	gens, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return fmt.Errorf("projections: old generations of %s: %w", p.Name(), err)
	}
	for _, g := range append(gens, active) {
		if _, err := pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+schemaName(p.Name(), g)+" CASCADE"); err != nil {
			return err
		}
	}
	if _, err := pool.Exec(ctx, "DELETE FROM projections.checkpoints WHERE name = $1 AND generation < $2", p.Name(), next); err != nil {
		return err
	}
	_, err = pool.Exec(ctx, "DELETE FROM projections.parked_events WHERE name = $1 AND generation < $2", p.Name(), next)
	return err
}
