// Package chimeretention projects the Chime accounts' retention settings (domain/chime/retention)
// into rm.chime_retention_changes, one row per change, and answers an account's policy and the
// accounts that have one.
//
// Invariant: the rows of an account, in revision order, are its policy (retention.Policy); a change
// is applied once (its stream revision is the key).
package chimeretention

import (
	"context"
	"fmt"
	"strings"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain/chime/retention"
	"github.com/belfry/belfry/projections"
)

// Projection is the retention read model.
type Projection struct{}

// Name is stable.
func (Projection) Name() string { return "chime_retention" }

// Version of the layout.
func (Projection) Version() int { return 1 }

// Tables exposed under rm.
func (Projection) Tables() []string { return []string{"chime_retention_changes"} }

// Filter selects the retention streams.
func (Projection) Filter() *esdb.SubscriptionFilter {
	return &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{retention.StreamPrefix}}
}

// Setup creates the table.
func (Projection) Setup(ctx context.Context, tx pgx.Tx, schema string) error {
	_, err := tx.Exec(ctx, fmt.Sprintf(`CREATE TABLE %s.chime_retention_changes (
		account_id        text NOT NULL,
		revision          bigint NOT NULL,
		at                timestamptz NOT NULL,
		room_days         int NOT NULL,
		conversation_days int NOT NULL,
		PRIMARY KEY (account_id, revision)
	)`, schema))
	return err
}

// Apply queues one event's statement.
func (Projection) Apply(b *pgx.Batch, schema string, ev *esdb.RecordedEvent) error {
	e, err := retention.Decode(ev.EventType, ev.Data)
	if err != nil {
		return err
	}
	if put, ok := e.(retention.SettingsPut); ok {
		b.Queue(`INSERT INTO `+schema+`.chime_retention_changes (account_id, revision, at, room_days, conversation_days) VALUES ($1,$2,$3,$4,$5)
			ON CONFLICT DO NOTHING`, strings.TrimPrefix(ev.StreamID, retention.StreamPrefix), ev.EventNumber, put.At, put.Settings.RoomDays, put.Settings.ConversationDays)
	}
	return nil
}

// Store answers retention queries.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns a store over the active generation's view.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Policies returns the policy of every account that has one (accountID "" for all), by account.
func (s *Store) Policies(ctx context.Context, accountID string) (map[string]retention.Policy, error) {
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT account_id, at, room_days, conversation_days FROM rm.chime_retention_changes
		WHERE $1 = '' OR account_id = $1 ORDER BY account_id, revision`), accountID)
	if err != nil {
		return nil, fmt.Errorf("chimeretention: %w", err)
	}
	defer rows.Close()
	out := map[string]retention.Policy{}
	for rows.Next() {
		var id string
		var c retention.Change
		if err := rows.Scan(&id, &c.At, &c.Settings.RoomDays, &c.Settings.ConversationDays); err != nil {
			return nil, fmt.Errorf("chimeretention: %w", err)
		}
		out[id] = append(out[id], c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("chimeretention: %w", err)
	}
	return out, nil
}

// Policy returns one account's policy (empty: never set).
func (s *Store) Policy(ctx context.Context, accountID string) (retention.Policy, error) {
	if accountID == "" {
		return nil, nil
	}
	all, err := s.Policies(ctx, accountID)
	return all[accountID], err
}
