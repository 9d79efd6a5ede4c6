package chimeconversations

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/belfry/belfry/projections"
)

// AccountConversationIDs returns the conversations an account's users are members of or sent to.
func (s *Store) AccountConversationIDs(ctx context.Context, accountID string) ([]string, error) {
	rows, _ := s.pool.Query(ctx, projections.SQL(ctx, `SELECT conversation_id FROM rm.chime_conversation_members WHERE account_id = $1
		UNION SELECT DISTINCT conversation_id FROM rm.chime_conversation_messages WHERE sender_account_id = $1 ORDER BY 1`), accountID)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("chimeconversations: account conversations: %w", err)
	}
	return ids, nil
}

// UserContainerIDs returns the rooms and conversations a user is or ever was a member of (the chat
// spans).
func (s *Store) UserContainerIDs(ctx context.Context, userID string) ([]string, error) {
	rows, _ := s.pool.Query(ctx, projections.SQL(ctx, `SELECT DISTINCT container_id FROM rm.chime_chat_spans WHERE member_id = $1 ORDER BY 1`), userID)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("chimeconversations: user's containers: %w", err)
	}
	return ids, nil
}

// MessagesBetween returns up to limit messages of the conversations ids (other ids are ignored)
// sent in [from, to), in (created_at, conversation_id, message_id) order after the key (afterAt,
// afterConv, afterID).
func (s *Store) MessagesBetween(ctx context.Context, ids []string, from, to, afterAt time.Time, afterConv, afterID string, limit int) ([]Message, error) {
	rows, _ := s.pool.Query(ctx, projections.SQL(ctx, `SELECT conversation_id, message_id, sender_id, sender_account_id, sender_name, key_id, sealed,
		redacted, seq, created_at, edited_at FROM rm.chime_conversation_messages WHERE conversation_id = ANY($1) AND created_at >= $2 AND created_at < $3
		AND (created_at, conversation_id, message_id) > ($4, $5, $6) ORDER BY created_at, conversation_id, message_id LIMIT $7`),
		ids, from, to, afterAt, afterConv, afterID, limit)
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Message, error) {
		var m Message
		err := r.Scan(&m.ConversationID, &m.MessageID, &m.SenderID, &m.SenderAccountID, &m.SenderName, &m.KeyID, &m.Sealed, &m.Redacted,
			&m.Seq, &m.CreatedAt, &m.EditedAt)
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("chimeconversations: messages between: %w", err)
	}
	return list, nil
}
