// Package wickrconversations projects the Wickr conversations (domain/wickr/conversation) into the
// read model the messaging slice (api/wickr/messaging) answers from, and answers its queries.
//
// Invariants:
//   - rm.wickr_conversations has one row per conversation, rm.wickr_conversation_members one per
//     member (by participant key; moderator marks a room's moderators), rm.wickr_messages one per
//     message not yet destroyed: its key id and ciphertext only (the content is sealed under the
//     message's own key), the $all position of its MessagePosted, its expiry (posted plus Ttl) and,
//     once a recipient read it, its burn time (first read plus Bor).
//   - A forwarded message's row (and its feed row) says only that it is forwarded: its source's ids
//     stay in the event (readers are shown only "Forwarded": they would tell a reader of another
//     network, or a guest, which conversations exist).
//   - rm.wickr_message_receipts holds the read receipts the sender may see (§6).
//   - rm.wickr_feed and rm.wickr_feed_spans are the feed live delivery reads (see feedSetup): a row
//     per change a member sees, its seq the event's prepare position in $all (the cursor); a
//     message's ciphertext leaves the feed when the message is destroyed, and a posted message's row
//     is answered as gone (never delivered) once its expiry or burn time has passed.
//   - MessageDestroyed deletes the message's row and its receipts; the queries never answer a
//     message whose expiry or burn time has passed, even before the sweep destroys it.
//   - A call's start and end (domain/wickr/call) are feed rows of its conversation (CallStarted,
//     CallEnded, with the call id), so every member's devices ring and stop ringing;
//     rm.wickr_calls maps a call to its conversation for the end, which does not name it.
//   - Every statement is idempotent for its event (replays change nothing).
package wickrconversations

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"

	"github.com/belfry/belfry/domain/wickr/call"
	"github.com/belfry/belfry/domain/wickr/conversation"
)

// Projection is the conversations read model.
type Projection struct{}

// Name is stable.
func (Projection) Name() string { return "wickr_conversations" }

// Version of the table layout.
func (Projection) Version() int { return 5 }

// Tables exposed under rm.
func (Projection) Tables() []string {
	return []string{"wickr_conversations", "wickr_conversation_members", "wickr_messages", "wickr_message_receipts", "wickr_feed", "wickr_feed_spans",
		"wickr_calls"}
}

// Filter selects the conversation and call streams.
func (Projection) Filter() *esdb.SubscriptionFilter {
	return &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{conversation.StreamPrefix, call.StreamPrefix}}
}

// Setup creates the tables.
func (Projection) Setup(ctx context.Context, tx pgx.Tx, schema string) error {
	_, err := tx.Exec(ctx, fmt.Sprintf(`
		CREATE TABLE %[1]s.wickr_conversations (
			conversation_id text PRIMARY KEY,
			kind            text NOT NULL,
			title           text NOT NULL DEFAULT '',
			created_by      text NOT NULL,
			created_at      timestamptz NOT NULL,
			last_message_at timestamptz
		);
		CREATE TABLE %[1]s.wickr_conversation_members (
			conversation_id text NOT NULL,
			member_key      text NOT NULL,
			network_id      text NOT NULL DEFAULT '',
			user_id         text NOT NULL DEFAULT '',
			guest_hash      text NOT NULL DEFAULT '',
			moderator       boolean NOT NULL DEFAULT false,
			PRIMARY KEY (conversation_id, member_key)
		);
		CREATE INDEX ON %[1]s.wickr_conversation_members (member_key, conversation_id);
		CREATE TABLE %[1]s.wickr_messages (
			conversation_id text NOT NULL,
			seq             bigint NOT NULL,
			message_id      text NOT NULL,
			sender_key      text NOT NULL,
			key_id          text NOT NULL,
			sealed          bytea NOT NULL,
			ttl             bigint NOT NULL DEFAULT 0,
			bor             bigint NOT NULL DEFAULT 0,
			content_type    text,
			size            bigint,
			preview         boolean NOT NULL DEFAULT false,
			forwarded       boolean NOT NULL DEFAULT false,
			position        bigint NOT NULL DEFAULT 0,
			created_at      timestamptz NOT NULL,
			expires_at      timestamptz,
			burn_at         timestamptz,
			PRIMARY KEY (conversation_id, seq),
			UNIQUE (conversation_id, message_id)
		);
		CREATE INDEX ON %[1]s.wickr_messages (expires_at) WHERE expires_at IS NOT NULL;
		CREATE INDEX ON %[1]s.wickr_messages (burn_at) WHERE burn_at IS NOT NULL;
		CREATE TABLE %[1]s.wickr_message_receipts (
			conversation_id text NOT NULL,
			message_id      text NOT NULL,
			reader_key      text NOT NULL,
			read_at         timestamptz NOT NULL,
			PRIMARY KEY (conversation_id, message_id, reader_key)
		);`+feedSetup, schema))
	return err
}

// Apply applies one event.
func (Projection) Apply(b *pgx.Batch, schema string, ev *esdb.RecordedEvent) error {
	if id, ok := strings.CutPrefix(ev.StreamID, call.StreamPrefix); ok {
		e, err := call.Decode(ev.EventType, ev.Data)
		if err != nil {
			return err
		}
		applyCall(b, schema, id, int64(ev.Position.Prepare), e)
		return nil
	}
	e, err := conversation.Decode(ev.EventType, ev.Data)
	if err != nil {
		return err
	}
	id := strings.TrimPrefix(ev.StreamID, conversation.StreamPrefix)
	applyFeed(b, schema, id, int64(ev.Position.Prepare), e)
	switch e := e.(type) {
	case conversation.Created:
		b.Queue(`INSERT INTO `+schema+`.wickr_conversations (conversation_id, kind, title, created_by, created_at) VALUES ($1,$2,$3,$4,$5)
			ON CONFLICT (conversation_id) DO NOTHING`, id, e.Kind, e.Title, e.CreatedBy.Key(), e.At)
		addMembers(b, schema, id, e.Members)
		if m, ok := e.FirstModerator(); ok {
			moderator(b, schema, id, m.Key())
		}
	case conversation.ModeratorAdded:
		moderator(b, schema, id, e.Member.Participant().Key())
	case conversation.MembersAdded:
		addMembers(b, schema, id, e.Members)
	case conversation.MemberLeft:
		b.Queue(`DELETE FROM `+schema+`.wickr_conversation_members WHERE conversation_id = $1 AND member_key = $2`, id, e.Member.Key())
	case conversation.MessagePosted:
		applyPosted(b, schema, id, int64(ev.Position.Prepare), e)
	case conversation.MessageRead:
		if e.StartsBurn {
			b.Queue(`UPDATE `+schema+`.wickr_messages SET burn_at = $3::timestamptz + LEAST(bor, $4) * interval '1 second'
				WHERE conversation_id = $1 AND message_id = $2 AND burn_at IS NULL`, id, e.MessageID, e.At, conversation.MaxTimer)
		}
		if e.Receipt {
			b.Queue(`INSERT INTO `+schema+`.wickr_message_receipts (conversation_id, message_id, reader_key, read_at)
				SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM `+schema+`.wickr_messages WHERE conversation_id = $1 AND message_id = $2)
				ON CONFLICT DO NOTHING`, id, e.MessageID, e.Reader.Key(), e.At)
		}
	case conversation.MessageDestroyed:
		b.Queue(`DELETE FROM `+schema+`.wickr_message_receipts WHERE conversation_id = $1 AND message_id = $2`, id, e.MessageID)
		b.Queue(`DELETE FROM `+schema+`.wickr_messages WHERE conversation_id = $1 AND message_id = $2`, id, e.MessageID)
	}
	return nil
}

func moderator(b *pgx.Batch, schema, id, key string) {
	b.Queue(`UPDATE `+schema+`.wickr_conversation_members SET moderator = true WHERE conversation_id = $1 AND member_key = $2`, id, key)
}

func addMembers(b *pgx.Batch, schema, id string, members []conversation.Participant) {
	for _, m := range members {
		b.Queue(`INSERT INTO `+schema+`.wickr_conversation_members (conversation_id, member_key, network_id, user_id, guest_hash)
			VALUES ($1,$2,$3,$4,$5) ON CONFLICT DO NOTHING`, id, m.Key(), m.NetworkID, m.UserID, m.GuestHash)
	}
}

func applyPosted(b *pgx.Batch, schema, id string, position int64, e conversation.MessagePosted) {
	var expires *time.Time
	if e.TTL > 0 {
		t := e.At.Add(conversation.Timer(e.TTL))
		expires = &t
	}
	var ctype *string
	var size *int64
	preview := false
	if e.Attachment != nil {
		ctype, size, preview = &e.Attachment.ContentType, &e.Attachment.Size, e.Attachment.Preview
	}
	b.Queue(`INSERT INTO `+schema+`.wickr_messages (conversation_id, seq, message_id, sender_key, key_id, sealed, ttl, bor, content_type, size, preview,
		forwarded, created_at, expires_at, position) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)
		ON CONFLICT DO NOTHING`,
		id, e.Seq, e.MessageID, e.Sender.Key(), e.KeyID, e.Sealed, e.TTL, e.BOR, ctype, size, preview, e.ForwardedFrom != nil, e.At, expires, position)
	b.Queue(`UPDATE `+schema+`.wickr_conversations SET last_message_at = greatest(coalesce(last_message_at, $2), $2) WHERE conversation_id = $1`, id, e.At)
}
