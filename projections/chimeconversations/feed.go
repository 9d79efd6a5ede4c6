package chimeconversations

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/belfry/belfry/projections"
)

// FeedItem is one row of rm.chime_chat_feed; Recipients (Since only) are the users who see it.
// SentAt, in a row about a message (MessageID set), is when the message was posted (its
// MessagePosted row's At; the row's own At when that row is gone): what retention measures.
type FeedItem struct {
	Seq                              int64
	ContainerType, ContainerID, Kind string
	MemberID, MessageID              string
	SenderID, SenderName, KeyID      string
	Sealed                           []byte
	At, SentAt                       time.Time
	Recipients                       []string
}

const feedCols = `f.seq, f.container_type, f.container_id, f.kind, f.member_id, f.message_id, f.sender_id, f.sender_name, f.key_id, f.sealed, f.at,
	coalesce((SELECT p.at FROM rm.chime_chat_feed p WHERE p.container_id = f.container_id AND p.message_id = f.message_id
		AND p.message_id <> '' AND p.kind = 'MessagePosted' LIMIT 1), f.at)`

// spanJoin joins a feed row to the spans of the members who see it.
const spanJoin = `s.container_id = f.container_id AND f.seq >= s.from_seq AND (s.to_seq IS NULL OR f.seq <= s.to_seq)`

// Since returns the feed rows after seq after, up to seq upto, at most limit, in feed order, each with
// the users who see it (rows nobody sees are left out).
func (s *Store) Since(ctx context.Context, after, upto int64, limit int) ([]FeedItem, error) {
	rows, _ := s.pool.Query(ctx, projections.SQL(ctx, `SELECT `+feedCols+`, r.members FROM rm.chime_chat_feed f
		CROSS JOIN LATERAL (SELECT array_agg(s.member_id) AS members FROM rm.chime_chat_spans s WHERE `+spanJoin+`) r
		WHERE f.seq > $1 AND f.seq <= $2 AND r.members IS NOT NULL ORDER BY f.seq LIMIT $3`), after, upto, limit)
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (FeedItem, error) {
		var it FeedItem
		err := r.Scan(&it.Seq, &it.ContainerType, &it.ContainerID, &it.Kind, &it.MemberID, &it.MessageID, &it.SenderID, &it.SenderName,
			&it.KeyID, &it.Sealed, &it.At, &it.SentAt, &it.Recipients)
		return it, err
	})
	if err != nil {
		return nil, fmt.Errorf("chimeconversations: feed: %w", err)
	}
	return list, nil
}

// ForMember returns the feed rows one user sees after seq after, up to seq upto, at most limit, in
// feed order (a reconnecting client's replay).
func (s *Store) ForMember(ctx context.Context, userID string, after, upto int64, limit int) ([]FeedItem, error) {
	rows, _ := s.pool.Query(ctx, projections.SQL(ctx, `SELECT `+feedCols+`
		FROM rm.chime_chat_spans s JOIN rm.chime_chat_feed f ON `+spanJoin+`
		WHERE s.member_id = $1 AND f.seq > $2 AND f.seq <= $3 ORDER BY f.seq LIMIT $4`), userID, after, upto, limit)
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (FeedItem, error) {
		var it FeedItem
		err := r.Scan(&it.Seq, &it.ContainerType, &it.ContainerID, &it.Kind, &it.MemberID, &it.MessageID, &it.SenderID, &it.SenderName,
			&it.KeyID, &it.Sealed, &it.At, &it.SentAt)
		return it, err
	})
	if err != nil {
		return nil, fmt.Errorf("chimeconversations: member feed: %w", err)
	}
	return list, nil
}
