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

// snapBatch is a run of events in position order and the statements applying them.
type snapBatch struct {
	events []*esdb.RecordedEvent
	b      *pgx.Batch
	mark   uint64 // the last position read
	err    error  // an Apply error: the batch is applied again event by event
}

// SnapshotProgress receives a build's progress after each batch.
type SnapshotProgress func(Snapshot)

// Build builds snapshot name (see Create) up to its target, resuming from its reached position,
// and marks it ready; progress, when set, is called after every batch. A build that fails on the
// database or the log marks the snapshot failed (Build again resumes it); one whose ctx ends
// leaves it building, to be resumed. Events a read model cannot apply (a deterministic failure,
// see Runner) are skipped and counted, as the live runner parks them.
func (s *Snapshots) Build(ctx context.Context, name string, progress SnapshotProgress) error {
	sn, err := s.Get(ctx, name)
	if err != nil {
		return err
	}
	if sn.Status == SnapshotReady {
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
// moved, the build starts over from position 0.
func (s *Snapshots) restart(ctx context.Context, sn Snapshot) (Snapshot, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var restarted bool
		if err := tx.QueryRow(ctx, `SELECT reached_position > 0 AND pg_postmaster_start_time() > updated_at FROM projections.snapshots
			WHERE name = $1 FOR UPDATE`, sn.Name).Scan(&restarted); err != nil {
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

// fill reads $all from the reached position to the target and applies it, batch by batch: the
// statements of the next batch are queued while the database applies the previous one.
func (s *Snapshots) fill(ctx context.Context, sn Snapshot, progress SnapshotProgress) error {
	if sn.ReachedPosition >= sn.TargetPosition {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan snapBatch, 2)
	readErr := make(chan error, 1)
	go func() { readErr <- s.read(ctx, sn, batches) }()
	for bt := range batches {
		parked, err := s.applySnapBatch(ctx, sn, bt)
		if err != nil {
			cancel()
			for range batches {
			}
			<-readErr
			return err
		}
		sn.ReachedPosition, sn.Events, sn.Parked = bt.mark, sn.Events+int64(len(bt.events)), sn.Parked+parked
		if progress != nil {
			sn.Progress = float64(sn.ReachedPosition) / float64(sn.TargetPosition)
			progress(sn)
		}
	}
	return <-readErr
}

// read sends the events after sn's reached position up to its target in batches, with their
// statements queued, and closes batches.
func (s *Snapshots) read(ctx context.Context, sn Snapshot, batches chan<- snapBatch) error {
	defer close(batches)
	matchers := make([]matcher, len(s.ps))
	for i, p := range s.ps {
		m, err := newMatcher(p.Filter())
		if err != nil {
			return err
		}
		matchers[i] = m
	}
	var from esdb.AllPosition = esdb.Start{}
	if sn.ReachedPosition > 0 {
		from = esdb.Position{Commit: sn.ReachedPosition + 1, Prepare: sn.ReachedPosition + 1}
	}
	rs, err := s.client.ReadAll(ctx, esdb.ReadAllOptions{From: from}, ^uint64(0))
	if err != nil {
		return fmt.Errorf("projections: read $all: %w", err)
	}
	defer rs.Close()
	schema := SnapshotSchema(sn.Name)
	bt := snapBatch{b: &pgx.Batch{}}
	flush := func() bool {
		select {
		case batches <- bt:
			bt = snapBatch{b: &pgx.Batch{}}
			return true
		case <-ctx.Done():
			return false
		}
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
		bt.events, bt.mark = append(bt.events, ev), ev.Position.Commit
		for i, p := range s.ps {
			if bt.err == nil && matchers[i].match(ev) {
				if err := p.Apply(bt.b, schema, ev); err != nil {
					bt.err = &applyError{ev: ev, err: err}
				}
			}
		}
		if len(bt.events) >= s.BatchSize && !flush() {
			return ctx.Err()
		}
	}
	if len(bt.events) > 0 && !flush() {
		return ctx.Err()
	}
	if bt.mark < sn.TargetPosition && sn.ReachedPosition < sn.TargetPosition {
		// The log ended before the target (only a position past the events of a log whose head
		// moved back, which cannot happen): the snapshot reaches its target with what there is.
		bt = snapBatch{b: &pgx.Batch{}, mark: sn.TargetPosition}
		if !flush() {
			return ctx.Err()
		}
	}
	return nil
}

// applySnapBatch applies one batch and moves the reached position in one transaction. The
// snapshot can be rebuilt from the log, so the commit does not wait for the disk
// (synchronous_commit off): a crash loses at most the last batches, whose reached position goes
// with them. When the batch fails deterministically it is applied again, each event of each read
// model in its own savepoint, and what still fails is counted as parked.
func (s *Snapshots) applySnapBatch(ctx context.Context, sn Snapshot, bt snapBatch) (parked int, err error) {
	isolate := bt.err != nil
	for {
		err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			parked = 0
			b := bt.b
			if isolate {
				b = &pgx.Batch{}
				var err error
				if parked, err = s.applyIsolated(ctx, tx, sn, bt.events); err != nil {
					return err
				}
			}
			b.Queue("SET LOCAL synchronous_commit = off")
			b.Queue(`UPDATE projections.snapshots SET reached_position = $2, events = events + $3, parked = parked + $4, updated_at = now()
				WHERE name = $1`, sn.Name, int64(bt.mark), len(bt.events), parked)
			return tx.SendBatch(ctx, b).Close()
		})
		if isolate || !deterministic(err) || ctx.Err() != nil {
			return parked, err
		}
		isolate = true
	}
}

// applyIsolated applies each event of each matching read model in its own savepoint.
func (s *Snapshots) applyIsolated(ctx context.Context, tx pgx.Tx, sn Snapshot, events []*esdb.RecordedEvent) (parked int, err error) {
	schema := SnapshotSchema(sn.Name)
	for _, p := range s.ps {
		m, err := newMatcher(p.Filter())
		if err != nil {
			return 0, err
		}
		for _, ev := range events {
			if !m.match(ev) {
				continue
			}
			if err := applyOne(ctx, tx, p, schema, ev); err != nil {
				if !deterministic(err) || ctx.Err() != nil {
					return 0, err
				}
				parked++
			}
		}
	}
	return parked, nil
}

// finish creates the deferred indexes, makes the tables logged (from then on the snapshot survives
// a crash like any table), refreshes their planner statistics and marks the snapshot ready, in one
// transaction.
func (s *Snapshots) finish(ctx context.Context, sn Snapshot) error {
	schema := SnapshotSchema(sn.Name)
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var defs []string
		if err := tx.QueryRow(ctx, "SELECT deferred_indexes FROM projections.snapshots WHERE name = $1 FOR UPDATE", sn.Name).Scan(&defs); err != nil {
			return err
		}
		for _, d := range defs {
			if _, err := tx.Exec(ctx, d); err != nil {
				return fmt.Errorf("projections: index %s: %w", d, err)
			}
		}
		rows, err := tx.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename`, schema)
		if err != nil {
			return err
		}
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, t := range tables {
			if _, err := tx.Exec(ctx, "ALTER TABLE "+schema+"."+t+" SET LOGGED"); err != nil {
				return fmt.Errorf("projections: log %s.%s: %w", schema, t, err)
			}
			if _, err := tx.Exec(ctx, "ANALYZE "+schema+"."+t); err != nil {
				return fmt.Errorf("projections: analyze %s.%s: %w", schema, t, err)
			}
		}
		_, err = tx.Exec(ctx, `UPDATE projections.snapshots SET status = 'ready', reached_position = target_position,
			deferred_indexes = '{}', updated_at = now() WHERE name = $1`, sn.Name)
		return err
	})
}
