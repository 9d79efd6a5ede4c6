package eventstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Snapshot is the encoded state of a stream after the event at Revision.
type Snapshot struct {
	Revision int64
	// EventID is the id of the event at Revision: a stream that no longer holds that event there
	// (deleted and recreated, or another log) is not the stream that was snapshotted.
	EventID uuid.UUID
	Version int // the codec's schema version
	Data    []byte
}

// SnapshotStore keeps the latest snapshot of each stream. A snapshot is a cache of the log: a store
// may lose or refuse any of them.
type SnapshotStore interface {
	// LoadSnapshot returns the stream's snapshot; false when it has none.
	LoadSnapshot(ctx context.Context, stream string) (Snapshot, bool, error)
	// SaveSnapshot replaces the stream's snapshot.
	SaveSnapshot(ctx context.Context, stream string, s Snapshot) error
}

// SnapshotHeadStore is a SnapshotStore that tells a snapshot's revision, event id and version (its
// head) before its data arrive, so that a load reads the events after the snapshot while the data are
// still being fetched.
type SnapshotHeadStore interface {
	SnapshotStore
	// LoadSnapshotAfterHead is LoadSnapshot that first calls head with the snapshot, without its Data,
	// when there is one. The snapshot it returns may be a later one than head's (saved in between).
	LoadSnapshotAfterHead(ctx context.Context, stream string, head func(Snapshot)) (Snapshot, bool, error)
}

// SnapshotCodec encodes the states of one aggregate type (pure; the domain package provides it).
// Version changes whenever the encoding does: snapshots of other versions are ignored.
type SnapshotCodec[S any] interface {
	Version() int
	Encode(S) ([]byte, error)
	// Decode may keep references into its argument: the repository never modifies a fetched
	// snapshot's bytes after handing them over.
	Decode([]byte) (S, error)
}

// DefaultSnapshotEvery is the default distance, in events, between two snapshots of a stream.
//
// It bounds the tail a load folds after a snapshot: up to 999 events, read and decoded while the
// snapshot is fetched and decoded (the store tells the snapshot's revision before its data), so that
// a 100,000-user account loads in well under 50 ms after a start, even after a crash (README
// "Snapshots"); a clean stop leaves no tail at all (SnapshotCached). Streams shorter than this are
// never snapshotted. The price is paid by large streams only: a 100,000-user account's snapshot
// (about 8 MB) is encoded and written once per 1,000 commands on it, about 8 KB per event, against
// the 1.5 s fold it saves.
const DefaultSnapshotEvery = 1000

// DefaultSnapshotInterval is the default least time between two snapshots of a stream taken by one
// repository. It bounds what snapshots cost a stream under heavy writes: at 1,000 commands/s on one
// 100,000-user account, a snapshot every 1,000 events would encode 8 MB under the stream's lock and
// write it to Postgres every second; at most one per 5 s keeps that to a few per cent of the stream's
// time, and leaves a longer tail only to a restart in the middle of such a burst.
const DefaultSnapshotInterval = 5 * time.Second

// maxSnapshotWrites bounds the snapshot writes in flight in one repository; a snapshot that finds
// them all busy is skipped (the next command on its stream tries again).
const maxSnapshotWrites = 4

// Snapshots configures the snapshots of a Repository (WithSnapshots).
type Snapshots[S any] struct {
	Store SnapshotStore
	Codec SnapshotCodec[S]
	// Every is the distance in events between two snapshots of a stream (default DefaultSnapshotEvery).
	Every int64
	// Interval is the least time between two snapshots of a stream (default DefaultSnapshotInterval;
	// negative: none).
	Interval time.Duration
	// Logger reports snapshots that fail or are found damaged (default slog.Default()).
	Logger *slog.Logger
}

// SnapshotStats counts what a repository's snapshots did.
type SnapshotStats struct {
	Used    int64 // loads that started from a snapshot
	Ignored int64 // snapshots of another codec version, or of events the stream no longer holds
	Corrupt int64 // snapshots that failed to decode
	Taken   int64 // snapshots written
	Failed  int64 // snapshots that could not be read, encoded or written
}

// snapshotter takes and reads the snapshots of one repository.
type snapshotter[S any] struct {
	cfg Snapshots[S]

	mu       sync.Mutex
	inflight map[string]bool // streams whose snapshot is being written
	wg       sync.WaitGroup

	used, ignored, corrupt, taken, failed atomic.Int64
}

// WithSnapshots makes the repository start loads from snapshots and take them as streams grow; call
// it before the repository is used. Loads fall back to folding the whole stream whenever a snapshot
// is missing, of another version, damaged or not of this stream's events.
func (r *Repository[S, C, E]) WithSnapshots(cfg Snapshots[S]) *Repository[S, C, E] {
	if cfg.Every <= 0 {
		cfg.Every = DefaultSnapshotEvery
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultSnapshotInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	r.snaps = &snapshotter[S]{cfg: cfg, inflight: map[string]bool{}}
	return r
}

// SnapshotStats returns the counts of the repository's snapshots (zero without WithSnapshots).
func (r *Repository[S, C, E]) SnapshotStats() SnapshotStats {
	sn := r.snaps
	if sn == nil {
		return SnapshotStats{}
	}
	return SnapshotStats{Used: sn.used.Load(), Ignored: sn.ignored.Load(), Corrupt: sn.corrupt.Load(), Taken: sn.taken.Load(), Failed: sn.failed.Load()}
}

// WaitSnapshots waits for the snapshot writes in flight.
func (r *Repository[S, C, E]) WaitSnapshots() {
	if r.snaps != nil {
		r.snaps.wg.Wait()
	}
}

// fetch returns the stream's snapshot when there is one of this codec's version. A SnapshotHeadStore
// calls head before the data arrive, with the snapshot's head when its version is the codec's.
func (sn *snapshotter[S]) fetch(ctx context.Context, stream string, head func(Snapshot)) (Snapshot, bool) {
	var snap Snapshot
	var ok bool
	var err error
	if hs, isHS := sn.cfg.Store.(SnapshotHeadStore); isHS {
		snap, ok, err = hs.LoadSnapshotAfterHead(ctx, stream, func(h Snapshot) {
			if h.Version == sn.cfg.Codec.Version() {
				head(h)
			}
		})
	} else {
		snap, ok, err = sn.cfg.Store.LoadSnapshot(ctx, stream)
	}
	if err != nil {
		sn.failed.Add(1)
		sn.cfg.Logger.Warn("eventstore: snapshot unreadable, folding the whole stream", "stream", stream, "err", err)
		return snap, false
	}
	if !ok {
		return snap, false
	}
	if snap.Version != sn.cfg.Codec.Version() {
		sn.ignored.Add(1)
		return snap, false
	}
	return snap, true
}

// decode decodes a snapshot fetch returned; false when it does not decode.
func (sn *snapshotter[S]) decode(stream string, snap Snapshot) (S, bool) {
	s, err := sn.cfg.Codec.Decode(snap.Data)
	if err != nil {
		sn.corrupt.Add(1)
		sn.cfg.Logger.Warn("eventstore: snapshot does not decode, folding the whole stream", "stream", stream, "revision", snap.Revision, "err", err)
		return s, false
	}
	return s, true
}

// takeIfDue encodes the state of c when the stream has moved Every events past its last snapshot
// (and Interval has passed since this repository took one), and writes it in the background. The caller holds the stream's lock, so nothing evolves the state
// while it is encoded; the write never blocks a command. It returns c with the revision of its last
// snapshot updated: a snapshot that fails is not retried before another Every events.
func (sn *snapshotter[S]) takeIfDue(stream string, c cached[S]) cached[S] {
	if c.revision-c.snapRev < sn.cfg.Every || c.lastID == uuid.Nil || time.Since(c.snapAt) < sn.cfg.Interval {
		return c
	}
	sn.mu.Lock()
	busy := sn.inflight[stream] || len(sn.inflight) >= maxSnapshotWrites
	if !busy {
		sn.inflight[stream] = true
	}
	sn.mu.Unlock()
	if busy {
		return c
	}
	c.snapRev, c.snapAt = c.revision, time.Now()
	data, err := sn.encode(c.state)
	if err != nil {
		sn.done(stream)
		sn.failed.Add(1)
		sn.cfg.Logger.Warn("eventstore: snapshot does not encode", "stream", stream, "revision", c.revision, "err", err)
		return c
	}
	snap := Snapshot{Revision: c.revision, EventID: c.lastID, Version: sn.cfg.Codec.Version(), Data: data}
	sn.wg.Add(1)
	go func() {
		defer sn.wg.Done()
		defer sn.done(stream)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := sn.cfg.Store.SaveSnapshot(ctx, stream, snap); err != nil {
			sn.failed.Add(1)
			sn.cfg.Logger.Warn("eventstore: snapshot not written", "stream", stream, "revision", snap.Revision, "err", err)
			return
		}
		sn.taken.Add(1)
	}()
	return c
}

// encode runs the codec, turning a panic of it into an error (a broken codec must not fail commands).
func (sn *snapshotter[S]) encode(s S) (b []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("eventstore: snapshot codec panicked: %v", p)
		}
	}()
	return sn.cfg.Codec.Encode(s)
}

func (sn *snapshotter[S]) done(stream string) {
	sn.mu.Lock()
	delete(sn.inflight, stream)
	sn.mu.Unlock()
}

// errStaleSnapshot reports a snapshot whose last event the stream no longer holds at its revision.
var errStaleSnapshot = errors.New("eventstore: the stream no longer holds the snapshot's last event")

// PGSnapshots keeps snapshots in the table eventstore.snapshots (migration 0013).
type PGSnapshots struct{ pool *pgxpool.Pool }

// NewSnapshotStore returns the Postgres snapshot store of pool's database.
func NewSnapshotStore(pool *pgxpool.Pool) *PGSnapshots { return &PGSnapshots{pool: pool} }

// LoadSnapshot implements SnapshotStore.
func (p *PGSnapshots) LoadSnapshot(ctx context.Context, stream string) (Snapshot, bool, error) {
	var s Snapshot
	err := p.pool.QueryRow(ctx, `SELECT revision, event_id, version, data FROM eventstore.snapshots WHERE stream = $1`, stream).
		Scan(&s.Revision, &s.EventID, &s.Version, &s.Data)
	if errors.Is(err, pgx.ErrNoRows) {
		return Snapshot{}, false, nil
	}
	if err != nil {
		return Snapshot{}, false, fmt.Errorf("eventstore: load snapshot of %s: %w", stream, err)
	}
	return s, true, nil
}

// LoadSnapshotAfterHead implements SnapshotHeadStore: the head and the whole row are two statements
// of one batch (one round trip); the head is scanned while the data (megabytes for a large account)
// are still on their way.
func (p *PGSnapshots) LoadSnapshotAfterHead(ctx context.Context, stream string, head func(Snapshot)) (Snapshot, bool, error) {
	b := &pgx.Batch{}
	b.Queue(`SELECT revision, event_id, version FROM eventstore.snapshots WHERE stream = $1`, stream)
	b.Queue(`SELECT revision, event_id, version, data FROM eventstore.snapshots WHERE stream = $1`, stream)
	br := p.pool.SendBatch(ctx, b)
	defer br.Close()
	var h, s Snapshot
	err := br.QueryRow().Scan(&h.Revision, &h.EventID, &h.Version)
	if err == nil {
		head(h)
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return Snapshot{}, false, fmt.Errorf("eventstore: load snapshot of %s: %w", stream, err)
	}
	err = br.QueryRow().Scan(&s.Revision, &s.EventID, &s.Version, &s.Data)
	if errors.Is(err, pgx.ErrNoRows) {
		return Snapshot{}, false, nil
	}
	if err != nil {
		return Snapshot{}, false, fmt.Errorf("eventstore: load snapshot of %s: %w", stream, err)
	}
	return s, true, nil
}

// SaveSnapshot implements SnapshotStore. The last write wins, even an older revision from another
// process: every snapshot whose event the stream holds is correct, an older one only leaves a longer
// tail; and a snapshot left by a stream that no longer holds its event is replaced the same way.
func (p *PGSnapshots) SaveSnapshot(ctx context.Context, stream string, s Snapshot) error {
	_, err := p.pool.Exec(ctx, `INSERT INTO eventstore.snapshots (stream, revision, event_id, version, data) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (stream) DO UPDATE SET revision = excluded.revision, event_id = excluded.event_id, version = excluded.version,
			data = excluded.data, taken_at = now()`, stream, s.Revision, s.EventID, s.Version, s.Data)
	if err != nil {
		return fmt.Errorf("eventstore: save snapshot of %s: %w", stream, err)
	}
	return nil
}
