package chimeconversations

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/conversation"
	"github.com/belfry/belfry/projections"
)

// Conversation is one row of rm.chime_conversations with its members; LastSeq is the feed position
// of its last message (or of its creation).
type Conversation struct {
	ConversationID, Kind, Name, CreatedBy string
	CreatedAt                             time.Time
	LastSeq                               int64
	Members                               []Member
}

// Member is one row of rm.chime_conversation_members.
type Member struct {
	UserID, AccountID, Email, FullName string
	JoinedAt                           time.Time
}

// Message is one row of rm.chime_conversation_messages: the content sealed under KeyID (Sealed is nil
// once redacted); Content is for the service to fill in when it opens it.
type Message struct {
	ConversationID, MessageID, SenderID, SenderAccountID, SenderName, Content, KeyID string
	Sealed                                                                           []byte
	Redacted                                                                         bool
	Seq                                                                              int64
	CreatedAt                                                                        time.Time
	EditedAt                                                                         *time.Time
}

// Store answers conversation and feed queries over the active generation's views.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns a store.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// notMember is the answer to a user outside a conversation: it does not exist for them.
func notMember(id string) error {
	return domain.Wrapf(conversation.ErrNotFound, "Conversation %s does not exist or you are not a member", id)
}

// GetConversation returns a conversation to one of its members (NotFound to anyone else).
func (s *Store) GetConversation(ctx context.Context, id, userID string) (Conversation, error) {
	var c Conversation
	err := s.pool.QueryRow(ctx, projections.SQL(ctx, `SELECT c.conversation_id, c.kind, c.name, c.created_by, c.created_at, c.last_seq
		FROM rm.chime_conversations c JOIN rm.chime_conversation_members m ON m.conversation_id = c.conversation_id AND m.member_id = $2
		WHERE c.conversation_id = $1`), id, userID).Scan(&c.ConversationID, &c.Kind, &c.Name, &c.CreatedBy, &c.CreatedAt, &c.LastSeq)
	if errors.Is(err, pgx.ErrNoRows) {
		return Conversation{}, notMember(id)
	}
	if err != nil {
		return Conversation{}, fmt.Errorf("chimeconversations: get: %w", err)
	}
	list := []Conversation{c}
	if err := s.withMembers(ctx, list); err != nil {
		return Conversation{}, err
	}
	return list[0], nil
}

// ListConversations returns a page of a user's conversations, the latest active first; the token is
// the LastSeq the previous page ended at.
func (s *Store) ListConversations(ctx context.Context, userID, token string, limit int) ([]Conversation, string, error) {
	before, err := seqToken(token)
	if err != nil {
		return nil, "", err
	}
	rows, _ := s.pool.Query(ctx, projections.SQL(ctx, `SELECT c.conversation_id, c.kind, c.name, c.created_by, c.created_at, c.last_seq
		FROM rm.chime_conversation_members m JOIN rm.chime_conversations c ON c.conversation_id = m.conversation_id
		WHERE m.member_id = $1 AND c.last_seq < $2 ORDER BY c.last_seq DESC LIMIT $3`), userID, before, limit+1)
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Conversation, error) {
		var c Conversation
		err := r.Scan(&c.ConversationID, &c.Kind, &c.Name, &c.CreatedBy, &c.CreatedAt, &c.LastSeq)
		return c, err
	})
	if err != nil {
		return nil, "", fmt.Errorf("chimeconversations: list: %w", err)
	}
	list, next := projections.Page(list, limit, func(c Conversation) string { return strconv.FormatInt(c.LastSeq, 10) })
	return list, next, s.withMembers(ctx, list)
}

// withMembers fills in the members of a page of conversations.
func (s *Store) withMembers(ctx context.Context, list []Conversation) error {
	if len(list) == 0 {
		return nil
	}
	ids, at := make([]string, len(list)), map[string]int{}
	for i, c := range list {
		ids[i], at[c.ConversationID] = c.ConversationID, i
	}
	rows, _ := s.pool.Query(ctx, projections.SQL(ctx, `SELECT conversation_id, member_id, account_id, email, full_name, joined_at
		FROM rm.chime_conversation_members WHERE conversation_id = ANY($1) ORDER BY joined_at, member_id`), ids)
	var conv string
	var m Member
	_, err := pgx.ForEachRow(rows, []any{&conv, &m.UserID, &m.AccountID, &m.Email, &m.FullName, &m.JoinedAt}, func() error {
		list[at[conv]].Members = append(list[at[conv]].Members, m)
		return nil
	})
	if err != nil {
		return fmt.Errorf("chimeconversations: members: %w", err)
	}
	return nil
}

// ListMessages returns a page of a conversation's messages, newest first, older than the message the
// token names (the first page without one). Callers check membership.
func (s *Store) ListMessages(ctx context.Context, id, token string, limit int) ([]Message, string, error) {
	before, err := seqToken(token)
	if err != nil {
		return nil, "", err
	}
	rows, _ := s.pool.Query(ctx, projections.SQL(ctx, `SELECT conversation_id, message_id, sender_id, sender_account_id, sender_name, key_id, sealed,
		redacted, seq, created_at, edited_at FROM rm.chime_conversation_messages WHERE conversation_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`),
		id, before, limit+1)
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Message, error) {
		var m Message
		err := r.Scan(&m.ConversationID, &m.MessageID, &m.SenderID, &m.SenderAccountID, &m.SenderName, &m.KeyID, &m.Sealed, &m.Redacted,
			&m.Seq, &m.CreatedAt, &m.EditedAt)
		return m, err
	})
	if err != nil {
		return nil, "", fmt.Errorf("chimeconversations: messages: %w", err)
	}
	list, next := projections.Page(list, limit, func(m Message) string { return strconv.FormatInt(m.Seq, 10) })
	return list, next, nil
}

// seqToken reads a page token that carries a seq; the first page ("") starts above every seq.
func seqToken(token string) (int64, error) {
	raw, err := projections.DecodeToken(token)
	if err != nil || raw == "" {
		return 1<<63 - 1, err
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n < 0 {
		return 0, domain.Wrapf(projections.ErrBadToken, "NextToken %q is not valid", token)
	}
	return n, nil
}
