package call

import (
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr/conversation"
)

// Event types.
const (
	TypeStarted           = "wickr.call.started.v1"
	TypeParticipantJoined = "wickr.call.participant_joined.v1"
	TypeParticipantLeft   = "wickr.call.participant_left.v1"
	TypeMediaStarted      = "wickr.call.media_started.v1"
	TypeMediaStopped      = "wickr.call.media_stopped.v1"
	TypeEnded             = "wickr.call.ended.v1"
)

// Event is the sealed set of call events.
type Event interface{ EventType() string }

// Started records a new call in a conversation, started by a member of network NetworkID; Broadcast:
// a broadcast, whose presenter is the participant who joins first (the starter). Absent in the
// events stored before broadcasts: a conference call.
type Started struct {
	CallID           string                   `json:"callId"`
	ConversationID   string                   `json:"conversationId"`
	ConversationKind string                   `json:"conversationKind"`
	NetworkID        string                   `json:"networkId"`
	By               conversation.Participant `json:"by"`
	Broadcast        bool                     `json:"broadcast,omitempty"`
	At               time.Time                `json:"at"`
}

// ParticipantJoined records a participant entering the call with what its group grants.
type ParticipantJoined struct {
	ParticipantID string                   `json:"participantId"`
	Member        conversation.Participant `json:"member"`
	Grant         Grant                    `json:"grant"`
	At            time.Time                `json:"at"`
}

// ParticipantLeft records a participant leaving the call (Reason one of Left*).
type ParticipantLeft struct {
	ParticipantID string    `json:"participantId"`
	Reason        string    `json:"reason"`
	At            time.Time `json:"at"`
}

// MediaStarted records a participant starting to send one kind of media.
type MediaStarted struct {
	ParticipantID string    `json:"participantId"`
	Kind          string    `json:"kind"`
	At            time.Time `json:"at"`
}

// MediaStopped records a participant stopping one kind of media.
type MediaStopped struct {
	ParticipantID string    `json:"participantId"`
	Kind          string    `json:"kind"`
	At            time.Time `json:"at"`
}

// Ended records the end of the call (Reason one of End*).
type Ended struct {
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// EventType implements Event.
func (Started) EventType() string { return TypeStarted }

// EventType implements Event.
func (ParticipantJoined) EventType() string { return TypeParticipantJoined }

// EventType implements Event.
func (ParticipantLeft) EventType() string { return TypeParticipantLeft }

// EventType implements Event.
func (MediaStarted) EventType() string { return TypeMediaStarted }

// EventType implements Event.
func (MediaStopped) EventType() string { return TypeMediaStopped }

// EventType implements Event.
func (Ended) EventType() string { return TypeEnded }

// Events is the call event table.
var Events = domain.NewRegistry("call",
	domain.Register[Started, Event](TypeStarted),
	domain.Register[ParticipantJoined, Event](TypeParticipantJoined),
	domain.Register[ParticipantLeft, Event](TypeParticipantLeft),
	domain.Register[MediaStarted, Event](TypeMediaStarted),
	domain.Register[MediaStopped, Event](TypeMediaStopped),
	domain.Register[Ended, Event](TypeEnded),
)

// Decode turns a stored event back into an Event.
func Decode(eventType string, data []byte) (Event, error) { return Events.Decode(eventType, data) }

// Evolve folds an event.
func Evolve(s State, e Event) State {
	switch e := e.(type) {
	case Started:
		s = State{ID: e.CallID, ConversationID: e.ConversationID, ConversationKind: e.ConversationKind, NetworkID: e.NetworkID,
			Status: StatusLive, StartedBy: e.By, StartedAt: e.At, Participants: map[string]*Participant{}, Broadcast: e.Broadcast}
	case ParticipantJoined:
		s.Participants[e.ParticipantID] = &Participant{Member: e.Member, Grant: e.Grant, JoinedAt: e.At, Media: map[string]bool{}}
		if s.Broadcast && s.Presenter == "" {
			s.Presenter = e.ParticipantID
		}
	case ParticipantLeft:
		delete(s.Participants, e.ParticipantID)
	case MediaStarted:
		if p := s.Participants[e.ParticipantID]; p != nil {
			p.Media[e.Kind] = true
		}
	case MediaStopped:
		if p := s.Participants[e.ParticipantID]; p != nil {
			delete(p.Media, e.Kind)
		}
	case Ended:
		s.Status, s.EndedAt, s.EndReason = StatusEnded, e.At, e.Reason
	}
	return s
}
