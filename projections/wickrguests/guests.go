// Package wickrguests projects what a Wickr network knows of guest users (guide §15) into the read
// models of ListBlockedGuestUsers, ListGuestUsers and GetGuestUserHistoryCount, and answers those
// queries.
//
// Invariants:
//   - rm.wickr_guest_blocks holds one row per guest a network blocks (GuestBlocked on the network
//     stream), removed when it is unblocked; modified is the time of the block.
//   - rm.wickr_guest_sightings holds one row per (network, billing period 'YYYY-MM', guest): the
//     guests a network's users communicated with in that period (guide §15.3), the source of
//     ListGuestUsers and the monthly history. Messaging fills it: every message posted (by anyone) in
//     a conversation that holds a guest and users of a network is a sighting of that guest by that
//     network in the message's UTC month. To know who is in a conversation the projection keeps
//     rm.wickr_guest_conversation_members (the conversations' members, from their own streams) and
//     rm.wickr_guest_accounts (the guests' usernames, from the guest streams).
//   - Every statement is idempotent for its event (replays change nothing).
package wickrguests

import (
	"context"
	"fmt"
	"strings"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"

	"github.com/belfry/belfry/domain/wickr/conversation"
	"github.com/belfry/belfry/domain/wickr/guest"
	"github.com/belfry/belfry/domain/wickr/network"
)

// Projection is the guests read model.
type Projection struct{}

// Name is stable.
func (Projection) Name() string { return "wickr_guests" }

// Version of the table layout.
func (Projection) Version() int { return 2 }

// Tables exposed under rm.
func (Projection) Tables() []string {
	return []string{"wickr_guest_blocks", "wickr_guest_sightings", "wickr_guest_accounts", "wickr_guest_conversation_members"}
}

// Filter selects the network streams (the block list is the network's), the conversations (the
// sightings) and the guest accounts (their usernames).
func (Projection) Filter() *esdb.SubscriptionFilter {
	return &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{network.StreamPrefix, conversation.StreamPrefix, guest.StreamPrefix}}
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
		CREATE INDEX ON %[1]s.wickr_guest_sightings (network_id, username, billing_period);
		CREATE TABLE %[1]s.wickr_guest_accounts (
			username_hash text PRIMARY KEY,
			username      text NOT NULL
		);
		CREATE TABLE %[1]s.wickr_guest_conversation_members (
			conversation_id text NOT NULL,
			member_key      text NOT NULL,
			network_id      text NOT NULL DEFAULT '',
			guest_hash      text NOT NULL DEFAULT '',
			PRIMARY KEY (conversation_id, member_key)
		);`, schema))
	return err
}

// Apply applies one event.
func (Projection) Apply(b *pgx.Batch, schema string, ev *esdb.RecordedEvent) error {
	if id, ok := strings.CutPrefix(ev.StreamID, conversation.StreamPrefix); ok {
		return applyConversation(b, schema, id, ev)
	}
	if strings.HasPrefix(ev.StreamID, guest.StreamPrefix) {
		return applyGuest(b, schema, ev)
	}
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

// applyGuest keeps a guest's username (a registration again after a deletion may spell it anew).
func applyGuest(b *pgx.Batch, schema string, ev *esdb.RecordedEvent) error {
	if ev.EventType != guest.TypeRegistered {
		return nil
	}
	e, err := guest.Decode(ev.EventType, ev.Data)
	if err != nil {
		return err
	}
	r := e.(guest.Registered)
	b.Queue(`INSERT INTO `+schema+`.wickr_guest_accounts (username_hash, username) VALUES ($1,$2)
		ON CONFLICT (username_hash) DO UPDATE SET username = excluded.username`, r.UsernameHash, r.Username)
	return nil
}

// applyConversation follows a conversation's members and records, for each message posted, the
// sightings of its guest members by the networks of its user members.
func applyConversation(b *pgx.Batch, schema, id string, ev *esdb.RecordedEvent) error {
	e, err := conversation.Decode(ev.EventType, ev.Data)
	if err != nil {
		return err
	}
	add := func(ms []conversation.Participant) {
		for _, m := range ms {
			b.Queue(`INSERT INTO `+schema+`.wickr_guest_conversation_members (conversation_id, member_key, network_id, guest_hash)
				VALUES ($1,$2,$3,$4) ON CONFLICT DO NOTHING`, id, m.Key(), m.NetworkID, m.GuestHash)
		}
	}
	switch e := e.(type) {
	case conversation.Created:
		add(e.Members)
	case conversation.MembersAdded:
		add(e.Members)
	case conversation.MemberLeft:
		b.Queue(`DELETE FROM `+schema+`.wickr_guest_conversation_members WHERE conversation_id = $1 AND member_key = $2`, id, e.Member.Key())
	case conversation.MessagePosted:
		b.Queue(`INSERT INTO `+schema+`.wickr_guest_sightings (network_id, billing_period, username_hash, username)
			SELECT DISTINCT u.network_id, $2, g.guest_hash, a.username
			FROM `+schema+`.wickr_guest_conversation_members u
			JOIN `+schema+`.wickr_guest_conversation_members g ON g.conversation_id = u.conversation_id AND g.guest_hash <> ''
			JOIN `+schema+`.wickr_guest_accounts a ON a.username_hash = g.guest_hash
			WHERE u.conversation_id = $1 AND u.network_id <> ''
			ON CONFLICT DO NOTHING`, id, e.At.UTC().Format("2006-01"))
	}
	return nil
}
