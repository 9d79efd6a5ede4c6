package wickrconversations

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/belfry/belfry/domain/wickr/call"
	"github.com/belfry/belfry/domain/wickr/conversation"
	"github.com/belfry/belfry/projections"
)

// Feed row kinds, as live delivery (api/wickr/messaging Stream) names them.
const (
	KindCreated          = "ConversationCreated"
	KindMembersAdded     = "MembersAdded"
	KindMemberLeft       = "MemberLeft"
	KindModeratorAdded   = "ModeratorAdded"
	KindMessagePosted    = "MessagePosted"
	KindReadReceipt      = "ReadReceipt"
	KindMessageDestroyed = "MessageDestroyed"
	KindCallStarted      = "CallStarted"
	KindCallEnded        = "CallEnded"
)

// feedSetup creates the feed: rm.wickr_feed, one row per change a member sees (seq: the event's
// prepare position in $all), and rm.wickr_feed_spans, the spans of the log in which each participant
// was a member of each conversation (from_seq ≤ seq ≤ to_seq, to_seq NULL while a member). A row
// with an audience is seen only by the members it names (a read receipt: the sender and the
// reader); a message's row keeps its ciphertext until the message is destroyed.
const feedSetup = `
		CREATE TABLE %[1]s.wickr_feed (
			seq             bigint PRIMARY KEY,
			conversation_id text NOT NULL,
			kind            text NOT NULL,
			actor_key       text NOT NULL DEFAULT '',
			member_keys     text[],
			message_id      text NOT NULL DEFAULT '',
			key_id          text NOT NULL DEFAULT '',
			sealed          bytea,
			ttl             bigint NOT NULL DEFAULT 0,
			bor             bigint NOT NULL DEFAULT 0,
			content_type    text NOT NULL DEFAULT '',
			size            bigint NOT NULL DEFAULT 0,
			preview         boolean NOT NULL DEFAULT false,
			forwarded       boolean NOT NULL DEFAULT false,
			reason          text NOT NULL DEFAULT '',
			audience        text[],
			call_id         text NOT NULL DEFAULT '',
			at              timestamptz NOT NULL
		);
		CREATE TABLE %[1]s.wickr_calls (
			call_id         text PRIMARY KEY,
			conversation_id text NOT NULL
		);
		CREATE INDEX ON %[1]s.wickr_feed (conversation_id, message_id) WHERE message_id <> '';
		CREATE TABLE %[1]s.wickr_feed_spans (
			conversation_id text NOT NULL,
			member_key      text NOT NULL,
			from_seq        bigint NOT NULL,
			to_seq          bigint,
			PRIMARY KEY (conversation_id, member_key, from_seq)
		);
		CREATE INDEX ON %[1]s.wickr_feed_spans (member_key);`

// feedRow is what one event's feed row holds besides its seq, conversation and kind.
type feedRow struct {
	actor, message, keyID, ctype, reason string
	members, audience                    []string
	sealed                               []byte
	ttl, bor, size                       int64
	preview, forwarded                   bool
	at                                   time.Time
}

func keys(ps []conversation.Participant) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Key()
	}
	return out
}

// applyFeed queues the feed statements of one event at seq (idempotent: ON CONFLICT, and spans keyed
// by their start).
func applyFeed(b *pgx.Batch, schema, id string, seq int64, e conversation.Event) {
	row := func(kind string, r feedRow) {
		b.Queue(`INSERT INTO `+schema+`.wickr_feed (seq, conversation_id, kind, actor_key, member_keys, message_id, key_id, sealed, ttl, bor,
			content_type, size, preview, forwarded, reason, audience, at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17) ON CONFLICT (seq) DO NOTHING`,
			seq, id, kind, r.actor, r.members, r.message, r.keyID, r.sealed, r.ttl, r.bor, r.ctype, r.size, r.preview, r.forwarded,
			r.reason, r.audience, r.at)
	}
	join := func(ps []conversation.Participant) {
		for _, p := range ps {
			b.Queue(`INSERT INTO `+schema+`.wickr_feed_spans (conversation_id, member_key, from_seq) SELECT $1, $2, $3
				WHERE NOT EXISTS (SELECT 1 FROM `+schema+`.wickr_feed_spans WHERE conversation_id = $1 AND member_key = $2 AND (to_seq IS NULL OR from_seq = $3))`,
				id, p.Key(), seq)
		}
	}
	switch e := e.(type) {
	case conversation.Created:
		join(e.Members)
		row(KindCreated, feedRow{actor: e.CreatedBy.Key(), members: keys(e.Members), at: e.At})
	case conversation.MembersAdded:
		join(e.Members)
		row(KindMembersAdded, feedRow{actor: e.By.Key(), members: keys(e.Members), at: e.At})
	case conversation.MemberLeft:
		row(KindMemberLeft, feedRow{actor: e.Member.Key(), reason: e.Reason, at: e.At})
		b.Queue(`UPDATE `+schema+`.wickr_feed_spans SET to_seq = $3 WHERE conversation_id = $1 AND member_key = $2 AND to_seq IS NULL AND from_seq <= $3`,
			id, e.Member.Key(), seq)
	case conversation.ModeratorAdded:
		r := feedRow{members: []string{e.Member.Participant().Key()}, reason: e.Reason, at: e.At}
		if e.By != nil {
			r.actor = e.By.Participant().Key()
		}
		row(KindModeratorAdded, r)
	case conversation.MessagePosted:
		r := feedRow{actor: e.Sender.Key(), message: e.MessageID, keyID: e.KeyID, sealed: e.Sealed, ttl: e.TTL, bor: e.BOR, at: e.At}
		if e.Attachment != nil {
			r.ctype, r.size, r.preview = e.Attachment.ContentType, e.Attachment.Size, e.Attachment.Preview
		}
		r.forwarded = e.ForwardedFrom != nil
		row(KindMessagePosted, r)
	case conversation.MessageRead:
		if e.Receipt {
			b.Queue(`INSERT INTO `+schema+`.wickr_feed (seq, conversation_id, kind, actor_key, message_id, audience, at)
				SELECT $1, $2, $3, $4, $5, ARRAY[f.actor_key, $4], $6 FROM `+schema+`.wickr_feed f
				WHERE f.conversation_id = $2 AND f.message_id = $5 AND f.kind = $7 ON CONFLICT (seq) DO NOTHING`,
				seq, id, KindReadReceipt, e.Reader.Key(), e.MessageID, e.At, KindMessagePosted)
		}
	case conversation.MessageDestroyed:
		b.Queue(`UPDATE `+schema+`.wickr_feed SET sealed = NULL, key_id = '' WHERE conversation_id = $1 AND message_id = $2 AND kind = $3`,
			id, e.MessageID, KindMessagePosted)
		row(KindMessageDestroyed, feedRow{message: e.MessageID, reason: e.Reason, at: e.At})
	}
}

// applyCall queues the feed row of a call's start or end at seq in its conversation (idempotent: ON
// CONFLICT); the other call events are not in the feed.
func applyCall(b *pgx.Batch, schema, callID string, seq int64, e call.Event) {
	switch e := e.(type) {
	case call.Started:
		b.Queue(`INSERT INTO `+schema+`.wickr_calls (call_id, conversation_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, callID, e.ConversationID)
		b.Queue(`INSERT INTO `+schema+`.wickr_feed (seq, conversation_id, kind, actor_key, call_id, at) VALUES ($1,$2,$3,$4,$5,$6)
			ON CONFLICT (seq) DO NOTHING`, seq, e.ConversationID, KindCallStarted, e.By.Key(), callID, e.At)
	case call.Ended:
		b.Queue(`INSERT INTO `+schema+`.wickr_feed (seq, conversation_id, kind, call_id, reason, at)
			SELECT $1, c.conversation_id, $2, $3, $4, $5 FROM `+schema+`.wickr_calls c WHERE c.call_id = $3 ON CONFLICT (seq) DO NOTHING`,
			seq, KindCallEnded, callID, e.Reason, e.At)
	}
}

// FeedItem is one row of the feed as live delivery reads it. Gone reports a posted message that is
// gone at the time of the query (destroyed, or past its expiry or burn time): it is never delivered.
// Recipients (FeedSince only) are the member keys who see it.
type FeedItem struct {
	Seq                            int64
	ConversationID, Kind, ActorKey string
	MemberKeys                     []string
	MessageID, KeyID               string
	Sealed                         []byte
	TTL, BOR, Size                 int64
	Preview                        bool
	ContentType, Reason            string
	CallID                         string
	At                             time.Time
	ExpiresAt                      time.Time // zero: none
	Forwarded                      bool      // a posted message forwards another (which is not kept here)
	Gone                           bool
	Recipients                     []string
}

// feedCols reads a feed row and, for a posted message, whether it is gone at $now.
const feedCols = `f.seq, f.conversation_id, f.kind, f.actor_key, coalesce(f.member_keys, '{}'), f.message_id, f.key_id, f.sealed,
	f.ttl, f.bor, f.size, f.preview, f.content_type, f.reason, f.call_id, f.at, m.expires_at, f.forwarded,
	coalesce(f.kind = 'MessagePosted' AND (m.message_id IS NULL OR m.expires_at <= @now OR m.burn_at <= @now), false)`

// feedFrom joins a feed row to its message's row.
const feedFrom = ` LEFT JOIN rm.wickr_messages m ON f.kind = 'MessagePosted' AND m.conversation_id = f.conversation_id AND m.message_id = f.message_id`

// spanJoin joins a feed row to the spans of the members who see it.
const spanJoin = `s.conversation_id = f.conversation_id AND f.seq >= s.from_seq AND (s.to_seq IS NULL OR f.seq <= s.to_seq)
	AND (f.audience IS NULL OR s.member_key = ANY(f.audience))`

func scanFeed(r pgx.CollectableRow, recipients bool) (FeedItem, error) {
	var it FeedItem
	var exp *time.Time
	dest := []any{&it.Seq, &it.ConversationID, &it.Kind, &it.ActorKey, &it.MemberKeys, &it.MessageID, &it.KeyID, &it.Sealed,
		&it.TTL, &it.BOR, &it.Size, &it.Preview, &it.ContentType, &it.Reason, &it.CallID, &it.At, &exp, &it.Forwarded, &it.Gone}
	if recipients {
		dest = append(dest, &it.Recipients)
	}
	err := r.Scan(dest...)
	if exp != nil {
		it.ExpiresAt = *exp
	}
	return it, err
}

// FeedSince returns the feed rows after seq after, up to seq upto, at most limit, in feed order, each
// with the member keys who see it (rows nobody sees are left out), gone-ness judged at now.
func (s *Store) FeedSince(ctx context.Context, after, upto int64, now time.Time, limit int) ([]FeedItem, error) {
	rows, _ := s.pool.Query(ctx, projections.SQL(ctx, `SELECT `+feedCols+`, r.members FROM rm.wickr_feed f`+feedFrom+`
		CROSS JOIN LATERAL (SELECT array_agg(s.member_key) AS members FROM rm.wickr_feed_spans s WHERE `+spanJoin+`) r
		WHERE f.seq > @after AND f.seq <= @upto AND r.members IS NOT NULL ORDER BY f.seq LIMIT @limit`),
		pgx.NamedArgs{"after": after, "upto": upto, "now": now, "limit": limit})
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (FeedItem, error) { return scanFeed(r, true) })
	if err != nil {
		return nil, fmt.Errorf("wickrconversations: feed: %w", err)
	}
	return list, nil
}

// FeedForMember returns the feed rows the member (a participant key) sees after seq after, up to seq
// upto, at most limit, in feed order (a reconnecting client's replay), gone-ness judged at now.
func (s *Store) FeedForMember(ctx context.Context, member string, after, upto int64, now time.Time, limit int) ([]FeedItem, error) {
	rows, _ := s.pool.Query(ctx, projections.SQL(ctx, `SELECT `+feedCols+`
		FROM rm.wickr_feed_spans s JOIN rm.wickr_feed f ON `+spanJoin+feedFrom+`
		WHERE s.member_key = @member AND f.seq > @after AND f.seq <= @upto ORDER BY f.seq LIMIT @limit`),
		pgx.NamedArgs{"member": member, "after": after, "upto": upto, "now": now, "limit": limit})
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (FeedItem, error) { return scanFeed(r, false) })
	if err != nil {
		return nil, fmt.Errorf("wickrconversations: member feed: %w", err)
	}
	return list, nil
}
