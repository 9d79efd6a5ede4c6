// Package conversation models a Wickr conversation (stream "wickr.conversation-<id>"): a direct
// message between two participants, a group, or a room, with its members and its messages (guide
// §0.1, §3.3 Messaging and Media and links, §3.4, §6, §12, §15).
//
// Invariants:
//   - A direct message has exactly two participants and its id is DirectID of the pair, so there is
//     one per pair; groups and rooms hold at most MaxMembers. A room's moderators (its creator first)
//     alone add and remove its members, and a room keeps a moderator while a user is left in it
//     (moderators.go).
//   - Every pair of participants may reach each other (Reachable): users of one network always;
//     users of two networks of this installation only when both their security groups federate with
//     the other network (§3.4: local federation in one region — all networks, or the permitted ones —
//     and global federation across regions, restricted to the permitted networks when set); a guest
//     only with users whose group enables guest federation and whose network has not blocked it
//     (§15.4); a conversation that holds a guest holds a user of a network (guests do not talk among
//     themselves: a guest's post needs a live user in the conversation). The rule holds at
//     creation, when members are added and at every post, so a block or a federation change
//     refuses the next message to or from the guest or the external user.
//   - A message's content is sealed under a key of its own (KeyScope names it): the event holds only
//     the key id and the ciphertext. Its expiration timer (Ttl) is at most the sender's group's
//     maxTtl, and a message without one gets the group's maxTtl when the group sets one; its
//     burn-on-read timer (Bor) is at most maxBor; both, and a guest's, are at most MaxTimer (a
//     group's maxTtl above it gives MaxTimer). A message is gone at its deadline — Ttl after it was
//     posted, or Bor after its first read by a recipient, whichever comes first —: no command sees it
//     from then on, and Destroy records its destruction once its key is destroyed.
//   - To a caller that is not a member, a conversation does not exist: every command it sends (add,
//     leave, moderate, post, read) is answered as one to a conversation never created (ErrNotMember:
//     the kind and words of ErrNotFound), before any rule of the conversation's kind — a direct
//     message's id derives from its pair, so any other answer would tell anyone who talks with whom.
//   - A forwarded message (Post.ForwardedFrom) records its source; it is posted only when the
//     sender's security group has messageForwardingEnabled on at the post (CheckForward) and the
//     sender reads the source message then (Readable: a member of its conversation, the message not
//     gone) — checked here when the source is in this conversation, by the caller on the source
//     conversation's state otherwise. Its content is the sender's, sealed like any other message's.
//   - A user's password reset (§21.6) takes it out of every room it joined before the reset
//     (RemoveAfterReset, MemberLeft with reason passwordReset); it stays in its direct messages and
//     groups, and rooms it was invited to since keep it.
//   - Read receipts (§6) exist only in direct messages between users of networks, when every network
//     involved has them on (FORCE_ENABLED sends them whatever the reader's client says).
//
// Decide is pure: the policy (networks' settings, users' groups, block lists) comes with the command.
package conversation

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"time"

	"github.com/belfry/belfry/domain"
)

// Stream name, kinds, limits.
const (
	StreamPrefix = "wickr.conversation-"
	KindDirect   = "DM"
	KindGroup    = "GROUP"
	KindRoom     = "ROOM"
	// MaxMembers is the guide's room size (§0.1: rooms of up to 500 members); groups share it.
	MaxMembers = 500
	// MaxTitle bounds a room's or group's title (characters; Belfry's bound).
	MaxTitle = 128
	// MaxSealed bounds a message's sealed content (bytes): a text of MaxText and its sealing.
	MaxSealed = 64 << 10
	// MaxFileSize is the guide's file size limit (§0.1: files up to 5 GB); the server's own bound
	// (api/wickr/messaging, configurable) may be lower.
	MaxFileSize int64 = 5 << 30
	// MaxContentType bounds an attachment's media type.
	MaxContentType = 255
	// MaxTimer bounds a message's expiration and burn-on-read timers (seconds; Belfry's bound, the
	// guide gives none): ten years, whatever the sender's group allows (maxTtl and maxBor 0 set no
	// maximum) and for guests, who have no group. A deadline stays within time.Duration and the
	// read model's timestamps.
	MaxTimer int64 = 10 * 365 * 24 * 60 * 60
	// Destruction reasons.
	ReasonExpired = "expired"
	ReasonBurnt   = "burnt"
	// LeftPasswordReset is the reason of a member taken out of a room by its password reset.
	LeftPasswordReset = "passwordReset"
)

// Sentinels.
var (
	ErrNotFound        = &domain.Error{Kind: domain.KindNotFound, Msg: "conversation not found"}
	ErrExists          = &domain.Error{Kind: domain.KindConflict, Msg: "the conversation already exists"}
	ErrMessageNotFound = &domain.Error{Kind: domain.KindNotFound, Msg: "message not found"}
	ErrNotMember       = &domain.Error{Kind: domain.KindNotFound, Msg: "conversation not found"} // see the invariants: as if it did not exist
	ErrNotModerator    = &domain.Error{Kind: domain.KindForbidden, Msg: "only the room's moderators manage its members"}
	ErrNotInRoom       = &domain.Error{Kind: domain.KindForbidden, Msg: "not a member of the room"}
	ErrNotRoom         = &domain.Error{Kind: domain.KindUnprocessable, Msg: "not a room"}
	ErrGuestModerator  = &domain.Error{Kind: domain.KindInvalid, Msg: "a guest user cannot moderate a room"}
	ErrRemoveSelf      = &domain.Error{Kind: domain.KindInvalid, Msg: "a moderator leaves a room, it does not remove itself"}
	ErrDirect          = &domain.Error{Kind: domain.KindUnprocessable, Msg: "a direct message has exactly two members"}
	ErrTooMany         = &domain.Error{Kind: domain.KindLimitExceeded, Msg: "too many members"}
	ErrNotFederated    = &domain.Error{Kind: domain.KindForbidden, Msg: "the security groups do not federate"}
	ErrBlockedGuest    = &domain.Error{Kind: domain.KindForbidden, Msg: "the guest user is blocked"}
	ErrUnknown         = &domain.Error{Kind: domain.KindNotFound, Msg: "unknown participant"}
	ErrTimer           = &domain.Error{Kind: domain.KindInvalid, Msg: "timer above the security group's maximum"}
	ErrFiles           = &domain.Error{Kind: domain.KindForbidden, Msg: "the security group does not allow files"}
	ErrKey             = &domain.Error{Kind: domain.KindInvalid, Msg: "content not sealed under the message's key"}
	ErrForwarding      = &domain.Error{Kind: domain.KindForbidden, Msg: "the security group does not allow forwarding messages"}
)

// StreamName is the stream of a conversation.
func StreamName(id string) string { return StreamPrefix + id }

// Participant is a user of a network of this installation (NetworkID and UserID) or a guest user
// (GuestHash, the hash of its username, guide §15).
type Participant struct {
	NetworkID string `json:"networkId,omitempty"`
	UserID    string `json:"userId,omitempty"`
	GuestHash string `json:"guestHash,omitempty"`
}

// Guest reports whether p is a guest user.
func (p Participant) Guest() bool { return p.GuestHash != "" }

// Key names p uniquely: "u:<networkId>:<userId>" or "g:<usernameHash>".
func (p Participant) Key() string {
	if p.Guest() {
		return "g:" + p.GuestHash
	}
	return "u:" + p.NetworkID + ":" + p.UserID
}

// DirectID is the id of the direct message between a and b, whichever starts it.
func DirectID(a, b Participant) string {
	keys := []string{a.Key(), b.Key()}
	slices.Sort(keys)
	h := sha256.Sum256([]byte("wickr-dm\x00" + keys[0] + "\x00" + keys[1]))
	return "dm-" + hex.EncodeToString(h[:16])
}

// KeyScope is the data-key scope of one message's content: its key is of this message alone.
func KeyScope(conversationID, messageID string) string {
	return "wickr-message/" + conversationID + "/" + messageID
}

// Content is what a message's key seals (JSON): its text and its attachment's name. Readers of the
// sealed bytes (the messaging slice, the data-retention archive) decode it.
type Content struct {
	Text string `json:"t"`
	File string `json:"f,omitempty"`
}

// Attachment is a message's file: its media type and size, and where its bytes are in the blob store
// (infra/blobstore) — the attachment's id, the content key its bytes are encrypted under (a key of
// the message's own scope, KeyScope, destroyed when the message goes) and the SHA-256 of the stored
// file. Its name travels sealed with the text. Events stored before file bytes existed hold the
// metadata only (no AttachmentID); a new post needs the whole reference.
type Attachment struct {
	AttachmentID string `json:"attachmentId,omitempty"`
	KeyID        string `json:"keyId,omitempty"`
	Blob         string `json:"blob,omitempty"`
	ContentType  string `json:"contentType"`
	Size         int64  `json:"size"`
	// Preview: the server can make a preview rendition of the file (an image of a supported type
	// within the rendition bounds, judged from its bytes at upload; api/wickr/rendition). Files
	// posted before the flag existed read false.
	Preview bool `json:"preview,omitempty"`
}

// MessageRef names a message of a conversation: the source of a forwarded message.
type MessageRef struct {
	ConversationID string `json:"conversationId"`
	MessageID      string `json:"messageId"`
}

// Message is one live message of the state.
type Message struct {
	Seq             int64
	Sender          Participant
	KeyID           string
	TTL, BOR        int64 // seconds; 0: none
	At, BurnStarted time.Time
	Readers         map[string]bool
}

// Timer is a timer of secs seconds as a duration, at most MaxTimer: a timer stored before timers
// were bounded (up to the largest int64) neither overflows nor puts a deadline in the past.
func Timer(secs int64) time.Duration {
	return time.Duration(min(max(secs, 0), MaxTimer)) * time.Second
}

// Deadline is when the message is gone (zero: never): Ttl after it was posted, or Bor after the
// first read, whichever comes first.
func (m Message) Deadline() time.Time {
	var d time.Time
	if m.TTL > 0 {
		d = m.At.Add(Timer(m.TTL))
	}
	if m.BOR > 0 && !m.BurnStarted.IsZero() {
		if b := m.BurnStarted.Add(Timer(m.BOR)); d.IsZero() || b.Before(d) {
			d = b
		}
	}
	return d
}

// Gone reports whether the message's deadline has passed at now.
func (m Message) Gone(now time.Time) bool {
	d := m.Deadline()
	return !d.IsZero() && !now.Before(d)
}

// reason is why a gone message went.
func (m Message) reason() string {
	if m.TTL > 0 && m.Deadline().Equal(m.At.Add(Timer(m.TTL))) {
		return ReasonExpired
	}
	return ReasonBurnt
}

// State is one conversation.
type State struct {
	ID, Kind, Title string
	CreatedBy       Participant
	Members         map[string]Participant
	// Joined is when each member (by key) joined: the conversation's creation or the MembersAdded
	// that added it.
	Joined map[string]time.Time
	// Moderators are a room's moderators (by key): its first (Created.FirstModerator: its creator,
	// never a guest), and the members made moderators since (ModeratorAdded), while they are members.
	Moderators map[string]bool
	Seq        int64
	Messages   map[string]*Message
}

// Initial is a conversation never created.
func Initial() State { return State{} }

// Live reports whether the conversation exists.
func (s State) Live() bool { return s.ID != "" }

// Member reports whether p belongs to the conversation.
func (s State) Member(p Participant) bool { _, ok := s.Members[p.Key()]; return ok }
