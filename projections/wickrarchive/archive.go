// Package wickrarchive projects what each Wickr network's data-retention bot must archive (guide §8):
// every message posted, while the network's data retention is enabled, in a conversation that holds
// one of its users — internal, federated and guest conversations alike — in log order. The archive
// shipper (infra/wickrarchive) writes these rows out as JSONL files.
//
// Invariants:
//   - rm.wickr_archive_networks says which networks have data retention enabled, as of each event
//     (DataRetentionEnabled / DataRetentionDisabled on the network stream, in log order).
//   - rm.wickr_archive_members follows the conversations' members (network id of each user member).
//   - rm.wickr_archive_items has one row per (network, message) to archive, seq its event's prepare
//     position in $all: a message is archived for each network with retention enabled that has a
//     member in the conversation when it is posted. Content stays sealed (key id and ciphertext, as
//     the event); the shipper opens it.
//   - Rows are never deleted (deleting the network keeps what was archived, §8.1); the shipper keeps
//     its own position per network and ships each row once.
//   - Every statement is idempotent for its event (replays change nothing).
package wickrarchive

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain/wickr/conversation"
	"github.com/belfry/belfry/domain/wickr/network"
	"github.com/belfry/belfry/projections"
)

// Projection is the archive's read model.
type Projection struct{}

// Name is stable.
func (Projection) Name() string { return "wickr_archive" }

// Version of the table layout.
func (Projection) Version() int { return 2 }

// Tables exposed under rm.
func (Projection) Tables() []string {
	return []string{"wickr_archive_networks", "wickr_archive_members", "wickr_archive_items"}
}

// Filter selects the network and conversation streams.
func (Projection) Filter() *esdb.SubscriptionFilter {
	return &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{network.StreamPrefix, conversation.StreamPrefix}}
}

// Setup creates the tables.
func (Projection) Setup(ctx context.Context, tx pgx.Tx, schema string) error {
	_, err := tx.Exec(ctx, fmt.Sprintf(`
		CREATE TABLE %[1]s.wickr_archive_networks (
			network_id text PRIMARY KEY,
			enabled    boolean NOT NULL
		);
		CREATE TABLE %[1]s.wickr_archive_members (
			conversation_id text NOT NULL,
			member_key      text NOT NULL,
			network_id      text NOT NULL,
			PRIMARY KEY (conversation_id, member_key)
		);
		CREATE TABLE %[1]s.wickr_archive_items (
			network_id      text NOT NULL,
			seq             bigint NOT NULL,
			conversation_id text NOT NULL,
			message_id      text NOT NULL,
			sender_key      text NOT NULL,
			key_id          text NOT NULL,
			sealed          bytea NOT NULL,
			ttl             bigint NOT NULL,
			bor             bigint NOT NULL,
			content_type    text NOT NULL DEFAULT '',
			size            bigint NOT NULL DEFAULT 0,
			at              timestamptz NOT NULL,
			PRIMARY KEY (network_id, seq)
		);
		CREATE INDEX ON %[1]s.wickr_archive_items (message_id);`, schema))
	return err
}

// Apply applies one event.
func (Projection) Apply(b *pgx.Batch, schema string, ev *esdb.RecordedEvent) error {
	if id, ok := strings.CutPrefix(ev.StreamID, network.StreamPrefix); ok {
		if ev.EventType != network.TypeDataRetentionEnabled && ev.EventType != network.TypeDataRetentionDisabled {
			return nil
		}
		b.Queue(`INSERT INTO `+schema+`.wickr_archive_networks (network_id, enabled) VALUES ($1,$2)
			ON CONFLICT (network_id) DO UPDATE SET enabled = excluded.enabled`, id, ev.EventType == network.TypeDataRetentionEnabled)
		return nil
	}
	e, err := conversation.Decode(ev.EventType, ev.Data)
	if err != nil {
		return err
	}
	id := strings.TrimPrefix(ev.StreamID, conversation.StreamPrefix)
	add := func(ms []conversation.Participant) {
		for _, m := range ms {
			if !m.Guest() {
				b.Queue(`INSERT INTO `+schema+`.wickr_archive_members (conversation_id, member_key, network_id) VALUES ($1,$2,$3)
					ON CONFLICT DO NOTHING`, id, m.Key(), m.NetworkID)
			}
		}
	}
	switch e := e.(type) {
	case conversation.Created:
		add(e.Members)
	case conversation.MembersAdded:
		add(e.Members)
	case conversation.MemberLeft:
		b.Queue(`DELETE FROM `+schema+`.wickr_archive_members WHERE conversation_id = $1 AND member_key = $2`, id, e.Member.Key())
	case conversation.MessagePosted:
		var ctype string
		var size int64
		if e.Attachment != nil {
			ctype, size = e.Attachment.ContentType, e.Attachment.Size
		}
		b.Queue(`INSERT INTO `+schema+`.wickr_archive_items (network_id, seq, conversation_id, message_id, sender_key, key_id, sealed, ttl, bor,
			content_type, size, at)
			SELECT DISTINCT m.network_id, $2::bigint, $1, $3, $4, $5, $6::bytea, $7::bigint, $8::bigint, $9, $10::bigint, $11::timestamptz
			FROM `+schema+`.wickr_archive_members m JOIN `+schema+`.wickr_archive_networks n ON n.network_id = m.network_id AND n.enabled
			WHERE m.conversation_id = $1 ON CONFLICT DO NOTHING`,
			id, int64(ev.Position.Prepare), e.MessageID, e.Sender.Key(), e.KeyID, e.Sealed, e.TTL, e.BOR, ctype, size, e.At)
	}
	return nil
}

// Item is one message a network's bot archives, its content still sealed.
type Item struct {
	NetworkID, ConversationID, MessageID, SenderKey, KeyID string
	Seq                                                    int64
	Sealed                                                 []byte
	TTL, BOR, Size                                         int64
	ContentType                                            string
	At                                                     time.Time
}

// Store reads the items to ship. It deletes nothing, shipped or not (rows are never deleted: the
// shipper keeps its own position per network, and an archive moved to another target starts again
// from the first item).
type Store struct{ pool *pgxpool.Pool }

// NewStore returns a Store over pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Pending returns, for each network that ever had data retention enabled, the seq of its last item
// (0: none).
func (s *Store) Pending(ctx context.Context) (map[string]int64, error) {
	rows, _ := s.pool.Query(ctx, projections.SQL(ctx, `SELECT n.network_id,
		coalesce((SELECT max(i.seq) FROM rm.wickr_archive_items i WHERE i.network_id = n.network_id), 0) FROM rm.wickr_archive_networks n`))
	out := map[string]int64{}
	var id string
	var last int64
	if _, err := pgx.ForEachRow(rows, []any{&id, &last}, func() error { out[id] = last; return nil }); err != nil {
		return nil, fmt.Errorf("wickrarchive: pending: %w", err)
	}
	return out, nil
}

// Items returns a network's items after seq after, at most limit, in log order.
func (s *Store) Items(ctx context.Context, networkID string, after int64, limit int) ([]Item, error) {
	rows, _ := s.pool.Query(ctx, projections.SQL(ctx, `SELECT network_id, conversation_id, message_id, sender_key, key_id, seq, sealed, ttl, bor,
		size, content_type, at FROM rm.wickr_archive_items WHERE network_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`), networkID, after, limit)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Item, error) {
		var it Item
		return it, r.Scan(&it.NetworkID, &it.ConversationID, &it.MessageID, &it.SenderKey, &it.KeyID, &it.Seq, &it.Sealed, &it.TTL, &it.BOR,
			&it.Size, &it.ContentType, &it.At)
	})
	if err != nil {
		return nil, fmt.Errorf("wickrarchive: items: %w", err)
	}
	return out, nil
}
