package eventlog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PositionAt returns the position of the last event committed at or before t (its created stamp,
// the commit time of its group), scanning the log from the head down; ok is false when every
// event is younger. Created stamps grow with positions (one writer stamps each group, never before
// the group before it, whatever its clock does), so no event at or before it is younger than t.
func PositionAt(ctx context.Context, pool *pgxpool.Pool, t time.Time) (pos uint64, ok bool, err error) {
	var p int64
	err = pool.QueryRow(ctx, "SELECT position FROM eventlog.events WHERE created <= $1 ORDER BY position DESC LIMIT 1", toTicks(t)).Scan(&p)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("eventlog: position at %s: %w", t.UTC().Format(time.RFC3339Nano), err)
	}
	return uint64(p), true, nil
}
