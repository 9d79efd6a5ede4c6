package projections

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"
)

// idleStoreEvery bounds how often a worker whose read model matched nothing in a batch stores its
// position anyway: the registry row follows the slowest read model, and a resumed build reads the
// log again from there.
const idleStoreEvery = time.Second

// snapWorker applies one read model's events (or those of one lane of its streams) to a snapshot,
// batch after batch, on a connection of its own. Invariant: every event up to pos that the read model matches is applied in the
// snapshot's schema, and pos is stored in projections.snapshot_positions in the same transaction
// as the rows it covers (or, for a run of batches with nothing to apply, on its own).
type snapWorker struct {
	s        *Snapshots
	i        int
	p        Projection
	ap       Appender // p when it is one: its rows go in with COPY
	m        matcher
	key      string // its row in projections.snapshot_positions: the read model's name, with "#<lane>" for a lane
	lane     uint32 // of lanes: the streams it applies (see inLane)
	lanes    uint32
	snapshot string
	schema   string
	pos      uint64
	stored   time.Time // when pos was last stored
}

// workers returns one worker per read model, or per lane of a StreamPartitioned one, each at its
// stored position; one without a row (a build started before the positions were kept per read
// model) starts at the registry's. A resumed build keeps the lanes it started with.
func (s *Snapshots) workers(ctx context.Context, sn Snapshot) ([]*snapWorker, error) {
	rows, err := s.pool.Query(ctx, "SELECT projection, position FROM projections.snapshot_positions WHERE snapshot = $1", sn.Name)
	if err != nil {
		return nil, fmt.Errorf("projections: snapshot positions: %w", err)
	}
	stored := map[string]uint64{}
	for rows.Next() {
		var key string
		var p int64
		if err := rows.Scan(&key, &p); err != nil {
			rows.Close()
			return nil, err
		}
		stored[key] = uint64(p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []*snapWorker
	var keys []string
	for _, p := range s.ps {
		m, err := newMatcher(p.Filter())
		if err != nil {
			return nil, err
		}
		ap, _ := p.(Appender)
		lanes := s.lanes(p, stored)
		for lane := range lanes {
			key := p.Name()
			if lanes > 1 {
				key = fmt.Sprintf("%s#%d", p.Name(), lane)
			}
			keys = append(keys, key)
			out = append(out, &snapWorker{s: s, i: len(out), p: p, ap: ap, m: m, key: key, lane: uint32(lane), lanes: uint32(lanes),
				snapshot: sn.Name, schema: SnapshotSchema(sn.Name), pos: max(stored[key], sn.ReachedPosition), stored: time.Now()})
		}
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO projections.snapshot_positions (snapshot, projection, position)
		SELECT $1, unnest($2::text[]), $3 ON CONFLICT DO NOTHING`, sn.Name, keys, int64(sn.ReachedPosition)); err != nil {
		return nil, fmt.Errorf("projections: snapshot positions: %w", err)
	}
	return out, nil
}

// lanes is how many lanes p's streams are split over: those of the build's stored rows, else
// Lanes for a StreamPartitioned read model (1 for another, or when the build started with one row).
func (s *Snapshots) lanes(p Projection, stored map[string]uint64) int {
	if _, ok := p.(StreamPartitioned); !ok {
		return 1
	}
	if _, ok := stored[p.Name()]; ok {
		return 1
	}
	n := 0
	for n < 1024 {
		if _, ok := stored[fmt.Sprintf("%s#%d", p.Name(), n)]; !ok {
			break
		}
		n++
	}
	if n == 0 {
		n = max(s.Lanes, 1)
	}
	return n
}

// inLane reports whether the events of stream go to lane.
func (w *snapWorker) inLane(stream string) bool {
	if w.lanes <= 1 {
		return true
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(stream))
	return h.Sum32()%w.lanes == w.lane
}

// run applies the batches of in until it is closed, sending a mark each time the stored position
// reaches a batch's end. At most cap(sem) workers run a transaction at a time.
func (w *snapWorker) run(ctx context.Context, sem chan struct{}, in <-chan readBatch, marks chan<- snapMark) error {
	var last readBatch
	send := func(bt readBatch) error {
		if w.pos < bt.mark {
			return nil
		}
		select {
		case marks <- snapMark{worker: w.i, pos: bt.mark, count: bt.count}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for bt := range in {
		last = bt
		var evs []*esdb.RecordedEvent
		for _, ev := range bt.events {
			if ev.Position.Commit > w.pos && w.m.match(ev) && w.inLane(ev.StreamID) {
				evs = append(evs, ev)
			}
		}
		var err error
		switch {
		case len(evs) > 0:
			err = w.apply(ctx, sem, evs, bt.mark)
		case bt.mark > w.pos && time.Since(w.stored) >= idleStoreEvery:
			err = w.store(ctx, bt.mark)
		}
		if err == nil {
			err = send(bt)
		}
		if err != nil {
			return err
		}
	}
	if ctx.Err() != nil || last.mark <= w.pos {
		return ctx.Err()
	}
	// The log is read: what the read model did not match up to the end needs no transaction.
	if err := w.store(ctx, last.mark); err != nil {
		return err
	}
	return send(last)
}

// store moves the position over events the read model does not match.
func (w *snapWorker) store(ctx context.Context, mark uint64) error {
	if _, err := w.s.pool.Exec(ctx, `UPDATE projections.snapshot_positions SET position = $3, updated_at = now()
		WHERE snapshot = $1 AND projection = $2`, w.snapshot, w.key, int64(mark)); err != nil {
		return fmt.Errorf("projections: snapshot %s, %s: %w", w.snapshot, w.key, err)
	}
	w.pos, w.stored = mark, time.Now()
	return nil
}

// apply applies evs and moves the position to mark in one transaction. When that fails
// deterministically it applies them again, each event in its own savepoint, and counts what still
// fails as parked.
func (w *snapWorker) apply(ctx context.Context, sem chan struct{}, evs []*esdb.RecordedEvent, mark uint64) error {
	b := &pgx.Batch{}
	var rows [][]any
	var err error
	if ba, ok := w.p.(BatchApplier); ok && w.ap == nil {
		err = ba.ApplyBatch(b, w.schema, evs) // an error sends the batch to the isolated path below
	} else {
		for _, ev := range evs {
			if w.ap != nil {
				rows, err = w.ap.AppendRows(rows, ev)
			} else {
				err = w.p.Apply(b, w.schema, ev)
			}
			if err != nil {
				break
			}
		}
	}
	select {
	case sem <- struct{}{}:
		defer func() { <-sem }()
	case <-ctx.Done():
		return ctx.Err()
	}
	isolate := err != nil
	for {
		parked, err := w.tx(ctx, evs, b, rows, mark, isolate)
		if err == nil {
			w.pos, w.stored = mark, time.Now()
			return nil
		}
		if isolate || !deterministic(err) || ctx.Err() != nil {
			return fmt.Errorf("projections: snapshot %s, %s (%d parked): %w", w.snapshot, w.key, parked, err)
		}
		isolate = true
	}
}

// tx is one attempt of apply: the statements of b, or rows with COPY, or (isolate) each event in
// its own savepoint. The commit does not wait for the disk (synchronous_commit off): the snapshot
// can be rebuilt from the log, and a crash loses at most the last batches with their positions.
func (w *snapWorker) tx(ctx context.Context, evs []*esdb.RecordedEvent, b *pgx.Batch, rows [][]any, mark uint64,
	isolate bool) (parked int, err error) {
	err = pgx.BeginFunc(ctx, w.s.pool, func(tx pgx.Tx) error {
		parked = 0
		if isolate {
			b = &pgx.Batch{}
			for _, ev := range evs {
				if err := applyOne(ctx, tx, w.p, w.schema, ev); err != nil {
					if !deterministic(err) || ctx.Err() != nil {
						return err
					}
					parked++
				}
			}
		} else if len(rows) > 0 {
			table, cols := w.ap.AppendTable()
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{w.schema, table}, cols, pgx.CopyFromRows(rows)); err != nil {
				return err
			}
		}
		b.Queue("SET LOCAL synchronous_commit = off")
		b.Queue(`UPDATE projections.snapshot_positions SET position = $3, events = events + $4, parked = parked + $5, updated_at = now()
			WHERE snapshot = $1 AND projection = $2`, w.snapshot, w.key, int64(mark), len(evs), parked)
		return tx.SendBatch(ctx, b).Close()
	})
	return parked, err
}
