package projections

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain"
)

// Snapshots of the read models as of a past instant ("as of T").
//
// Invariants:
//   - Snapshot n lives in its own schema "snap_<n>" holding every read model's tables (each
//     projection's Setup, under the same table names as behind the rm views). It is built by
//     applying, in position order, every event from position 0 up to its target position — the
//     last event at or before the instant asked for — through the projections' own Apply, so it
//     holds what the live read models held once they had applied that event. Nothing outside the
//     snapshot's schema and its registry row is written, except what Apply itself writes outside
//     its schema (the accounts projection destroys the keys of users removed by then: the same,
//     idempotent statements the live projection ran when it applied those events).
//   - Each read model (or lane of the streams of a StreamPartitioned one) is applied on its own
//     connection and keeps its own reached position (projections.snapshot_positions), written in
//     the same transaction as the rows it covers; the registry row (projections.snapshots) carries
//     the least of them, written after them. An interrupted build reads the log again from the
//     registry's position and each read model skips what it has stored. A build is deterministic
//     (each read model's events in log order, the same statements; read models write disjoint
//     tables, lanes disjoint rows), so two snapshots of the same instant hold the same rows
//     whatever the generation of the live read models.
//   - One builder at a time per snapshot (a session advisory lock); deleting takes the same lock.
//   - Only a ready snapshot is served (SnapshotSchema via Serving) or exported; serving is
//     read-only by construction (the API refuses mutating operations that name one).
//   - Names are 1-41 lower-case letters, digits or underscores, starting with a letter: a name
//     is part of a schema name only once it matches.

// Snapshot states.
const (
	SnapshotBuilding = "building"
	SnapshotReady    = "ready"
	SnapshotFailed   = "failed"
)

// Errors of the snapshot registry; each says what to do.
var (
	ErrSnapshotNotFound = &domain.Error{Kind: domain.KindNotFound, Msg: "snapshot not found"}
	ErrSnapshotNotReady = &domain.Error{Kind: domain.KindConflict, Msg: "snapshot not ready"}
	ErrSnapshotExists   = &domain.Error{Kind: domain.KindConflict, Msg: "snapshot exists"}
	ErrSnapshotBusy     = &domain.Error{Kind: domain.KindConflict, Msg: "snapshot busy"}
	ErrBadSnapshot      = &domain.Error{Kind: domain.KindInvalid, Msg: "invalid snapshot request"}
)

// Snapshot is one row of the snapshot registry.
type Snapshot struct {
	Name            string     `json:"Name"`
	Schema          string     `json:"Schema"`
	AsOf            *time.Time `json:"AsOf,omitempty"`
	TargetPosition  uint64     `json:"TargetPosition"`
	ReachedPosition uint64     `json:"ReachedPosition"`
	// Progress is ReachedPosition/TargetPosition, from 0 to 1.
	Progress  float64   `json:"Progress"`
	Events    int64     `json:"EventsRead"`
	Parked    int       `json:"EventsParked"`
	Status    string    `json:"Status"`
	Error     string    `json:"Error,omitempty"`
	CreatedAt time.Time `json:"CreatedAt"`
	UpdatedAt time.Time `json:"UpdatedAt"`
	// versions are the read models' schema versions it was set up with (see Snapshots.versions;
	// nil: set up before they were kept).
	versions *string
}

// SnapshotSchema is the schema snapshot name is built in.
func SnapshotSchema(name string) string { return "snap_" + name }

// PositionAt finds the $all position of the last event committed at or before t in the log's own
// index (the embedded log's table); ok is false when there is none.
type PositionAt func(ctx context.Context, t time.Time) (pos uint64, ok bool, err error)

// Snapshots builds, serves, exports and deletes snapshots of a set of read models.
type Snapshots struct {
	pool   *pgxpool.Pool
	client *esdb.Client
	ps     []Projection
	// TimeIndex, when set, resolves a time without reading the log backwards through the client.
	TimeIndex PositionAt
	// Now is the clock that bounds AsOf (default time.Now).
	Now func() time.Time
	// BatchSize is the most events one build transaction applies (default 5000).
	BatchSize int
	// Parallel is the most transactions a build runs at a time, each on its own connection and
	// for its own read model (default 4).
	Parallel int
	// Lanes is how many connections a new build splits each StreamPartitioned read model's streams
	// over (default 2; a build keeps the lanes it started with when resumed).
	Lanes int
}

// NewSnapshots returns the snapshots of the read models ps (sorted by name: the order Setup and
// Apply run in is part of what makes two builds identical).
func NewSnapshots(pool *pgxpool.Pool, client *esdb.Client, ps []Projection) *Snapshots {
	ps = append([]Projection(nil), ps...)
	sort.Slice(ps, func(i, j int) bool { return ps[i].Name() < ps[j].Name() })
	return &Snapshots{pool: pool, client: client, ps: ps, Now: time.Now, BatchSize: 5000, Parallel: 4, Lanes: 2}
}

// checkName refuses a name that cannot be part of a schema name.
func checkName(name string) error {
	if !validName.MatchString(name) {
		return domain.Wrapf(ErrBadSnapshot, "snapshot name %q: use 1-41 lower-case letters, digits or underscores, starting with a letter", name)
	}
	return nil
}

// Resolve turns AsOf — an RFC 3339 time or a $all position — into the position of the last event
// at or before it, and the time asked for (nil for a position). A time before the first event or
// after now, or a position outside the log, is refused with what to ask for instead.
func (s *Snapshots) Resolve(ctx context.Context, asOf string) (uint64, *time.Time, error) {
	asOf = strings.TrimSpace(asOf)
	if asOf == "" {
		return 0, nil, domain.Wrapf(ErrBadSnapshot, "AsOf is required: an RFC 3339 time (2026-01-02T15:04:05Z) or a $all position")
	}
	first, err := s.firstEvent(ctx)
	if err != nil {
		return 0, nil, err
	}
	if first == nil {
		return 0, nil, domain.Wrapf(ErrBadSnapshot, "the event log is empty: there is no past to replay yet")
	}
	if pos, perr := strconv.ParseUint(asOf, 10, 64); perr == nil {
		head, err := Head(ctx, s.client)
		if err != nil {
			return 0, nil, err
		}
		if pos < first.Position.Commit || pos > head {
			return 0, nil, domain.Wrapf(ErrBadSnapshot, "position %d is outside the log: choose a position from %d (the first event) to %d (the head)",
				pos, first.Position.Commit, head)
		}
		return pos, nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, asOf)
	if err != nil {
		return 0, nil, domain.Wrapf(ErrBadSnapshot, "AsOf %q is neither an RFC 3339 time (2026-01-02T15:04:05Z) nor a $all position", asOf)
	}
	if now := s.Now(); t.After(now) {
		return 0, nil, domain.Wrapf(ErrBadSnapshot, "AsOf %s is in the future (now is %s): a snapshot shows the past",
			t.UTC().Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339))
	}
	if t.Before(first.CreatedDate) {
		return 0, nil, domain.Wrapf(ErrBadSnapshot, "AsOf %s is before the first event of the log (%s): choose a time at or after it",
			t.UTC().Format(time.RFC3339Nano), first.CreatedDate.UTC().Format(time.RFC3339Nano))
	}
	pos, ok, err := s.positionAt(ctx, t)
	if err == nil && !ok {
		err = domain.Wrapf(ErrBadSnapshot, "no event at or before %s", t.UTC().Format(time.RFC3339Nano))
	}
	t = t.UTC()
	return pos, &t, err
}

// firstEvent is the oldest event of the log (nil for an empty log).
func (s *Snapshots) firstEvent(ctx context.Context) (*esdb.RecordedEvent, error) {
	rs, err := s.client.ReadAll(ctx, esdb.ReadAllOptions{From: esdb.Start{}}, 1)
	if err != nil {
		return nil, fmt.Errorf("projections: read the first event: %w", err)
	}
	defer rs.Close()
	ev, err := rs.Recv()
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("projections: read the first event: %w", err)
	}
	return ev.Event, nil
}

// positionAt is the position of the last event committed at or before t: from the time index, or
// by reading $all backwards from the head through the client.
func (s *Snapshots) positionAt(ctx context.Context, t time.Time) (uint64, bool, error) {
	if s.TimeIndex != nil {
		return s.TimeIndex(ctx, t)
	}
	rs, err := s.client.ReadAll(ctx, esdb.ReadAllOptions{From: esdb.End{}, Direction: esdb.Backwards}, ^uint64(0))
	if err != nil {
		return 0, false, fmt.Errorf("projections: read the log backwards: %w", err)
	}
	defer rs.Close()
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return 0, false, nil
		}
		if err != nil {
			return 0, false, fmt.Errorf("projections: read the log backwards: %w", err)
		}
		if !ev.Event.CreatedDate.After(t) {
			return ev.Event.Position.Commit, true, nil
		}
	}
}

// Create registers snapshot name as of asOf (see Resolve) and creates its schema and empty tables;
// Build fills them. An empty name is "asof_<position>". A snapshot of that name and target that
// exists already is returned as it is (Build resumes it); one of another target is refused.
func (s *Snapshots) Create(ctx context.Context, name, asOf string) (Snapshot, error) {
	target, at, err := s.Resolve(ctx, asOf)
	if err != nil {
		return Snapshot{}, err
	}
	if name == "" {
		name = fmt.Sprintf("asof_%d", target)
	}
	if err := checkName(name); err != nil {
		return Snapshot{}, err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('belfry.projections.snapshots'))"); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO projections.snapshots (name, as_of, target_position) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO NOTHING`, name, at, int64(target))
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		return s.setup(ctx, tx, name)
	})
	if err != nil {
		return Snapshot{}, fmt.Errorf("projections: create snapshot %s: %w", name, err)
	}
	snap, err := s.Get(ctx, name)
	if err == nil && snap.TargetPosition != target {
		err = domain.Wrapf(ErrSnapshotExists, "snapshot %q exists as of position %d, not %d: delete it first or choose another name",
			name, snap.TargetPosition, target)
	}
	return snap, err
}

// setup (re)creates snapshot name's schema and empty tables, ready for a fast build: the tables
// unlogged (a snapshot is rebuilt from the log, not recovered from the WAL) and their secondary
// indexes (and the primary keys of the PositionKeyed read models) dropped, their definitions kept in
// the registry row to be created once at the end.
func (s *Snapshots) setup(ctx context.Context, tx pgx.Tx, name string) error {
	schema := SnapshotSchema(name)
	if _, err := tx.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE; CREATE SCHEMA "+schema); err != nil {
		return fmt.Errorf("projections: create schema %s: %w", schema, err)
	}
	for _, p := range s.ps {
		if err := p.Setup(ctx, tx, schema); err != nil {
			return fmt.Errorf("projections: setup %s in %s: %w", p.Name(), schema, err)
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
		if _, err := tx.Exec(ctx, "ALTER TABLE "+schema+"."+t+" SET UNLOGGED"); err != nil {
			return err
		}
	}
	rows, err = tx.Query(ctx, `SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
		JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
		ORDER BY 1`, schema)
	if err != nil {
		return err
	}
	var names []string
	defs := []string{} // never NULL: a set of read models may have no index to defer
	for rows.Next() {
		var idx, def string
		if err := rows.Scan(&idx, &def); err != nil {
			rows.Close()
			return err
		}
		names, defs = append(names, idx), append(defs, def)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, idx := range names {
		if _, err := tx.Exec(ctx, "DROP INDEX "+idx); err != nil {
			return err
		}
	}
	keys, err := s.deferKeys(ctx, tx, schema)
	if err != nil {
		return err
	}
	defs = append(defs, keys...)
	if _, err := tx.Exec(ctx, "DELETE FROM projections.snapshot_positions WHERE snapshot = $1", name); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE projections.snapshots SET deferred_indexes = $2, reached_position = 0, events = 0, parked = 0,
		versions = $3, updated_at = now() WHERE name = $1`, name, defs, s.versions())
	return err
}

// versions names the schema version of each read model ("name:version,…", in name order): a
// snapshot set up with other versions holds tables this code's stores and Apply do not match.
func (s *Snapshots) versions() string {
	parts := make([]string, len(s.ps))
	for i, p := range s.ps {
		parts[i] = p.Name() + ":" + strconv.Itoa(p.Version())
	}
	return strings.Join(parts, ",")
}

// current reports whether sn was set up with this code's read-model versions (or before they
// were kept).
func (s *Snapshots) current(sn Snapshot) bool {
	return sn.versions == nil || *sn.versions == s.versions()
}

// deferKeys drops the primary keys of the PositionKeyed read models' tables in schema and returns
// the statements that add them back (ALTER TABLE … ADD CONSTRAINT …, run by finishTable).
func (s *Snapshots) deferKeys(ctx context.Context, tx pgx.Tx, schema string) ([]string, error) {
	var defs []string
	for _, p := range s.ps {
		pk, ok := p.(PositionKeyed)
		if !ok {
			continue
		}
		table, _ := pk.AppendTable()
		qualified := schema + "." + table
		var name, def string
		err := tx.QueryRow(ctx, `SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
			WHERE conrelid = $1::regclass AND contype = 'p'`, qualified).Scan(&name, &def)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("projections: the key of %s: %w", qualified, err)
		}
		if _, err := tx.Exec(ctx, "ALTER TABLE "+qualified+" DROP CONSTRAINT "+pgx.Identifier{name}.Sanitize()); err != nil {
			return nil, err
		}
		defs = append(defs, "ALTER TABLE "+qualified+" ADD CONSTRAINT "+pgx.Identifier{name}.Sanitize()+" "+def)
	}
	return defs, nil
}

const snapshotCols = `name, as_of, target_position, reached_position, events, parked, status, error, created_at, updated_at, versions`

func scanSnapshot(row pgx.Row) (Snapshot, error) {
	var sn Snapshot
	var target, reached int64
	err := row.Scan(&sn.Name, &sn.AsOf, &target, &reached, &sn.Events, &sn.Parked, &sn.Status, &sn.Error, &sn.CreatedAt, &sn.UpdatedAt,
		&sn.versions)
	sn.Schema, sn.TargetPosition, sn.ReachedPosition = SnapshotSchema(sn.Name), uint64(target), uint64(reached)
	sn.Progress = 1
	if target > 0 && reached < target {
		sn.Progress = float64(reached) / float64(target)
	}
	if sn.AsOf != nil {
		*sn.AsOf = sn.AsOf.UTC()
	}
	sn.CreatedAt, sn.UpdatedAt = sn.CreatedAt.UTC(), sn.UpdatedAt.UTC()
	return sn, err
}

// Get returns snapshot name.
func (s *Snapshots) Get(ctx context.Context, name string) (Snapshot, error) {
	if checkName(name) != nil {
		return Snapshot{}, notFound(name)
	}
	sn, err := scanSnapshot(s.pool.QueryRow(ctx, "SELECT "+snapshotCols+" FROM projections.snapshots WHERE name = $1", name))
	if errors.Is(err, pgx.ErrNoRows) {
		return Snapshot{}, notFound(name)
	}
	if err != nil {
		return Snapshot{}, fmt.Errorf("projections: snapshot %s: %w", name, err)
	}
	return sn, nil
}

func notFound(name string) error {
	return domain.Wrapf(ErrSnapshotNotFound, "snapshot %q does not exist: list the snapshots (GET /belfry/v1/snapshots) or create it (belfry replay --as-of T --name %s)", name, name)
}

// List returns every snapshot, by name.
func (s *Snapshots) List(ctx context.Context) ([]Snapshot, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+snapshotCols+" FROM projections.snapshots ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("projections: list snapshots: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Snapshot, error) { return scanSnapshot(r) })
	if err != nil {
		return nil, fmt.Errorf("projections: list snapshots: %w", err)
	}
	return out, nil
}

// Pending lists the snapshots left building (by a build that was interrupted), to resume them.
func (s *Snapshots) Pending(ctx context.Context) ([]string, error) {
	all, err := s.List(ctx)
	var names []string
	for _, sn := range all {
		if sn.Status == SnapshotBuilding {
			names = append(names, sn.Name)
		}
	}
	return names, err
}

// Serving is the schema of snapshot name for WithSnapshot, when it is ready.
func (s *Snapshots) Serving(ctx context.Context, name string) (string, error) {
	sn, err := s.Get(ctx, name)
	if err != nil {
		return "", err
	}
	if err := ready(sn); err != nil {
		return "", err
	}
	if !s.current(sn) {
		return "", domain.Wrapf(ErrSnapshotNotReady, "snapshot %q was built by another version of the read models (%s, this one has %s): build it again (belfry replay --as-of %d --name %s starts it over) or delete it",
			sn.Name, *sn.versions, s.versions(), sn.TargetPosition, sn.Name)
	}
	return sn.Schema, nil
}

// ready refuses a snapshot that is not ready, saying why and what to do.
func ready(sn Snapshot) error {
	switch sn.Status {
	case SnapshotReady:
		return nil
	case SnapshotBuilding:
		return domain.Wrapf(ErrSnapshotNotReady, "snapshot %q is still building (position %d of %d): wait until its status is ready (GET /belfry/v1/snapshots/%s)",
			sn.Name, sn.ReachedPosition, sn.TargetPosition, sn.Name)
	default:
		return domain.Wrapf(ErrSnapshotNotReady, "snapshot %q failed (%s): build it again (belfry replay --as-of %d --name %s resumes it) or delete it",
			sn.Name, sn.Error, sn.TargetPosition, sn.Name)
	}
}

// Delete drops snapshot name, its schema and its registry row. A snapshot another process is
// building is refused (stop that build first).
func (s *Snapshots) Delete(ctx context.Context, name string) error {
	if _, err := s.Get(ctx, name); err != nil {
		return err
	}
	unlock, err := s.lock(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "DROP SCHEMA IF EXISTS "+SnapshotSchema(name)+" CASCADE"); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "DELETE FROM projections.snapshots WHERE name = $1", name)
		return err
	})
	if err != nil {
		return fmt.Errorf("projections: delete snapshot %s: %w", name, err)
	}
	return nil
}

// lock takes snapshot name's builder lock on a connection of its own; unlock releases both.
func (s *Snapshots) lock(ctx context.Context, name string) (unlock func(), err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock(hashtext('belfry.snapshot.' || $1))", name).Scan(&got); err != nil {
		conn.Release()
		return nil, err
	}
	if !got {
		conn.Release()
		return nil, domain.Wrapf(ErrSnapshotBusy, "snapshot %q is being built by another process: wait for it to finish or stop it first", name)
	}
	return func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(hashtext('belfry.snapshot.' || $1))", name)
		conn.Release()
	}, nil
}
