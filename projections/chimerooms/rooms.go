// Package chimerooms projects chat rooms and their memberships into rm.chime_rooms and
// rm.chime_room_members, and answers their queries.
//
// Invariant: a deleted room keeps its row (deleted = true) but is never listed or returned, and its
// memberships are removed with it.
package chimerooms

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/room"
	"github.com/belfry/belfry/projections"
)

// Projection is the rooms read model.
type Projection struct{}

// Name is stable.
func (Projection) Name() string { return "chime_rooms" }

// Version of the layout.
func (Projection) Version() int { return 3 }

// Tables exposed under rm.
func (Projection) Tables() []string {
	return []string{"chime_rooms", "chime_room_members", "chime_room_messages", "chime_room_webhooks"}
}

// Filter selects room streams.
func (Projection) Filter() *esdb.SubscriptionFilter {
	return &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{room.StreamPrefix}}
}

// Setup creates the tables.
func (Projection) Setup(ctx context.Context, tx pgx.Tx, schema string) error {
	_, err := tx.Exec(ctx, fmt.Sprintf(`
		CREATE TABLE %[1]s.chime_rooms (
			room_id    text PRIMARY KEY,
			account_id text NOT NULL,
			name       text NOT NULL,
			created_by text NOT NULL,
			deleted    boolean NOT NULL DEFAULT false,
			created_at timestamptz NOT NULL,
			updated_at timestamptz NOT NULL
		);
		CREATE INDEX ON %[1]s.chime_rooms (account_id, room_id) WHERE NOT deleted;
		CREATE TABLE %[1]s.chime_room_members (
			room_id     text NOT NULL,
			member_id   text NOT NULL,
			member_type text NOT NULL,
			email       text NOT NULL,
			full_name   text NOT NULL,
			role        text NOT NULL,
			invited_by  text NOT NULL,
			updated_at  timestamptz NOT NULL,
			PRIMARY KEY (room_id, member_id)
		);
		CREATE INDEX ON %[1]s.chime_room_members (member_id);
		CREATE TABLE %[1]s.chime_room_messages (
			room_id     text NOT NULL,
			message_id  text NOT NULL,
			sender_id   text NOT NULL,
			sender_type text NOT NULL,
			sender_name text NOT NULL,
			key_id      text NOT NULL,
			sealed      bytea,
			redacted    boolean NOT NULL DEFAULT false,
			created_at  timestamptz NOT NULL,
			redacted_at timestamptz,
			PRIMARY KEY (room_id, message_id)
		);
		CREATE INDEX ON %[1]s.chime_room_messages (room_id, created_at DESC);
		CREATE TABLE %[1]s.chime_room_webhooks (
			webhook_id text PRIMARY KEY,
			room_id    text NOT NULL,
			name       text NOT NULL,
			deleted    boolean NOT NULL DEFAULT false
		);`, schema))
	return err
}

// Apply queues one event's statements.
func (Projection) Apply(b *pgx.Batch, schema string, ev *esdb.RecordedEvent) error {
	e, err := room.Decode(ev.EventType, ev.Data)
	if err != nil {
		return err
	}
	rooms, members := schema+".chime_rooms", schema+".chime_room_members"
	id := strings.TrimPrefix(ev.StreamID, room.StreamPrefix)
	switch e := e.(type) {
	case room.Created:
		b.Queue(`INSERT INTO `+rooms+` (room_id, account_id, name, created_by, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$5)
			ON CONFLICT (room_id) DO NOTHING`, id, e.AccountID, e.Name, e.CreatedBy, e.At)
	case room.Renamed:
		b.Queue(`UPDATE `+rooms+` SET name = $2, updated_at = $3 WHERE room_id = $1`, id, e.Name, e.At)
	case room.Deleted:
		// Guide §4.8: deleting a room permanently deletes its messages.
		b.Queue(`UPDATE `+rooms+` SET deleted = true, updated_at = $2 WHERE room_id = $1`, id, e.At)
		b.Queue(`DELETE FROM `+members+` WHERE room_id = $1`, id)
		b.Queue(`DELETE FROM `+schema+`.chime_room_messages WHERE room_id = $1`, id)
	case room.MessagePosted:
		b.Queue(`INSERT INTO `+schema+`.chime_room_messages (room_id, message_id, sender_id, sender_type, sender_name, key_id, sealed, created_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT (room_id, message_id) DO NOTHING`, id, e.MessageID, e.SenderID, e.SenderType, e.SenderName, e.KeyID, e.Sealed, e.At)
	case room.WebhookCreated:
		// Webhooks show in the room's member list (guide §11.4).
		b.Queue(`INSERT INTO `+schema+`.chime_room_webhooks (webhook_id, room_id, name) VALUES ($1,$2,$3) ON CONFLICT (webhook_id) DO NOTHING`,
			e.WebhookID, id, e.Name)
		b.Queue(`INSERT INTO `+members+` (room_id, member_id, member_type, email, full_name, role, invited_by, updated_at)
			VALUES ($1,$2,'Webhook','',$3,'Member',$4,$5) ON CONFLICT (room_id, member_id) DO NOTHING`, id, e.WebhookID, e.Name, e.By, e.At)
	case room.BotReplyURLIssued:
		// A bot's reply URL is posted to like a webhook's; only the room is looked up here.
		b.Queue(`INSERT INTO `+schema+`.chime_room_webhooks (webhook_id, room_id, name) VALUES ($1,$2,'bot reply') ON CONFLICT (webhook_id) DO NOTHING`,
			e.ReplyID, id)
	case room.WebhookDeleted:
		b.Queue(`UPDATE `+schema+`.chime_room_webhooks SET deleted = true WHERE webhook_id = $1`, e.WebhookID)
		b.Queue(`DELETE FROM `+members+` WHERE room_id = $1 AND member_id = $2`, id, e.WebhookID)
	case room.MessageRedacted:
		b.Queue(`UPDATE `+schema+`.chime_room_messages SET sealed = NULL, redacted = true, redacted_at = $3 WHERE room_id = $1 AND message_id = $2`,
			id, e.MessageID, e.At)
	case room.MemberAdded:
		b.Queue(`INSERT INTO `+members+` (room_id, member_id, member_type, email, full_name, role, invited_by, updated_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT (room_id, member_id) DO UPDATE SET member_type = $3, email = $4,
			full_name = $5, role = $6, invited_by = $7, updated_at = $8`, id, e.MemberID, e.MemberType, e.Email, e.FullName, e.Role, e.InvitedBy, e.At)
	case room.MemberRoleChanged:
		b.Queue(`UPDATE `+members+` SET role = $3, updated_at = $4 WHERE room_id = $1 AND member_id = $2`, id, e.MemberID, e.Role, e.At)
	case room.MemberRemoved:
		b.Queue(`DELETE FROM `+members+` WHERE room_id = $1 AND member_id = $2`, id, e.MemberID)
	}
	return nil
}

// Room is one row of rm.chime_rooms.
type Room struct {
	RoomID, AccountID, Name, CreatedBy string
	CreatedAt, UpdatedAt               time.Time
}

// Membership is one row of rm.chime_room_members.
type Membership struct {
	RoomID, MemberID, MemberType, Email, FullName, Role, InvitedBy string
	UpdatedAt                                                      time.Time
}

// Message is one row of rm.chime_room_messages: the content sealed under KeyID (Sealed is nil once
// redacted); Content is for the service to fill in when it opens it.
type Message struct {
	RoomID, MessageID, SenderID, SenderType, SenderName, Content, KeyID string
	Sealed                                                              []byte
	Redacted                                                            bool
	CreatedAt                                                           time.Time
}

// Store answers room queries; callers check that the account belongs to the tenant.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns a store over the active generation's views.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

const roomCols = `room_id, account_id, name, created_by, created_at, updated_at`

func scanRoom(row pgx.CollectableRow) (Room, error) {
	var r Room
	err := row.Scan(&r.RoomID, &r.AccountID, &r.Name, &r.CreatedBy, &r.CreatedAt, &r.UpdatedAt)
	return r, err
}

// GetRoom returns one live room of an account.
func (s *Store) GetRoom(ctx context.Context, accountID, roomID string) (Room, error) {
	rows, _ := s.pool.Query(ctx, projections.SQL(ctx, `SELECT `+roomCols+` FROM rm.chime_rooms WHERE room_id = $1 AND account_id = $2 AND NOT deleted`), roomID, accountID)
	r, err := pgx.CollectExactlyOneRow(rows, scanRoom)
	if errors.Is(err, pgx.ErrNoRows) {
		return Room{}, domain.Wrapf(room.ErrNotFound, "Room %s does not exist in account %s", roomID, accountID)
	}
	return r, err
}

// ListRooms returns a page of an account's rooms (those memberID belongs to when it is set).
func (s *Store) ListRooms(ctx context.Context, accountID, memberID, token string, limit int) ([]Room, string, error) {
	after, err := projections.DecodeToken(token)
	if err != nil {
		return nil, "", err
	}
	rows, _ := s.pool.Query(ctx, projections.SQL(ctx, `SELECT `+roomCols+` FROM rm.chime_rooms r
		WHERE account_id = $1 AND NOT deleted AND room_id > $2
		AND ($3 = '' OR EXISTS (SELECT 1 FROM rm.chime_room_members m WHERE m.room_id = r.room_id AND m.member_id = $3))
		ORDER BY room_id LIMIT $4`), accountID, after, memberID, limit+1)
	list, err := pgx.CollectRows(rows, scanRoom)
	if err != nil {
		return nil, "", fmt.Errorf("chimerooms: list rooms: %w", err)
	}
	list, next := projections.Page(list, limit, func(r Room) string { return r.RoomID })
	return list, next, nil
}

const memberCols = `room_id, member_id, member_type, email, full_name, role, invited_by, updated_at`

func scanMember(row pgx.CollectableRow) (Membership, error) {
	var m Membership
	err := row.Scan(&m.RoomID, &m.MemberID, &m.MemberType, &m.Email, &m.FullName, &m.Role, &m.InvitedBy, &m.UpdatedAt)
	return m, err
}

// GetMembership returns one membership of a room.
func (s *Store) GetMembership(ctx context.Context, roomID, memberID string) (Membership, error) {
	rows, _ := s.pool.Query(ctx, projections.SQL(ctx, `SELECT `+memberCols+` FROM rm.chime_room_members WHERE room_id = $1 AND member_id = $2`), roomID, memberID)
	m, err := pgx.CollectExactlyOneRow(rows, scanMember)
	if errors.Is(err, pgx.ErrNoRows) {
		return Membership{}, domain.Wrapf(room.ErrMemberNotFound, "MemberId %s is not a member of room %s", memberID, roomID)
	}
	return m, err
}

// ListMemberships returns a page of a room's memberships.
func (s *Store) ListMemberships(ctx context.Context, roomID, token string, limit int) ([]Membership, string, error) {
	after, err := projections.DecodeToken(token)
	if err != nil {
		return nil, "", err
	}
	rows, _ := s.pool.Query(ctx, projections.SQL(ctx, `SELECT `+memberCols+` FROM rm.chime_room_members WHERE room_id = $1 AND member_id > $2
		ORDER BY member_id LIMIT $3`), roomID, after, limit+1)
	list, err := pgx.CollectRows(rows, scanMember)
	if err != nil {
		return nil, "", fmt.Errorf("chimerooms: list memberships: %w", err)
	}
	list, next := projections.Page(list, limit, func(m Membership) string { return m.MemberID })
	return list, next, nil
}

// ListMessages returns a room's newest messages first, at most limit, none sent before since (the
// account's retention; zero: no limit).
func (s *Store) ListMessages(ctx context.Context, roomID string, since time.Time, limit int) ([]Message, error) {
	rows, _ := s.pool.Query(ctx, projections.SQL(ctx, `SELECT room_id, message_id, sender_id, sender_type, sender_name, key_id, sealed, redacted, created_at
		FROM rm.chime_room_messages WHERE room_id = $1 AND created_at >= $2 ORDER BY created_at DESC, message_id DESC LIMIT $3`), roomID, since, limit)
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Message, error) {
		var m Message
		err := r.Scan(&m.RoomID, &m.MessageID, &m.SenderID, &m.SenderType, &m.SenderName, &m.KeyID, &m.Sealed, &m.Redacted, &m.CreatedAt)
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("chimerooms: list messages: %w", err)
	}
	return list, nil
}

// accountMessagesBefore selects an account's messages sent before $2 (the retention purge's rows).
const accountMessagesBefore = `SELECT m.room_id, m.message_id FROM rm.chime_room_messages m JOIN rm.chime_rooms r ON r.room_id = m.room_id
	WHERE r.account_id = $1 AND m.created_at < $2`

// CountMessagesBefore counts an account's messages sent before before.
func (s *Store) CountMessagesBefore(ctx context.Context, accountID string, before time.Time) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM (`+accountMessagesBefore+`) d`, accountID, before).Scan(&n); err != nil {
		return 0, fmt.Errorf("chimerooms: count messages: %w", err)
	}
	return n, nil
}

// DeleteMessagesBefore deletes up to limit of an account's messages sent before before (the
// retention purge, after their keys were destroyed) and returns how many. A rebuild of the read
// model brings the rows back (sealed under destroyed keys, and hidden); the next purge deletes them.
func (s *Store) DeleteMessagesBefore(ctx context.Context, accountID string, before time.Time, limit int) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM rm.chime_room_messages WHERE (room_id, message_id) IN (`+accountMessagesBefore+` LIMIT $3)`, accountID, before, limit)
	if err != nil {
		return 0, fmt.Errorf("chimerooms: delete messages: %w", err)
	}
	return tag.RowsAffected(), nil
}

// DeleteRoomDays deletes up to limit of the messages sent in the given rooms on the given UTC days
// (room i on day i) and returns how many (the retention purge, after the keys of those rooms and
// days were destroyed).
func (s *Store) DeleteRoomDays(ctx context.Context, roomIDs []string, days []time.Time, limit int) (int64, error) {
	tag, err := s.pool.Exec(ctx, `WITH due AS MATERIALIZED (SELECT m.room_id, m.message_id FROM unnest($1::text[], $2::timestamptz[]) AS d(room_id, day)
		CROSS JOIN LATERAL (SELECT room_id, message_id FROM rm.chime_room_messages m
			WHERE m.room_id = d.room_id AND m.created_at >= d.day AND m.created_at < d.day + interval '1 day' LIMIT $3) m
		LIMIT $3)
		DELETE FROM rm.chime_room_messages t USING due WHERE t.room_id = due.room_id AND t.message_id = due.message_id`, roomIDs, days, limit)
	if err != nil {
		return 0, fmt.Errorf("chimerooms: delete messages: %w", err)
	}
	return tag.RowsAffected(), nil
}

// DeletedRooms returns the deleted rooms' ids by account.
func (s *Store) DeletedRooms(ctx context.Context) (map[string][]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT account_id, room_id FROM rm.chime_rooms WHERE deleted ORDER BY account_id, room_id`)
	if err != nil {
		return nil, fmt.Errorf("chimerooms: deleted rooms: %w", err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var a, r string
		if err := rows.Scan(&a, &r); err != nil {
			return nil, fmt.Errorf("chimerooms: deleted rooms: %w", err)
		}
		out[a] = append(out[a], r)
	}
	return out, rows.Err()
}

// WebhookRoom returns the room and account of a webhook (deleted ones too: their URLs answer 404).
func (s *Store) WebhookRoom(ctx context.Context, webhookID string) (roomID, accountID string, err error) {
	err = s.pool.QueryRow(ctx, projections.SQL(ctx, `SELECT w.room_id, r.account_id FROM rm.chime_room_webhooks w JOIN rm.chime_rooms r ON r.room_id = w.room_id
		WHERE w.webhook_id = $1 AND NOT r.deleted`), webhookID).Scan(&roomID, &accountID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", domain.Wrapf(room.ErrWebhookURL, "the webhook URL is invalid")
	}
	return roomID, accountID, err
}

// BotMembers returns the bots that are members of a room.
func (s *Store) BotMembers(ctx context.Context, roomID string) ([]Membership, error) {
	rows, _ := s.pool.Query(ctx, projections.SQL(ctx, `SELECT `+memberCols+` FROM rm.chime_room_members WHERE room_id = $1 AND member_type = 'Bot'`), roomID)
	list, err := pgx.CollectRows(rows, scanMember)
	if err != nil {
		return nil, fmt.Errorf("chimerooms: bot members: %w", err)
	}
	return list, nil
}

// LiveRoomAccounts returns the account of each of the rooms that exists and is not deleted (a
// deleted room's messages and attachments are gone, whether or not its keys are destroyed yet).
func (s *Store) LiveRoomAccounts(ctx context.Context, roomIDs []string) (map[string]string, error) {
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT room_id, account_id FROM rm.chime_rooms WHERE room_id = ANY($1) AND NOT deleted`), roomIDs)
	if err != nil {
		return nil, fmt.Errorf("chimerooms: live rooms' accounts: %w", err)
	}
	defer rows.Close()
	out := make(map[string]string, len(roomIDs))
	for rows.Next() {
		var r, a string
		if err := rows.Scan(&r, &a); err != nil {
			return nil, fmt.Errorf("chimerooms: live rooms' accounts: %w", err)
		}
		out[r] = a
	}
	return out, rows.Err()
}

// RoomAccounts returns the account of each of the rooms (deleted ones included) that exists.
func (s *Store) RoomAccounts(ctx context.Context, roomIDs []string) (map[string]string, error) {
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT room_id, account_id FROM rm.chime_rooms WHERE room_id = ANY($1)`), roomIDs)
	if err != nil {
		return nil, fmt.Errorf("chimerooms: rooms' accounts: %w", err)
	}
	defer rows.Close()
	out := make(map[string]string, len(roomIDs))
	for rows.Next() {
		var r, a string
		if err := rows.Scan(&r, &a); err != nil {
			return nil, fmt.Errorf("chimerooms: rooms' accounts: %w", err)
		}
		out[r] = a
	}
	return out, rows.Err()
}
