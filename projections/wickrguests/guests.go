// Package wickrguests projects what a Wickr network knows of guest users (guide §15) into the read
// models of ListBlockedGuestUsers, ListGuestUsers and GetGuestUserHistoryCount, and answers those
// queries.
//
// Invariants:
//   - rm.wickr_guest_blocks holds one row per guest a network blocks (GuestBlocked on the network
//     stream), removed when it is unblocked; modified is the time of the block.
//   - rm.wickr_guest_sightings holds one row per (network, billing period 'YYYY-MM', guest): the
//     guests a network's users communicated with in that period, the source of ListGuestUsers and the
//     monthly history. Messaging records them (the guests seen per period, guide §15.3); until it
//     exists no event fills this table.
//   - Every statement is idempotent for its event (replays change nothing).
package wickrguests

import (
	"context"
	"fmt"
	"strings"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"

	"github.com/belfry/belfry/domain/wickr/network"
)

// Projection is the guests read model.
type Projection struct{}

// Name is stable.
func (Projection) Name() string { return "wickr_guests" }

// Version of the table layout.
func (Projection) Version() int { return 1 }

// Tables exposed under rm.
func (Projection) Tables() []string { return []string{"wickr_guest_blocks", "wickr_guest_sightings"} }

// Filter selects the network streams (the block list is the network's).
func (Projection) Filter() *esdb.SubscriptionFilter {
	return &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{network.StreamPrefix}}
}

// Setup creates the tables.
func (Projection) Setup(ctx context.Context, tx pgx.Tx, schema string) error {
	_, err := tx.Exec(ctx, fmt.Sprintf(`
		CREATE TABLE %[1]s.wickr_guest_blocks (
			network_id    text NOT NULL,
			username_hash text NOT NULL,
			username      text NOT NULL,
			admin         text NOT NULL DEFAULT '',
			modified      timestamptz NOT NULL,
			PRIMARY KEY (network_id, username_hash)
		);
		CREATE TABLE %[1]s.wickr_guest_sightings (
			network_id     text NOT NULL,
			billing_period text NOT NULL,
			username_hash  text NOT NULL,
			username       text NOT NULL,
			PRIMARY KEY (network_id, billing_period, username_hash)
		);
		CREATE INDEX ON %[1]s.wickr_guest_sightings (network_id, username, billing_period);`, schema))
	return err
}

// Apply applies one event.
func (Projection) Apply(b *pgx.Batch, schema string, ev *esdb.RecordedEvent) error {
	if ev.EventType != network.TypeGuestBlocked && ev.EventType != network.TypeGuestUnblocked {
		return nil
	}
	e, err := network.Decode(ev.EventType, ev.Data)
	if err != nil {
		return err
	}
	id := strings.TrimPrefix(ev.StreamID, network.StreamPrefix)
	switch e := e.(type) {
	case network.GuestBlocked:
		b.Queue(`INSERT INTO `+schema+`.wickr_guest_blocks (network_id, username_hash, username, admin, modified) VALUES ($1,$2,$3,$4,$5)
			ON CONFLICT (network_id, username_hash) DO UPDATE SET username = excluded.username, admin = excluded.admin, modified = excluded.modified`,
			id, e.UsernameHash, e.Username, e.Admin, e.At)
	case network.GuestUnblocked:
		b.Queue(`DELETE FROM `+schema+`.wickr_guest_blocks WHERE network_id = $1 AND username_hash = $2`, id, e.UsernameHash)
	}
	return nil
}
