package conversation

import (
	"time"

	"github.com/belfry/belfry/domain"
)

// Event types.
const (
	TypeCreated          = "wickr.conversation.created.v1"
	TypeMembersAdded     = "wickr.conversation.members_added.v1"
	TypeMemberLeft       = "wickr.conversation.member_left.v1"
	TypeMessagePosted    = "wickr.conversation.message_posted.v1"
	TypeMessageRead      = "wickr.conversation.message_read.v1"
	TypeMessageDestroyed = "wickr.conversation.message_destroyed.v1"
	TypeModeratorAdded   = "wickr.conversation.moderator_added.v1"
)

// Event is the sealed set of conversation events.
type Event interface{ EventType() string }

// Created records a new conversation and its first members (the creator among them).
type Created struct {
	ConversationID string        `json:"conversationId"`
	Kind           string        `json:"kind"`
	Title          string        `json:"title,omitempty"`
	CreatedBy      Participant   `json:"createdBy"`
	Members        []Participant `json:"members"`
	At             time.Time     `json:"at"`
}

// MembersAdded records members added to a group or room.
type MembersAdded struct {
	Members []Participant `json:"members"`
	By      Participant   `json:"by"`
	At      time.Time     `json:"at"`
}

// MemberLeft records a member leaving a group or room: by itself (Reason empty), taken out of a room
// by its password reset (LeftPasswordReset) or by a moderator, By (LeftRemoved).
type MemberLeft struct {
	Member Participant `json:"member"`
	Reason string      `json:"reason,omitempty"`
	By     *UserRef    `json:"by,omitempty"`
	At     time.Time   `json:"at"`
}

// ModeratorAdded records a room member made a moderator: by a moderator (By), or because the last
// moderator left (Reason PromotedLastLeft, By absent).
type ModeratorAdded struct {
	Member UserRef   `json:"member"`
	By     *UserRef  `json:"by,omitempty"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
}

// UserRef names a user of a network in an event where a guest never stands (a room's moderators).
type UserRef struct {
	NetworkID string `json:"networkId"`
	UserID    string `json:"userId"`
}

// Ref is the user p names (p is not a guest).
func Ref(p Participant) *UserRef { return &UserRef{NetworkID: p.NetworkID, UserID: p.UserID} }

// Participant is the user as a participant.
func (u UserRef) Participant() Participant {
	return Participant{NetworkID: u.NetworkID, UserID: u.UserID}
}

// MessagePosted records a message: its content sealed under its own key (KeyID), its timers in
// seconds (0: none), its attachment's metadata and, for a forwarded message, the message it
// forwards (ForwardedFrom; absent from messages posted before forwarding existed).
type MessagePosted struct {
	MessageID     string      `json:"messageId"`
	Seq           int64       `json:"seq"`
	Sender        Participant `json:"sender"`
	KeyID         string      `json:"keyId"`
	Sealed        []byte      `json:"sealed"`
	TTL           int64       `json:"ttl,omitempty"`
	BOR           int64       `json:"bor,omitempty"`
	Attachment    *Attachment `json:"attachment,omitempty"`
	ForwardedFrom *MessageRef `json:"forwardedFrom,omitempty"`
	At            time.Time   `json:"at"`
}

// MessageRead records a recipient's read of a message: Receipt when the sender is told (§6),
// StartsBurn when it starts the burn-on-read timer (the first read of a message with one).
type MessageRead struct {
	MessageID  string      `json:"messageId"`
	Reader     Participant `json:"reader"`
	Receipt    bool        `json:"receipt,omitempty"`
	StartsBurn bool        `json:"startsBurn,omitempty"`
	At         time.Time   `json:"at"`
}

// MessageDestroyed records that a gone message's key was destroyed (Reason expired or burnt).
type MessageDestroyed struct {
	MessageID string    `json:"messageId"`
	KeyID     string    `json:"keyId"`
	Reason    string    `json:"reason"`
	At        time.Time `json:"at"`
}

// EventType implements Event.
func (Created) EventType() string { return TypeCreated }

// EventType implements Event.
func (MembersAdded) EventType() string { return TypeMembersAdded }

// EventType implements Event.
func (MemberLeft) EventType() string { return TypeMemberLeft }

// EventType implements Event.
func (ModeratorAdded) EventType() string { return TypeModeratorAdded }

// EventType implements Event.
func (MessagePosted) EventType() string { return TypeMessagePosted }

// EventType implements Event.
func (MessageRead) EventType() string { return TypeMessageRead }

// EventType implements Event.
func (MessageDestroyed) EventType() string { return TypeMessageDestroyed }

// Events is the conversation event table.
var Events = domain.NewRegistry("conversation",
	domain.Register[Created, Event](TypeCreated),
	domain.Register[MembersAdded, Event](TypeMembersAdded),
	domain.Register[MemberLeft, Event](TypeMemberLeft),
	domain.Register[MessagePosted, Event](TypeMessagePosted),
	domain.Register[MessageRead, Event](TypeMessageRead),
	domain.Register[MessageDestroyed, Event](TypeMessageDestroyed),
	domain.Register[ModeratorAdded, Event](TypeModeratorAdded),
)

// Decode turns a stored event back into an Event.
func Decode(eventType string, data []byte) (Event, error) { return Events.Decode(eventType, data) }

// Evolve folds an event.
func Evolve(s State, e Event) State {
	switch e := e.(type) {
	case Created:
		s = State{ID: e.ConversationID, Kind: e.Kind, Title: e.Title, CreatedBy: e.CreatedBy,
			Members: make(map[string]Participant, len(e.Members)), Messages: map[string]*Message{}}
		s.Joined = make(map[string]time.Time, len(e.Members))
		for _, m := range e.Members {
			s.Members[m.Key()], s.Joined[m.Key()] = m, e.At
		}
		s.Moderators = map[string]bool{}
		if m, ok := e.FirstModerator(); ok {
			s.Moderators[m.Key()] = true
		}
	case ModeratorAdded:
		s.Moderators[e.Member.Participant().Key()] = true
	case MembersAdded:
		for _, m := range e.Members {
			s.Members[m.Key()], s.Joined[m.Key()] = m, e.At
		}
	case MemberLeft:
		delete(s.Members, e.Member.Key())
		delete(s.Joined, e.Member.Key())
		delete(s.Moderators, e.Member.Key())
	case MessagePosted:
		s.Seq = e.Seq
		s.Messages[e.MessageID] = &Message{Seq: e.Seq, Sender: e.Sender, KeyID: e.KeyID, TTL: e.TTL, BOR: e.BOR, At: e.At, Readers: map[string]bool{}}
	case MessageRead:
		if m := s.Messages[e.MessageID]; m != nil {
			m.Readers[e.Reader.Key()] = true
			if e.StartsBurn {
				m.BurnStarted = e.At
			}
		}
	case MessageDestroyed:
		delete(s.Messages, e.MessageID)
	}
	return s
}
