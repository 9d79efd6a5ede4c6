package projections

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"
)

// matcher is a projection's subscription filter applied to events read from $all, as the event log
// applies it to a subscription: a regex, when there is one, else the prefixes; over the stream name
// or, for an event-type filter, the event type.
type matcher struct {
	onType   bool
	prefixes []string
	re       *regexp.Regexp
}

func newMatcher(f *esdb.SubscriptionFilter) (matcher, error) {
	if f == nil {
		return matcher{}, nil
	}
	m := matcher{onType: f.Type == esdb.EventFilterType, prefixes: f.Prefixes}
	if f.Regex != "" {
		re, err := regexp.Compile(f.Regex)
		if err != nil {
			return m, fmt.Errorf("projections: filter regex %q: %w", f.Regex, err)
		}
		m.re = re
	}
	return m, nil
}

func (m matcher) match(ev *esdb.RecordedEvent) bool {
	s := ev.StreamID
	if m.onType {
		s = ev.EventType
	}
	if m.re != nil {
		return m.re.MatchString(s)
	}
	if m.prefixes == nil {
		return !strings.HasPrefix(ev.EventType, "$") // no filter: every event but system events
	}
	for _, p := range m.prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// SnapshotProgress receives a build's progress each time every read model has gone past another batch.
type SnapshotProgress func(Snapshot)

// Build builds snapshot name (see Create) up to its target, resuming each read model from the
// position it reached, and marks it ready; progress, when set, is called as the build moves. A
// build that fails on the database or the log marks the snapshot failed (Build again resumes it);
// one whose ctx ends leaves it building, to be resumed. Events a read model cannot apply (a
// deterministic failure, see Runner) are skipped and counted, as the live runner parks them.
func (s *Snapshots) Build(ctx context.Context, name string, progress SnapshotProgress) error {
	sn, err := s.Get(ctx, name)
	if err != nil {
		return err
	}
	if sn.Status == SnapshotReady && s.current(sn) {
		return nil
	}
	unlock, err := s.lock(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	if sn, err = s.restart(ctx, sn); err != nil {
		return fmt.Errorf("projections: build snapshot %s: %w", name, err)
	}
	err = s.fill(ctx, sn, progress)
	if err == nil {
		err = s.finish(ctx, sn)
	}
	if err != nil && ctx.Err() == nil {
		_, _ = s.pool.Exec(context.WithoutCancel(ctx), "UPDATE projections.snapshots SET status = 'failed', error = $2, updated_at = now() WHERE name = $1",
			name, errorText(err))
	}
	if err != nil {
		return fmt.Errorf("projections: build snapshot %s (resumable): %w", name, err)
	}
	if progress != nil {
		if sn, err = s.Get(ctx, name); err == nil {
			progress(sn)
		}
	}
	return nil
}

// restart marks sn building again. Its tables are unlogged while it builds, and PostgreSQL empties
// unlogged tables when it recovers from a crash: when the server has started since the build last
// moved (the registry row or any read model's position), the build starts over from position 0.
// So does one set up with other read-model versions (see versions): this code's statements do not
// fit the other version's tables.
func (s *Snapshots) restart(ctx context.Context, sn Snapshot) (Snapshot, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var restarted bool
		if err := tx.QueryRow(ctx, `SELECT reached_position > 0 AND pg_postmaster_start_time() > updated_at
			OR EXISTS (SELECT 1 FROM projections.snapshot_positions p WHERE p.snapshot = s.name AND p.position > 0
				AND pg_postmaster_start_time() > p.updated_at)
			OR versions IS DISTINCT FROM $2
			FROM projections.snapshots s WHERE name = $1 FOR UPDATE`, sn.Name, s.versions()).Scan(&restarted); err != nil {
			return err
		}
		if restarted {
			if err := s.setup(ctx, tx, sn.Name); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, "UPDATE projections.snapshots SET status = 'building', error = '', updated_at = now() WHERE name = $1", sn.Name)
		return err
	})
	if err != nil {
		return sn, err
	}
	return s.Get(ctx, sn.Name)
}

// readBatch is a run of events of the log in position order, shared read-only by every worker.
type readBatch struct {
	events []*esdb.RecordedEvent
	mark   uint64 // the last position read (the target, for the last batch)
	count  int64  // the events read from position 0 through mark
}

// snapMark says that a worker's read model has stored every event up to pos.
type snapMark struct {
	worker int
	pos    uint64
	count  int64 // the events read from position 0 through pos
}

// fill reads $all from the reached position to the target once and hands every batch to one worker
// per read model, each applying its own events on its own connection and storing its own position
// (see snapWorker); the read models are independent, so they move in parallel, at most Parallel
// transactions at a time. The registry row follows the slowest of them (track).
func (s *Snapshots) fill(ctx context.Context, sn Snapshot, progress SnapshotProgress) error {
	if sn.ReachedPosition >= sn.TargetPosition {
		return nil
	}
	workers, err := s.workers(ctx, sn)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	marks := make(chan snapMark, len(workers))
	ins := make([]chan readBatch, len(workers))
	sem := make(chan struct{}, max(s.Parallel, 1))
	for i, w := range workers {
		ins[i] = make(chan readBatch, 2)
		g.Go(func() error { return w.run(gctx, sem, ins[i], marks) })
	}
	g.Go(func() error { return s.read(gctx, sn, ins) })
	waited := make(chan error, 1)
	go func() {
		err := g.Wait()
		close(marks)
		waited <- err
	}()
	err = s.track(ctx, sn, len(workers), marks, progress)
	if err != nil {
		cancel()
		for range marks {
		}
	}
	if werr := <-waited; err == nil {
		err = werr
	}
	return err
}

// track follows the workers' marks and moves the registry row to the slowest read model's position
// (with the events read up to it and the events parked so far), calling progress each time. It
// stops at the first progress after ctx ends, leaving the row where the build is known to be.
func (s *Snapshots) track(ctx context.Context, sn Snapshot, n int, marks <-chan snapMark, progress SnapshotProgress) error {
	at := make([]snapMark, n)
	for i := range at {
		at[i] = snapMark{pos: sn.ReachedPosition, count: sn.Events}
	}
	for m := range marks {
		at[m.worker] = m
	drain:
		for {
			select {
			case m, ok := <-marks:
				if !ok {
					break drain
				}
				at[m.worker] = m
			default:
				break drain
			}
		}
		low := at[0]
		for _, a := range at[1:] {
			if a.pos < low.pos {
				low = a
			}
		}
		if low.pos <= sn.ReachedPosition {
			continue
		}
		err := s.pool.QueryRow(ctx, `UPDATE projections.snapshots SET reached_position = $2, events = $3, updated_at = now(),
			parked = (SELECT coalesce(sum(parked), 0) FROM projections.snapshot_positions WHERE snapshot = $1)
			WHERE name = $1 RETURNING parked`, sn.Name, int64(low.pos), low.count).Scan(&sn.Parked)
		if err != nil {
			return fmt.Errorf("projections: snapshot progress: %w", err)
		}
		sn.ReachedPosition, sn.Events = low.pos, low.count
		if progress != nil {
			sn.Progress = float64(sn.ReachedPosition) / float64(sn.TargetPosition)
			progress(sn)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

// read sends the events after sn's reached position up to its target to every worker, in batches
// of BatchSize, and closes the channels.
func (s *Snapshots) read(ctx context.Context, sn Snapshot, outs []chan readBatch) error {
	defer func() {
		for _, o := range outs {
			close(o)
		}
	}()
	var from esdb.AllPosition = esdb.Start{}
	if sn.ReachedPosition > 0 {
		from = esdb.Position{Commit: sn.ReachedPosition + 1, Prepare: sn.ReachedPosition + 1}
	}
	rs, err := s.client.ReadAll(ctx, esdb.ReadAllOptions{From: from}, ^uint64(0))
	if err != nil {
		return fmt.Errorf("projections: read $all: %w", err)
	}
	defer rs.Close()
	bt := readBatch{mark: sn.ReachedPosition, count: sn.Events}
	flush := func() bool {
		for _, o := range outs {
			select {
			case o <- bt:
			case <-ctx.Done():
				return false
			}
		}
		bt = readBatch{mark: bt.mark, count: bt.count, events: make([]*esdb.RecordedEvent, 0, s.BatchSize)}
		return true
	}
	for {
		re, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("projections: read $all: %w", err)
		}
		ev := re.Event
		if ev == nil || ev.Position.Commit <= sn.ReachedPosition {
			continue
		}
		if ev.Position.Commit > sn.TargetPosition {
			break
		}
		bt.events, bt.mark, bt.count = append(bt.events, ev), ev.Position.Commit, bt.count+1
		if len(bt.events) >= s.BatchSize && !flush() {
			return ctx.Err()
		}
	}
	if len(bt.events) > 0 && !flush() {
		return ctx.Err()
	}
	if bt.mark < sn.TargetPosition {
		// The log ended before the target (a position between events, or past the last one): the
		// snapshot reaches its target with what there is.
		bt.mark = sn.TargetPosition
		if !flush() {
			return ctx.Err()
		}
	}
	return nil
}

// finish makes each table logged (from then on it survives a crash like any table; PostgreSQL
// rewrites it and rebuilds its key), then creates its deferred indexes and refreshes its planner
// statistics — in that order, so that no index is built twice — in one transaction per table, at
// most Parallel at a time; then it marks the snapshot ready. Every step is idempotent: a finish that
// fails halfway is completed by building again, and only a ready snapshot is served.
func (s *Snapshots) finish(ctx context.Context, sn Snapshot) error {
	schema := SnapshotSchema(sn.Name)
	var defs []string
	if err := s.pool.QueryRow(ctx, "SELECT deferred_indexes FROM projections.snapshots WHERE name = $1", sn.Name).Scan(&defs); err != nil {
		return err
	}
	rows, err := s.pool.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename`, schema)
	if err != nil {
		return err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(s.Parallel, 1))
	assigned := 0
	for _, t := range tables {
		var own []string
		for _, d := range defs {
			if strings.Contains(d, " ON "+schema+"."+t+" ") || strings.HasPrefix(d, "ALTER TABLE "+schema+"."+t+" ") {
				own = append(own, d)
			}
		}
		assigned += len(own)
		g.Go(func() error { return s.finishTable(gctx, schema, t, own) })
	}
	if assigned != len(defs) {
		_ = g.Wait()
		return fmt.Errorf("projections: %d of the deferred indexes of %s are on no table of it", len(defs)-assigned, schema)
	}
	if err := g.Wait(); err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `UPDATE projections.snapshots SET status = 'ready', reached_position = target_position,
		deferred_indexes = '{}', updated_at = now() WHERE name = $1`, sn.Name)
	return err
}

// addKey runs def, the ALTER TABLE that adds table's deferred primary key, unless the table has one
// (a finish that failed after this table's transaction committed, run again).
func addKey(ctx context.Context, tx pgx.Tx, table, def string) error {
	var has bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p')",
		table).Scan(&has); err != nil || has {
		return err
	}
	if _, err := tx.Exec(ctx, def); err != nil {
		return fmt.Errorf("projections: key %s: %w", def, err)
	}
	return nil
}

// finishTable makes table logged, creates its deferred indexes (defs, from pg_get_indexdef) and
// primary key (deferKeys) unless they exist, and analyzes it, in one transaction.
func (s *Snapshots) finishTable(ctx context.Context, schema, table string, defs []string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "ALTER TABLE "+schema+"."+table+" SET LOGGED"); err != nil {
			return fmt.Errorf("projections: log %s.%s: %w", schema, table, err)
		}
		for _, d := range defs {
			if strings.HasPrefix(d, "ALTER TABLE ") {
				if err := addKey(ctx, tx, schema+"."+table, d); err != nil {
					return err
				}
				continue
			}
			d = strings.Replace(strings.Replace(d, "CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1),
				"CREATE UNIQUE INDEX ", "CREATE UNIQUE INDEX IF NOT EXISTS ", 1)
			if _, err := tx.Exec(ctx, d); err != nil {
				return fmt.Errorf("projections: index %s: %w", d, err)
			}
		}
		if _, err := tx.Exec(ctx, "ANALYZE "+schema+"."+table); err != nil {
			return fmt.Errorf("projections: analyze %s.%s: %w", schema, table, err)
		}
		return nil
	})
}
