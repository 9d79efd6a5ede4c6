package chimerooms

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/belfry/belfry/projections"
)

// AccountRoomIDs returns the ids of an account's rooms, deleted ones included.
func (s *Store) AccountRoomIDs(ctx context.Context, accountID string) ([]string, error) {
	rows, _ := s.pool.Query(ctx, projections.SQL(ctx, `SELECT room_id FROM rm.chime_rooms WHERE account_id = $1 ORDER BY room_id`), accountID)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("chimerooms: account rooms: %w", err)
	}
	return ids, nil
}

// MessagesBetween returns up to limit messages of the rooms ids (other ids are ignored) sent in
// [from, to), in (created_at, room_id, message_id) order after the key (afterAt, afterRoom, afterID).
func (s *Store) MessagesBetween(ctx context.Context, ids []string, from, to, afterAt time.Time, afterRoom, afterID string, limit int) ([]Message, error) {
	rows, _ := s.pool.Query(ctx, projections.SQL(ctx, `SELECT room_id, message_id, sender_id, sender_type, sender_name, key_id, sealed, redacted, created_at
		FROM rm.chime_room_messages WHERE room_id = ANY($1) AND created_at >= $2 AND created_at < $3 AND (created_at, room_id, message_id) > ($4, $5, $6)
		ORDER BY created_at, room_id, message_id LIMIT $7`), ids, from, to, afterAt, afterRoom, afterID, limit)
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Message, error) {
		var m Message
		err := r.Scan(&m.RoomID, &m.MessageID, &m.SenderID, &m.SenderType, &m.SenderName, &m.KeyID, &m.Sealed, &m.Redacted, &m.CreatedAt)
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("chimerooms: messages between: %w", err)
	}
	return list, nil
}
