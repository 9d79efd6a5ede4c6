package chimeconversations

import (
	"time"

	"github.com/belfry/belfry/domain/chime/conversation"
	"github.com/belfry/belfry/domain/chime/room"
)

// feedRow is what a feed row holds besides its container and kind.
type feedRow struct {
	member, message, sender, senderName, keyID string
	sealed                                     []byte
	at                                         time.Time
}

// conversation applies a conversation event.
func (q queue) conversation(id string, e conversation.Event) {
	convs, members, msgs := q.t("chime_conversations"), q.t("chime_conversation_members"), q.t("chime_conversation_messages")
	const c = ContainerConversation
	switch e := e.(type) {
	case conversation.Created:
		q.b.Queue(`INSERT INTO `+convs+` (conversation_id, kind, name, created_by, created_at, last_seq) VALUES ($1,$2,$3,$4,$5,$6)
			ON CONFLICT (conversation_id) DO NOTHING`, id, e.Kind, e.Name, e.CreatedBy, e.At, q.seq)
		for _, m := range e.Members {
			q.addMember(id, m, e.At)
		}
		q.feed(c, id, KindCreated, feedRow{sender: e.CreatedBy, at: e.At})
	case conversation.MemberAdded:
		q.addMember(id, e.Member, e.At)
		q.feed(c, id, KindMemberJoined, feedRow{member: e.Member.UserID, sender: e.By, senderName: e.Member.Name(), at: e.At})
	case conversation.MemberLeft:
		q.b.Queue(`DELETE FROM `+members+` WHERE conversation_id = $1 AND member_id = $2`, id, e.UserID)
		q.feed(c, id, KindMemberLeft, feedRow{member: e.UserID, at: e.At})
		q.leave(id, e.UserID)
	case conversation.MessagePosted:
		// The busiest event: the message, the conversation's last seq and the feed row (as feed
		// writes it) in one statement.
		q.b.Queue(`WITH m AS (INSERT INTO `+msgs+` (conversation_id, message_id, seq, sender_id, sender_account_id, sender_name, key_id, sealed, created_at)
				VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) ON CONFLICT (conversation_id, message_id) DO NOTHING),
			c AS (UPDATE `+convs+` SET last_seq = greatest(last_seq, $3) WHERE conversation_id = $1)
			INSERT INTO `+q.t("chime_chat_feed")+` (seq, container_type, container_id, kind, member_id, message_id, sender_id, sender_name, key_id, sealed, at)
			VALUES ($3,$10,$1,$11,'',$2,$4,$6,$7,$8,$9) ON CONFLICT (seq) DO NOTHING`,
			id, e.MessageID, q.seq, e.SenderID, e.SenderAccountID, e.SenderName, e.KeyID, e.Sealed, e.At, c, KindMessagePosted)
	case conversation.MessageEdited:
		q.b.Queue(`UPDATE `+msgs+` SET key_id = $3, sealed = $4, edited_at = $5 WHERE conversation_id = $1 AND message_id = $2 AND NOT redacted`,
			id, e.MessageID, e.KeyID, e.Sealed, e.At)
		q.feed(c, id, KindMessageEdited, feedRow{message: e.MessageID, keyID: e.KeyID, sealed: e.Sealed, at: e.At})
	case conversation.MessageRedacted:
		q.b.Queue(`UPDATE `+msgs+` SET sealed = NULL, key_id = '', redacted = true WHERE conversation_id = $1 AND message_id = $2`, id, e.MessageID)
		q.redact(id, e.MessageID)
		q.feed(c, id, KindMessageRedacted, feedRow{message: e.MessageID, at: e.At})
	}
}

func (q queue) addMember(id string, m conversation.Member, at time.Time) {
	q.b.Queue(`INSERT INTO `+q.t("chime_conversation_members")+` (conversation_id, member_id, account_id, email, full_name, joined_at)
		VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (conversation_id, member_id) DO NOTHING`, id, m.UserID, m.AccountID, m.Email, m.FullName, at)
	q.join(id, m.UserID)
}

// room applies the room events its members see live; the rooms read model (chimerooms) keeps the rest.
func (q queue) room(id string, e room.Event) {
	const c = ContainerRoom
	switch e := e.(type) {
	case room.MemberAdded:
		if e.MemberType != room.MemberUser {
			return
		}
		q.join(id, e.MemberID)
		name := e.FullName
		if name == "" {
			name = e.Email
		}
		q.feed(c, id, KindMemberJoined, feedRow{member: e.MemberID, sender: e.InvitedBy, senderName: name, at: e.At})
	case room.MemberRemoved:
		if e.MemberType != room.MemberUser {
			return
		}
		q.feed(c, id, KindMemberLeft, feedRow{member: e.MemberID, sender: e.By, at: e.At})
		q.leave(id, e.MemberID)
	case room.MessagePosted:
		q.feed(c, id, KindMessagePosted, feedRow{message: e.MessageID, sender: e.SenderID, senderName: e.SenderName, keyID: e.KeyID, sealed: e.Sealed, at: e.At})
	case room.MessageRedacted:
		q.redact(id, e.MessageID)
		q.feed(c, id, KindMessageRedacted, feedRow{message: e.MessageID, at: e.At})
	case room.Deleted:
		q.b.Queue(`DELETE FROM `+q.t("chime_chat_feed")+` WHERE container_id = $1 AND seq < $2`, id, q.seq)
		q.feed(c, id, KindRoomDeleted, feedRow{sender: e.By, at: e.At})
		q.b.Queue(`UPDATE `+q.t("chime_chat_spans")+` SET to_seq = $2 WHERE container_id = $1 AND to_seq IS NULL`, id, q.seq)
	}
}
