// Package chimecalls projects Business Calling conferences into rm.chime_calls and rm.chime_call_legs
// and answers their queries: a user's calls, and the calls still up (which a restart ends).
//
// Invariant: one chime_calls row per conference stream and one chime_call_legs row per leg; ended_at
// is NULL while the conference (or the leg) is up.
package chimecalls

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain/chime/call"
	"github.com/belfry/belfry/projections"
)

// Projection is the calls read model.
type Projection struct{}

// Name is stable.
func (Projection) Name() string { return "chime_calls" }

// Version of the layout.
func (Projection) Version() int { return 1 }

// Tables exposed under rm.
func (Projection) Tables() []string { return []string{"chime_calls", "chime_call_legs"} }

// Filter selects call streams.
func (Projection) Filter() *esdb.SubscriptionFilter {
	return &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{call.StreamPrefix}}
}

// Setup creates the tables.
func (Projection) Setup(ctx context.Context, tx pgx.Tx, schema string) error {
	_, err := tx.Exec(ctx, fmt.Sprintf(`
		CREATE TABLE %[1]s.chime_calls (
			conference_id     text PRIMARY KEY,
			aws_account_id    text NOT NULL,
			account_id        text NOT NULL,
			organizer_user_id text NOT NULL,
			placed_at         timestamptz NOT NULL,
			ended_at          timestamptz
		);
		CREATE INDEX ON %[1]s.chime_calls (placed_at) WHERE ended_at IS NULL;
		CREATE INDEX ON %[1]s.chime_calls (ended_at);
		CREATE TABLE %[1]s.chime_call_legs (
			conference_id text NOT NULL,
			leg_id        text NOT NULL,
			user_id       text NOT NULL,
			direction     text NOT NULL,
			from_number   text NOT NULL,
			to_number     text NOT NULL,
			connected_at  timestamptz,
			ended_at      timestamptz,
			reason        text NOT NULL DEFAULT '',
			PRIMARY KEY (conference_id, leg_id)
		);
		CREATE INDEX ON %[1]s.chime_call_legs (user_id, conference_id) WHERE user_id <> '';`, schema))
	return err
}

// Apply queues one event's statements.
func (Projection) Apply(b *pgx.Batch, schema string, ev *esdb.RecordedEvent) error {
	e, err := call.Decode(ev.EventType, ev.Data)
	if err != nil {
		return err
	}
	id := strings.TrimPrefix(ev.StreamID, call.StreamPrefix)
	legs := schema + ".chime_call_legs"
	switch e := e.(type) {
	case call.CallPlaced:
		b.Queue(`INSERT INTO `+schema+`.chime_calls (conference_id, aws_account_id, account_id, organizer_user_id, placed_at)
			VALUES ($1,$2,$3,$4,$5) ON CONFLICT (conference_id) DO NOTHING`, id, e.AwsAccountID, e.AccountID, e.OrganizerUserID, e.At)
		for _, l := range e.Legs {
			b.Queue(`INSERT INTO `+legs+` (conference_id, leg_id, user_id, direction, from_number, to_number) VALUES ($1,$2,$3,$4,$5,$6)
				ON CONFLICT DO NOTHING`, id, l.LegID, l.UserID, l.Direction, l.From, l.To)
		}
	case call.LegConnected:
		b.Queue(`UPDATE `+legs+` SET connected_at = $3 WHERE conference_id = $1 AND leg_id = $2`, id, e.LegID, e.At)
	case call.LegEnded:
		b.Queue(`UPDATE `+legs+` SET ended_at = $3, reason = $4 WHERE conference_id = $1 AND leg_id = $2`, id, e.LegID, e.At, e.Reason)
	case call.ConferenceEnded:
		b.Queue(`UPDATE `+schema+`.chime_calls SET ended_at = $2 WHERE conference_id = $1`, id, e.At)
	}
	return nil
}

// Store answers call queries.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns a store over the active generation's views.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Live returns the conferences still up that were placed before before, oldest first, at most limit.
func (s *Store) Live(ctx context.Context, before time.Time, limit int) ([]string, error) {
	rows, _ := s.pool.Query(ctx, projections.SQL(ctx, `SELECT conference_id FROM rm.chime_calls WHERE ended_at IS NULL AND placed_at < $1
		ORDER BY placed_at LIMIT $2`), before, limit)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("chimecalls: live calls: %w", err)
	}
	return ids, nil
}
