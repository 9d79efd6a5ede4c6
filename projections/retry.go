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

// RetryOutcome is what Retry did with one parked event.
type RetryOutcome struct {
	Event ParkedEvent `json:"event"` // as it was parked before this retry
	// Applied reports that the event now applied and left the parked table.
	Applied bool `json:"applied"`
	// StillFailing is the new error of an event that stays parked.
	StillFailing string `json:"stillFailing,omitempty"`
}

// errEventGone is the failure of a parked event whose position no longer holds it in the log.
var errEventGone = errors.New("the event is no longer at this position of the log")

// Retry re-applies the parked events of p's active generation, one at a time in position order.
// Each goes in its own transaction, which locks the checkpoint row (so it is serialized with the
// running projection's batches, which may go on meanwhile) and re-checks that the generation is
// still active. An event that now applies is removed from the parked table and counted as applied;
// one that still fails deterministically stays parked with the new error and one more attempt. A
// transient error (lost connection, a generation switch) stops the retry and is returned: what was
// not retried stays parked, and running Retry again is safe.
//
// Ordering: a retried event is applied after every event the projection applied since it was
// parked, later events of the same stream included — out of order, and that is what the operator
// asks for by running retry. For a read model of independent records (the audit log: one row per
// record) the result is the same as in-order application. For one whose later events supersede
// earlier ones (an account renamed twice), the retried event may overwrite newer state: rebuild it
// instead (Rebuild applies every event in position order and parks afresh what still fails).
func Retry(ctx context.Context, pool *pgxpool.Pool, client *esdb.Client, p Projection) ([]RetryOutcome, error) {
	parked, err := Parked(ctx, pool, p.Name(), 0)
	if err != nil {
		return nil, err
	}
	var out []RetryOutcome
	for _, pe := range parked {
		o, err := retryOne(ctx, pool, client, p, pe)
		if err != nil {
			return out, fmt.Errorf("projections: retry %s at position %d: %w", p.Name(), pe.Position, err)
		}
		out = append(out, o)
	}
	return out, nil
}

// retryOne re-applies one parked event; see Retry.
func retryOne(ctx context.Context, pool *pgxpool.Pool, client *esdb.Client, p Projection, pe ParkedEvent) (RetryOutcome, error) {
	o := RetryOutcome{Event: pe}
	ev, failure := eventAt(ctx, client, pe.Position, pe.EventID)
	if failure != nil && !errors.Is(failure, errEventGone) {
		return o, failure
	}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := lockCheckpoint(ctx, tx, p.Name(), pe.Generation, false); err != nil {
			return err
		}
		var still bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM projections.parked_events
			WHERE name = $1 AND generation = $2 AND position = $3 FOR UPDATE)`, p.Name(), pe.Generation, int64(pe.Position)).Scan(&still); err != nil {
			return err
		}
		if !still {
			o.Applied = true // another retry got there first
			return nil
		}
		if failure == nil {
			failure = applyOne(ctx, tx, p, schemaName(p.Name(), pe.Generation), ev)
		}
		if failure != nil && !deterministic(failure) && !errors.Is(failure, errEventGone) {
			return failure
		}
		if failure != nil {
			o.StillFailing = errorText(failure)
			_, err := tx.Exec(ctx, `UPDATE projections.parked_events SET error = $4, attempts = attempts + 1, retried_at = now()
				WHERE name = $1 AND generation = $2 AND position = $3`, p.Name(), pe.Generation, int64(pe.Position), o.StillFailing)
			return err
		}
		o.Applied = true
		_, err := tx.Exec(ctx, `DELETE FROM projections.parked_events WHERE name = $1 AND generation = $2 AND position = $3`, p.Name(), pe.Generation, int64(pe.Position))
		if err == nil {
			_, err = tx.Exec(ctx, `UPDATE projections.checkpoints SET events = events + 1, updated_at = now()
				WHERE name = $1 AND generation = $2`, p.Name(), pe.Generation)
		}
		return err
	})
	return o, err
}

// eventAt reads the event at $all position pos, and checks that it is the event parked there.
func eventAt(ctx context.Context, client *esdb.Client, pos uint64, eventID string) (*esdb.RecordedEvent, error) {
	rs, err := client.ReadAll(ctx, esdb.ReadAllOptions{From: esdb.Position{Commit: pos, Prepare: pos}}, 1)
	if err != nil {
		return nil, fmt.Errorf("read position %d: %w", pos, err)
	}
	defer rs.Close()
	re, err := rs.Recv()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("position %d: %w", pos, errEventGone)
	}
	if err != nil {
		return nil, fmt.Errorf("read position %d: %w", pos, err)
	}
	ev := re.Event
	if ev == nil || ev.Position.Commit != pos || ev.EventID.String() != eventID {
		return nil, fmt.Errorf("position %d: %w", pos, errEventGone)
	}
	return ev, nil
}
