package projections

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// createGeneration creates schema and tables for generation gen and its checkpoint row.
func createGeneration(ctx context.Context, tx pgx.Tx, p Projection, gen int) error {
	schema := schemaName(p.Name(), gen)
	if _, err := tx.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE; CREATE SCHEMA "+schema); err != nil {
		return fmt.Errorf("projections: create schema %s: %w", schema, err)
	}
	if err := p.Setup(ctx, tx, schema); err != nil {
		return fmt.Errorf("projections: setup %s: %w", schema, err)
	}
	_, err := tx.Exec(ctx, `INSERT INTO projections.checkpoints (name, generation, version) VALUES ($1, $2, $3)
		ON CONFLICT (name, generation) DO UPDATE SET position = 0, events = 0, version = $3, updated_at = now()`,
		p.Name(), gen, p.Version())
	if err == nil {
		_, err = tx.Exec(ctx, "DELETE FROM projections.parked_events WHERE name = $1 AND generation = $2", p.Name(), gen)
	}
	return err
}

// activate points the rm views at generation gen and records it as active.
func activate(ctx context.Context, tx pgx.Tx, p Projection, gen int) error {
	schema := schemaName(p.Name(), gen)
	for _, t := range p.Tables() {
		if _, err := tx.Exec(ctx, fmt.Sprintf("DROP VIEW IF EXISTS rm.%s; CREATE VIEW rm.%s AS SELECT * FROM %s.%s", t, t, schema, t)); err != nil {
			return fmt.Errorf("projections: switch view rm.%s: %w", t, err)
		}
	}
	_, err := tx.Exec(ctx, `INSERT INTO projections.registry (name, active_generation, version) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET active_generation = $2, version = $3, updated_at = now()`, p.Name(), gen, p.Version())
	return err
}

// Ensure makes sure p has an active generation: generation 1 on first start. It returns the active
// generation and whether its schema version differs from the code's (a rebuild is due).
func Ensure(ctx context.Context, pool *pgxpool.Pool, p Projection) (gen int, stale bool, err error) {
	if !validName.MatchString(p.Name()) {
		return 0, false, fmt.Errorf("projections: invalid name %q", p.Name())
	}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('belfry.projections.registry'))"); err != nil {
			return err
		}
		var version int
		err := tx.QueryRow(ctx, "SELECT active_generation, version FROM projections.registry WHERE name = $1", p.Name()).Scan(&gen, &version)
		if errors.Is(err, pgx.ErrNoRows) {
			gen = 1
			if err := createGeneration(ctx, tx, p, gen); err != nil {
				return err
			}
			return activate(ctx, tx, p, gen)
		}
		if err != nil {
			return err
		}
		stale = version != p.Version()
		return nil
	})
	if err != nil {
		return 0, false, fmt.Errorf("projections: ensure %s: %w", p.Name(), err)
	}
	return gen, stale, nil
}

// Status is the progress of one projection.
type Status struct {
	Name       string  `json:"name"`
	Generation int     `json:"generation"`
	Version    int     `json:"version"`
	Checkpoint uint64  `json:"checkpoint"`
	Events     int64   `json:"eventsApplied"`
	Head       uint64  `json:"head"`
	LagEvents  uint64  `json:"lagEvents"`
	LagSeconds float64 `json:"lagSeconds"`
	// Parked counts the active generation's parked events; ParkedEvents lists the first
	// MaxStatusParked of them in position order.
	Parked       int           `json:"parked"`
	ParkedEvents []ParkedEvent `json:"parkedEvents"`
}

// MaxStatusParked is how many parked events Statuses lists per projection.
const MaxStatusParked = 100

// Statuses returns the active generation's checkpoint and parked events of every registered
// projection. Head and lag are left zero (see Report).
func Statuses(ctx context.Context, pool *pgxpool.Pool) ([]Status, error) {
	rows, err := pool.Query(ctx, `SELECT r.name, r.active_generation, c.version, c.position, c.events,
		extract(epoch FROM now() - c.updated_at),
		(SELECT count(*) FROM projections.parked_events p WHERE p.name = r.name AND p.generation = r.active_generation)
		FROM projections.registry r JOIN projections.checkpoints c ON c.name = r.name AND c.generation = r.active_generation
		ORDER BY r.name`)
	if err != nil {
		return nil, fmt.Errorf("projections: status: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Status, error) {
		var s Status
		var pos int64
		err := row.Scan(&s.Name, &s.Generation, &s.Version, &pos, &s.Events, &s.LagSeconds, &s.Parked)
		s.Checkpoint = uint64(pos)
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("projections: status: %w", err)
	}
	for i := range out {
		out[i].ParkedEvents = []ParkedEvent{}
		if out[i].Parked > 0 {
			if out[i].ParkedEvents, err = Parked(ctx, pool, out[i].Name, MaxStatusParked); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// Report is Statuses with the log head and each projection's lag: LagEvents is the number of $all
// positions between the stored checkpoint and the head, LagSeconds the time since the checkpoint
// was last written (0 when it is at the head). The runner writes the checkpoint of a caught-up
// projection within about a second of the last append and again when it stops (see
// checkpointPersistEvery), so a projection shown behind has events left to scan, not merely a
// checkpoint left unwritten; one whose server is stopped shows the position it stopped at.
func Report(ctx context.Context, pool *pgxpool.Pool, client *esdb.Client) ([]Status, error) {
	st, err := Statuses(ctx, pool)
	if err != nil {
		return nil, err
	}
	head, err := Head(ctx, client)
	if err != nil {
		return nil, err
	}
	for i := range st {
		st[i].Head = head
		if head > st[i].Checkpoint {
			st[i].LagEvents = head - st[i].Checkpoint
		} else {
			st[i].LagSeconds = 0
		}
	}
	return st, nil
}

// Head is the $all position of the newest event (0 for an empty log).
func Head(ctx context.Context, client *esdb.Client) (uint64, error) {
	rs, err := client.ReadAll(ctx, esdb.ReadAllOptions{From: esdb.End{}, Direction: esdb.Backwards}, 1)
	if err != nil {
		return 0, fmt.Errorf("projections: read the log head: %w", err)
	}
	defer rs.Close()
	ev, err := rs.Recv()
	if errors.Is(err, io.EOF) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("projections: read the log head: %w", err)
	}
	return ev.Event.Position.Commit, nil
}
