// Package chimeconversations projects Chime conversations (domain/chime/conversation) into
// rm.chime_conversations, rm.chime_conversation_members and rm.chime_conversation_messages, and keeps
// the chat feed that live delivery reads: rm.chime_chat_feed, one row per change a member sees (a
// message posted, edited or redacted, a member joining or leaving, a conversation created, a room
// deleted) in rooms and conversations alike, and rm.chime_chat_spans, the spans of the event log in
// which each user was a member of each room or conversation.
//
// Invariants:
//   - A feed row's seq is its event's prepare position in $all (the embedded log's position), unique
//     and increasing in log order: it is the cursor of live delivery. A user sees exactly the rows
//     whose seq falls in one of the user's spans (from_seq ≤ seq ≤ to_seq, to_seq NULL while still a
//     member): the row that adds the user and the row that removes the user included.
//   - Rows hold message text only sealed (key id and ciphertext, as the events); a redacted message's
//     ciphertext is removed from every row that held it; deleting a room deletes its feed rows but
//     the deletion's own (guide §4.8: deleting a room deletes its messages).
//   - Only user members have spans (bots and webhooks do not sign in to the client API).
package chimeconversations

import (
	"context"
	"fmt"
	"strings"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"

	"github.com/belfry/belfry/domain/chime/conversation"
	"github.com/belfry/belfry/domain/chime/room"
)

// Feed row kinds, as the live stream names them.
const (
	KindMessagePosted   = "MessagePosted"
	KindMessageEdited   = "MessageEdited"
	KindMessageRedacted = "MessageRedacted"
	KindMemberJoined    = "MemberJoined"
	KindMemberLeft      = "MemberLeft"
	KindCreated         = "ConversationCreated"
	KindRoomDeleted     = "RoomDeleted"
	// ContainerRoom and ContainerConversation say what a feed row's container id names.
	ContainerRoom         = "Room"
	ContainerConversation = "Conversation"
)

// Projection is the conversations read model and the chat feed.
type Projection struct{}

// Name is stable.
func (Projection) Name() string { return "chime_conversations" }

// Version of the layout.
func (Projection) Version() int { return 1 }

// Tables exposed under rm.
func (Projection) Tables() []string {
	return []string{"chime_conversations", "chime_conversation_members", "chime_conversation_messages", "chime_chat_feed", "chime_chat_spans"}
}

// Filter selects conversation and room streams.
func (Projection) Filter() *esdb.SubscriptionFilter {
	return &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{conversation.StreamPrefix, room.StreamPrefix}}
}

// Setup creates the tables.
func (Projection) Setup(ctx context.Context, tx pgx.Tx, schema string) error {
	_, err := tx.Exec(ctx, fmt.Sprintf(`
		CREATE TABLE %[1]s.chime_conversations (
			conversation_id text PRIMARY KEY,
			kind            text NOT NULL,
			name            text NOT NULL,
			created_by      text NOT NULL,
			created_at      timestamptz NOT NULL,
			last_seq        bigint NOT NULL
		);
		CREATE TABLE %[1]s.chime_conversation_members (
			conversation_id text NOT NULL,
			member_id       text NOT NULL,
			account_id      text NOT NULL,
			email           text NOT NULL,
			full_name       text NOT NULL,
			joined_at       timestamptz NOT NULL,
			PRIMARY KEY (conversation_id, member_id)
		);
		CREATE INDEX ON %[1]s.chime_conversation_members (member_id);
		CREATE TABLE %[1]s.chime_conversation_messages (
			conversation_id   text NOT NULL,
			message_id        text NOT NULL,
			seq               bigint NOT NULL,
			sender_id         text NOT NULL,
			sender_account_id text NOT NULL,
			sender_name       text NOT NULL,
			key_id            text NOT NULL,
			sealed            bytea,
			redacted          boolean NOT NULL DEFAULT false,
			created_at        timestamptz NOT NULL,
			edited_at         timestamptz,
			PRIMARY KEY (conversation_id, message_id)
		);
		CREATE INDEX ON %[1]s.chime_conversation_messages (conversation_id, seq DESC);
		CREATE TABLE %[1]s.chime_chat_feed (
			seq            bigint PRIMARY KEY,
			container_type text NOT NULL,
			container_id   text NOT NULL,
			kind           text NOT NULL,
			member_id      text NOT NULL DEFAULT '',
			message_id     text NOT NULL DEFAULT '',
			sender_id      text NOT NULL DEFAULT '',
			sender_name    text NOT NULL DEFAULT '',
			key_id         text NOT NULL DEFAULT '',
			sealed         bytea,
			at             timestamptz NOT NULL
		);
		CREATE INDEX ON %[1]s.chime_chat_feed (container_id, seq);
		CREATE INDEX ON %[1]s.chime_chat_feed (container_id, message_id) WHERE message_id <> '';
		CREATE TABLE %[1]s.chime_chat_spans (
			container_id text NOT NULL,
			member_id    text NOT NULL,
			from_seq     bigint NOT NULL,
			to_seq       bigint,
			PRIMARY KEY (container_id, member_id, from_seq)
		);
		CREATE INDEX ON %[1]s.chime_chat_spans (member_id);`, schema))
	return err
}

// Apply queues one event's statements.
func (Projection) Apply(b *pgx.Batch, schema string, ev *esdb.RecordedEvent) error {
	q := queue{b: b, schema: schema, seq: int64(ev.Position.Prepare)}
	if id, ok := strings.CutPrefix(ev.StreamID, conversation.StreamPrefix); ok {
		e, err := conversation.Decode(ev.EventType, ev.Data)
		if err != nil {
			return err
		}
		q.conversation(id, e)
		return nil
	}
	e, err := room.Decode(ev.EventType, ev.Data)
	if err != nil {
		return err
	}
	q.room(strings.TrimPrefix(ev.StreamID, room.StreamPrefix), e)
	return nil
}

// queue queues the statements of one event at seq.
type queue struct {
	b      *pgx.Batch
	schema string
	seq    int64
}

func (q queue) t(name string) string { return q.schema + "." + name }

// feed queues the event's feed row; the row is the event's (ON CONFLICT: a replayed batch).
func (q queue) feed(container, id, kind string, r feedRow) {
	q.b.Queue(`INSERT INTO `+q.t("chime_chat_feed")+` (seq, container_type, container_id, kind, member_id, message_id, sender_id, sender_name, key_id, sealed, at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) ON CONFLICT (seq) DO NOTHING`,
		q.seq, container, id, kind, r.member, r.message, r.sender, r.senderName, r.keyID, r.sealed, r.at)
}

// join opens a member's span at the event; leave closes it, the event included.
func (q queue) join(id, member string) {
	q.b.Queue(`INSERT INTO `+q.t("chime_chat_spans")+` (container_id, member_id, from_seq) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING`, id, member, q.seq)
}

func (q queue) leave(id, member string) {
	q.b.Queue(`UPDATE `+q.t("chime_chat_spans")+` SET to_seq = $3 WHERE container_id = $1 AND member_id = $2 AND to_seq IS NULL`, id, member, q.seq)
}

// redact removes a message's ciphertext from the feed.
func (q queue) redact(id, message string) {
	q.b.Queue(`UPDATE `+q.t("chime_chat_feed")+` SET sealed = NULL, key_id = '' WHERE container_id = $1 AND message_id = $2`, id, message)
}
