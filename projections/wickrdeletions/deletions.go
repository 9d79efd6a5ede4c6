// Package wickrdeletions is the work queue of Wickr network deletions (guide §2.3: "may take a few
// minutes"), kept as a read model of the network and roster streams: the networks whose deletion was
// requested and not completed, and the roster blocks each network ever used. The deletion process
// (api/wickr/networks.CompleteDeletions, run by a sweep) reads it, so that a deletion interrupted by a
// crash resumes from the event log: a network stays pending until its Deleted event is applied.
//
// Invariants: one row per network whose deletion was requested, with the instant of the request and,
// once applied, that of its Deleted event; one row per (network, roster block) that ever held a user
// (UserInvited, UsersInvited). The projection only writes its own tables (a rebuild fires nothing: the process acts
// on what is pending, whichever generation says so); every statement is idempotent.
package wickrdeletions

import (
	"context"
	"fmt"
	"strings"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/network"
	"github.com/belfry/belfry/domain/wickr/roster"
	"github.com/belfry/belfry/projections"
)

// Projection is the deletions work queue.
type Projection struct{}

// Name is stable.
func (Projection) Name() string { return "wickr_deletions" }

// Version of the table layout.
func (Projection) Version() int { return 1 }

// Tables exposed under rm.
func (Projection) Tables() []string { return []string{"wickr_deletions", "wickr_roster_blocks"} }

// Filter selects the network and roster streams.
func (Projection) Filter() *esdb.SubscriptionFilter {
	return &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{network.StreamPrefix, roster.StreamPrefix}}
}

// Setup creates the tables.
func (Projection) Setup(ctx context.Context, tx pgx.Tx, schema string) error {
	_, err := tx.Exec(ctx, fmt.Sprintf(`
		CREATE TABLE %[1]s.wickr_deletions (
			network_id   text PRIMARY KEY,
			requested_at timestamptz NOT NULL,
			deleted_at   timestamptz
		);
		CREATE INDEX ON %[1]s.wickr_deletions (requested_at, network_id) WHERE deleted_at IS NULL;
		CREATE TABLE %[1]s.wickr_roster_blocks (
			network_id text NOT NULL,
			block      bigint NOT NULL,
			PRIMARY KEY (network_id, block)
		);`, schema))
	return err
}

// Apply applies one event; only deletion requests, deletions and invitations are decoded.
func (Projection) Apply(b *pgx.Batch, schema string, ev *esdb.RecordedEvent) error {
	switch ev.EventType {
	case network.TypeDeletionRequested, network.TypeDeleted:
		e, err := network.Decode(ev.EventType, ev.Data)
		if err != nil {
			return err
		}
		id := strings.TrimPrefix(ev.StreamID, network.StreamPrefix)
		switch e := e.(type) {
		case network.DeletionRequested:
			b.Queue(`INSERT INTO `+schema+`.wickr_deletions (network_id, requested_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`, id, e.At)
		case network.Deleted:
			b.Queue(`INSERT INTO `+schema+`.wickr_deletions AS d (network_id, requested_at, deleted_at) VALUES ($1, $2, $2)
				ON CONFLICT (network_id) DO UPDATE SET deleted_at = coalesce(d.deleted_at, excluded.deleted_at)`, id, e.At)
		}
	case roster.TypeUserInvited, roster.TypeUsersInvited:
		e, err := roster.Decode(ev.EventType, ev.Data)
		if err != nil {
			return err
		}
		var net string
		var ids []string
		switch e := e.(type) {
		case roster.UserInvited:
			net, ids = e.NetworkID, []string{e.UserID}
		case roster.UsersInvited:
			net, ids = e.NetworkID, e.UserIDs
		}
		blocks := map[string]bool{}
		for _, id := range ids {
			if blk := wickr.RosterBlock(id); !blocks[blk] {
				blocks[blk] = true
				b.Queue(`INSERT INTO `+schema+`.wickr_roster_blocks (network_id, block) VALUES ($1, $2) ON CONFLICT DO NOTHING`, net, blk)
			}
		}
	}
	return nil
}

// Store reads the work queue.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns a Store over pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// PendingDeletions returns the networks whose deletion was requested and is not complete, oldest
// request first, at most limit of them.
func (s *Store) PendingDeletions(ctx context.Context, limit int) ([]string, error) {
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT network_id FROM rm.wickr_deletions WHERE deleted_at IS NULL
		ORDER BY requested_at, network_id LIMIT $1`), limit)
	if err != nil {
		return nil, fmt.Errorf("wickrdeletions: pending: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("wickrdeletions: pending: %w", err)
	}
	return ids, nil
}

// RosterBlocks returns, for each roster block a network ever used, its first user id (which
// roster.StreamName maps to the block's stream), in order.
func (s *Store) RosterBlocks(ctx context.Context, networkID string) ([]string, error) {
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT (block * $2)::text FROM rm.wickr_roster_blocks WHERE network_id = $1 ORDER BY block`),
		networkID, wickr.RosterBlockSize)
	if err != nil {
		return nil, fmt.Errorf("wickrdeletions: roster blocks: %w", err)
	}
	firsts, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("wickrdeletions: roster blocks: %w", err)
	}
	return firsts, nil
}
