package wickrconversations

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr/conversation"
	"github.com/belfry/belfry/projections"
)

// Conversation is one conversation row.
type Conversation struct {
	ID, Kind, Title, CreatedBy string
	CreatedAt                  time.Time
	LastMessageAt              time.Time // zero: no message yet
}

// Member is one member row.
type Member struct {
	Key, NetworkID, UserID, GuestHash string
	Moderator                         bool // a room's moderator
}

// Participant is the member as the domain names it.
func (m Member) Participant() conversation.Participant {
	return conversation.Participant{NetworkID: m.NetworkID, UserID: m.UserID, GuestHash: m.GuestHash}
}

// Message is one message row: its content still sealed.
type Message struct {
	ConversationID, MessageID, SenderKey, KeyID string
	Seq                                         int64
	Sealed                                      []byte
	TTL, BOR                                    int64
	ContentType                                 string
	Size                                        int64 // 0: no attachment
	Preview                                     bool  // a preview rendition can be made of its file
	CreatedAt                                   time.Time
	ExpiresAt, BurnAt                           time.Time // zero: none
	// Forwarded: it forwards another message (the event names which; the read model does not).
	Forwarded bool
}

// Receipt is a read receipt: who read a message, when.
type Receipt struct {
	ReaderKey string
	ReadAt    time.Time
}

// Due is a message whose expiry or burn time has passed.
type Due struct {
	ConversationID, MessageID, KeyID string
	// Deadline is when it went (its expiry or burn time, the earlier); Position is the $all
	// position of its MessagePosted.
	Deadline time.Time
	Position uint64
}

// DueCursor is where a listing of due messages goes on: after this deadline and message.
type DueCursor struct {
	Deadline                  time.Time
	ConversationID, MessageID string
}

// Next is the cursor after d.
func (d Due) Next() DueCursor {
	return DueCursor{Deadline: d.Deadline, ConversationID: d.ConversationID, MessageID: d.MessageID}
}

// Store answers the queries of the conversations read model.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns a Store over pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Conversation returns one conversation; NotFound (conversation.ErrNotFound) when it does not exist.
func (s *Store) Conversation(ctx context.Context, id string) (Conversation, error) {
	var c Conversation
	var last *time.Time
	err := s.pool.QueryRow(ctx, projections.SQL(ctx, `SELECT conversation_id, kind, title, created_by, created_at, last_message_at
		FROM rm.wickr_conversations WHERE conversation_id = $1`), id).Scan(&c.ID, &c.Kind, &c.Title, &c.CreatedBy, &c.CreatedAt, &last)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, domain.Wrapf(conversation.ErrNotFound, "conversation %s not found", id)
	}
	if err != nil {
		return c, fmt.Errorf("wickrconversations: conversation: %w", err)
	}
	if last != nil {
		c.LastMessageAt = *last
	}
	return c, nil
}

// IsMember reports whether the participant key belongs to the conversation.
func (s *Store) IsMember(ctx context.Context, id, key string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, projections.SQL(ctx, `SELECT EXISTS (SELECT 1 FROM rm.wickr_conversation_members WHERE conversation_id = $1 AND member_key = $2)`),
		id, key).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("wickrconversations: member: %w", err)
	}
	return ok, nil
}

// Members lists a conversation's members (at most conversation.MaxMembers).
func (s *Store) Members(ctx context.Context, id string) ([]Member, error) {
	rows, _ := s.pool.Query(ctx, projections.SQL(ctx, `SELECT member_key, network_id, user_id, guest_hash, moderator FROM rm.wickr_conversation_members
		WHERE conversation_id = $1 ORDER BY member_key LIMIT $2`), id, conversation.MaxMembers)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Member, error) {
		var m Member
		return m, r.Scan(&m.Key, &m.NetworkID, &m.UserID, &m.GuestHash, &m.Moderator)
	})
	if err != nil {
		return nil, fmt.Errorf("wickrconversations: members: %w", err)
	}
	return out, nil
}

// ForMember lists the conversations of a participant in id order after the cursor after ("": from
// the first), at most limit.
func (s *Store) ForMember(ctx context.Context, key, after string, limit int) ([]Conversation, error) {
	rows, _ := s.pool.Query(ctx, projections.SQL(ctx, `SELECT c.conversation_id, c.kind, c.title, c.created_by, c.created_at, c.last_message_at
		FROM rm.wickr_conversation_members m JOIN rm.wickr_conversations c USING (conversation_id)
		WHERE m.member_key = $1 AND m.conversation_id > $2 ORDER BY m.conversation_id LIMIT $3`), key, after, limit)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Conversation, error) {
		var c Conversation
		var last *time.Time
		err := r.Scan(&c.ID, &c.Kind, &c.Title, &c.CreatedBy, &c.CreatedAt, &last)
		if last != nil {
			c.LastMessageAt = *last
		}
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("wickrconversations: conversations: %w", err)
	}
	return out, nil
}

const live = `(expires_at IS NULL OR expires_at > $2) AND (burn_at IS NULL OR burn_at > $2)`

// Messages lists a conversation's messages that are not gone at now, newest first, before the
// sequence number before (0: from the newest), at most limit.
func (s *Store) Messages(ctx context.Context, id string, now time.Time, before int64, limit int) ([]Message, error) {
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, _ := s.pool.Query(ctx, projections.SQL(ctx, `SELECT conversation_id, message_id, sender_key, key_id, seq, sealed, ttl, bor,
		coalesce(content_type, ''), coalesce(size, 0), preview,
		forwarded, created_at, expires_at, burn_at
		FROM rm.wickr_messages WHERE conversation_id = $1 AND `+live+` AND seq < $3 ORDER BY seq DESC LIMIT $4`), id, now, before, limit)
	out, err := pgx.CollectRows(rows, scanMessage)
	if err != nil {
		return nil, fmt.Errorf("wickrconversations: messages: %w", err)
	}
	return out, nil
}

func scanMessage(r pgx.CollectableRow) (Message, error) {
	var m Message
	var exp, burn *time.Time
	err := r.Scan(&m.ConversationID, &m.MessageID, &m.SenderKey, &m.KeyID, &m.Seq, &m.Sealed, &m.TTL, &m.BOR, &m.ContentType, &m.Size, &m.Preview,
		&m.Forwarded, &m.CreatedAt, &exp, &burn)
	if exp != nil {
		m.ExpiresAt = *exp
	}
	if burn != nil {
		m.BurnAt = *burn
	}
	return m, err
}

// Receipts returns the read receipts of the named messages of a conversation.
func (s *Store) Receipts(ctx context.Context, id string, messageIDs []string) (map[string][]Receipt, error) {
	rows, _ := s.pool.Query(ctx, projections.SQL(ctx, `SELECT message_id, reader_key, read_at FROM rm.wickr_message_receipts
		WHERE conversation_id = $1 AND message_id = ANY($2) ORDER BY read_at, reader_key`), id, messageIDs)
	out := map[string][]Receipt{}
	var mid string
	var r Receipt
	_, err := pgx.ForEachRow(rows, []any{&mid, &r.ReaderKey, &r.ReadAt}, func() error {
		out[mid] = append(out[mid], r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("wickrconversations: receipts: %w", err)
	}
	return out, nil
}

// Due lists messages whose expiry or burn time has passed at now, after the cursor (the zero
// cursor: from the first), at most limit, oldest deadline first (then by conversation and message).
func (s *Store) Due(ctx context.Context, now time.Time, after DueCursor, limit int) ([]Due, error) {
	rows, _ := s.pool.Query(ctx, `SELECT conversation_id, message_id, key_id, d, position FROM (
		SELECT conversation_id, message_id, key_id, LEAST(expires_at, burn_at) AS d, position FROM rm.wickr_messages
		WHERE expires_at <= $1 OR burn_at <= $1) due
		WHERE (d, conversation_id, message_id) > ($2, $3, $4)
		ORDER BY d, conversation_id, message_id LIMIT $5`, now, after.Deadline, after.ConversationID, after.MessageID, limit)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Due, error) {
		var d Due
		var pos int64
		err := r.Scan(&d.ConversationID, &d.MessageID, &d.KeyID, &d.Deadline, &pos)
		d.Position = uint64(pos)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("wickrconversations: due: %w", err)
	}
	return out, nil
}

// Message returns one message of a conversation that is not gone at now; NotFound
// (conversation.ErrMessageNotFound) when there is none.
func (s *Store) Message(ctx context.Context, id, messageID string, now time.Time) (Message, error) {
	rows, _ := s.pool.Query(ctx, projections.SQL(ctx, `SELECT conversation_id, message_id, sender_key, key_id, seq, sealed, ttl, bor,
		coalesce(content_type, ''), coalesce(size, 0), preview,
		forwarded, created_at, expires_at, burn_at
		FROM rm.wickr_messages WHERE conversation_id = $1 AND `+live+` AND message_id = $3`), id, now, messageID)
	m, err := pgx.CollectExactlyOneRow(rows, scanMessage)
	if errors.Is(err, pgx.ErrNoRows) {
		return m, domain.Wrapf(conversation.ErrMessageNotFound, "message %s not found", messageID)
	}
	if err != nil {
		return m, fmt.Errorf("wickrconversations: message: %w", err)
	}
	return m, nil
}
