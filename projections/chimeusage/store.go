package chimeusage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain/chime/usage"
	"github.com/belfry/belfry/projections"
)

// Store answers the usage reports' queries.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns a Store over pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// ErrMissing: the read model does not exist yet (no server has created it).
var ErrMissing = errors.New("chimeusage: the usage read model does not exist yet")

// Position is the $all position the active generation has applied, as its stored checkpoint says
// (ErrMissing when the read model does not exist yet: WaitFor fails at once then). It is the runner's
// in whichever process runs it: the checkpoint moves in the transaction that applies the events.
func (s *Store) Position(ctx context.Context) (uint64, error) {
	var pos int64
	err := s.pool.QueryRow(ctx, `SELECT c.position FROM projections.registry r
		JOIN projections.checkpoints c ON c.name = r.name AND c.generation = r.active_generation WHERE r.name = $1`,
		Projection{}.Name()).Scan(&pos)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, ErrMissing
	}
	if err != nil {
		return 0, fmt.Errorf("chimeusage: position: %w", err)
	}
	return uint64(pos), nil
}

// WaitFor polls Position until it reaches pos or ctx ends.
func (s *Store) WaitFor(ctx context.Context, pos uint64) error {
	for {
		at, err := s.Position(ctx)
		switch {
		case err != nil:
			return err
		case at >= pos:
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("chimeusage: the read model is at position %d, not %d: %w", at, pos, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Accounts lists the ids of every account with an event on its stream, in order.
func (s *Store) Accounts(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT account_id FROM rm.chime_usage_accounts ORDER BY account_id`))
	if err != nil {
		return nil, fmt.Errorf("chimeusage: accounts: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("chimeusage: accounts: %w", err)
	}
	return ids, nil
}

// Week returns the activity of users in the week starting week (a Sunday): one entry per user with
// any (a user without one has zero counts and no sign-in).
func (s *Store) Week(ctx context.Context, week time.Time, users []string) (map[string]usage.Counts, error) {
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT u.id, coalesce(w.attended, 0), coalesce(w.hosted, 0), coalesce(w.chat_sent, 0),
			(SELECT l.last_login_us FROM rm.chime_usage_weeks l WHERE l.user_id = u.id AND l.week <= $2 AND l.last_login_us IS NOT NULL
				ORDER BY l.week DESC LIMIT 1)
		FROM unnest($1::text[]) AS u(id) LEFT JOIN rm.chime_usage_weeks w ON w.user_id = u.id AND w.week = $2`), users, week)
	if err != nil {
		return nil, fmt.Errorf("chimeusage: week: %w", err)
	}
	defer rows.Close()
	out := make(map[string]usage.Counts, len(users))
	for rows.Next() {
		var id string
		var c usage.Counts
		var login *int64
		if err := rows.Scan(&id, &c.Attended, &c.Hosted, &c.ChatSent, &login); err != nil {
			return nil, fmt.Errorf("chimeusage: week: %w", err)
		}
		if login != nil {
			c.LastLogin = time.UnixMicro(*login).UTC()
		}
		if c != (usage.Counts{}) {
			out[id] = c
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("chimeusage: week: %w", err)
	}
	return out, nil
}
