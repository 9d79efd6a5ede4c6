package chimeconversations

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ConversationAccounts returns, in id order after after, up to limit conversations with the accounts
// of their members (what a conversation's retention depends on, guide §4.7.1). It lists every
// conversation: none is ever without a member (a Direct one keeps its two, a group's last member
// cannot leave: domain/chime/conversation), so each is purged under its current members' retention.
func (s *Store) ConversationAccounts(ctx context.Context, after string, limit int) (ids []string, accounts [][]string, err error) {
	rows, err := s.pool.Query(ctx, `SELECT conversation_id, array_agg(DISTINCT account_id ORDER BY account_id) FROM rm.chime_conversation_members
		WHERE conversation_id > $1 GROUP BY conversation_id ORDER BY conversation_id LIMIT $2`, after, limit)
	if err != nil {
		return nil, nil, fmt.Errorf("chimeconversations: members' accounts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var a []string
		if err := rows.Scan(&id, &a); err != nil {
			return nil, nil, fmt.Errorf("chimeconversations: members' accounts: %w", err)
		}
		ids, accounts = append(ids, id), append(accounts, a)
	}
	return ids, accounts, rows.Err()
}

// dueMessages selects the messages of conversation $1[i] sent before $2[i].
const dueMessages = `SELECT m.conversation_id, m.message_id FROM unnest($1::text[], $2::timestamptz[]) AS d(id, before)
	CROSS JOIN LATERAL (SELECT conversation_id, message_id FROM rm.chime_conversation_messages m
		WHERE m.conversation_id = d.id AND m.created_at < d.before) m`

// CountMessagesBefore counts the messages of conversation ids[i] sent before befores[i], and the
// conversations they are in.
func (s *Store) CountMessagesBefore(ctx context.Context, ids []string, befores []time.Time) (messages int64, conversations int, err error) {
	err = s.pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT conversation_id) FROM (`+dueMessages+`) d`, ids, befores).Scan(&messages, &conversations)
	if err != nil {
		return 0, 0, fmt.Errorf("chimeconversations: count messages: %w", err)
	}
	return messages, conversations, nil
}

// DeleteMessagesBefore deletes up to limit of the messages of conversation ids[i] sent before
// befores[i], with their chat-feed rows, and returns how many messages it deleted (the retention
// purge, after their keys were destroyed). A rebuild of the read model brings them back, sealed under
// destroyed keys; the next purge deletes them again.
func (s *Store) DeleteMessagesBefore(ctx context.Context, ids []string, befores []time.Time, limit int) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `WITH due AS MATERIALIZED (`+dueMessages+` LIMIT $3)
			DELETE FROM rm.chime_conversation_messages t USING due WHERE t.conversation_id = due.conversation_id AND t.message_id = due.message_id
			RETURNING t.conversation_id, t.message_id`, ids, befores, limit)
		if err != nil {
			return err
		}
		var convs, msgs []string
		for rows.Next() {
			var c, m string
			if err := rows.Scan(&c, &m); err != nil {
				rows.Close()
				return err
			}
			convs, msgs = append(convs, c), append(msgs, m)
		}
		if rows.Close(); rows.Err() != nil {
			return rows.Err()
		}
		n = int64(len(msgs))
		_, err = tx.Exec(ctx, `DELETE FROM rm.chime_chat_feed f USING unnest($1::text[], $2::text[]) AS d(c, m)
			WHERE f.container_id = d.c AND f.message_id = d.m`, convs, msgs)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("chimeconversations: delete messages: %w", err)
	}
	return n, nil
}

// MemberAccounts returns the accounts of the members of each of the conversations ids.
func (s *Store) MemberAccounts(ctx context.Context, ids []string) (map[string][]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT conversation_id, array_agg(DISTINCT account_id ORDER BY account_id) FROM rm.chime_conversation_members
		WHERE conversation_id = ANY($1) GROUP BY conversation_id`, ids)
	if err != nil {
		return nil, fmt.Errorf("chimeconversations: members' accounts: %w", err)
	}
	defer rows.Close()
	out := make(map[string][]string, len(ids))
	for rows.Next() {
		var id string
		var a []string
		if err := rows.Scan(&id, &a); err != nil {
			return nil, fmt.Errorf("chimeconversations: members' accounts: %w", err)
		}
		out[id] = a
	}
	return out, rows.Err()
}

// DeleteFeedBefore deletes up to limit rows of a container's chat feed about messages posted before
// before, and returns how many. The rows about one message go before its posted row (the batch is
// ordered so), so a row is never left whose posted row, which dates it, is gone.
func (s *Store) DeleteFeedBefore(ctx context.Context, containerID string, before time.Time, limit int) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM rm.chime_chat_feed WHERE seq IN (
		SELECT f.seq FROM rm.chime_chat_feed f JOIN rm.chime_chat_feed p
			ON p.container_id = f.container_id AND p.message_id = f.message_id AND p.kind = $4
		WHERE f.container_id = $1 AND f.message_id <> '' AND p.at < $2
		ORDER BY f.kind = $4, f.seq LIMIT $3)`, containerID, before, limit, KindMessagePosted)
	if err != nil {
		return 0, fmt.Errorf("chimeconversations: delete feed rows: %w", err)
	}
	return tag.RowsAffected(), nil
}
