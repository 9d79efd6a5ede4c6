// Package call models a Wickr call (stream "wickr.call-<id>"): an audio or video call in a
// conversation — a 1:1 call in a direct message, a conference call in a group or room — from its
// start to its end, with its participants and their media (guide §0.1, §3.3 Calling, §16).
//
// Invariants:
//   - A call is started by a member of its conversation whose security group enables audio calls
//     (calling.canStart11Call, "Enable audio calls": users can start audio calls); the starter is its
//     first participant.
//   - At most MaxParticipants are in a live call at once (§0.1: conference calls of up to 70), at
//     most MaxBroadcastParticipants in a broadcast; at most MaxParticipantsPerUser of them are one
//     member's (its devices, counted by its key: a network user or a guest), so one member cannot
//     fill the call.
//   - A broadcast (a presentation, Start.Broadcast; §0.1 "screen share and broadcast: presentations
//     with up to 500 participants") is started in a group or a room, never in a direct message
//     (ErrBroadcastDirect). Its starter is its presenter, the only one who sends media (its video and
//     screen share still need Grant.Video); every other participant is a viewer, who only receives:
//     its SetMedia on of audio, video or content is refused (ErrViewer, Forbidden).
//   - When the presenter of a broadcast leaves, the broadcast ends for everyone: every viewer leaves
//     with it (LeftPresenterLeft) and the call ends (EndPresenterLeft). A viewer's leaving changes
//     nothing for the others.
//   - A participant sends video or shares its screen only when its own group enables video calls and
//     screen sharing (calling.canVideoCall, valid only with audio calls on): Grant.Video; otherwise
//     its call is audio-only and SetMedia of video or content is refused (Forbidden).
//   - Grant.TCPOnly (calling.forceTcpCall) is recorded with the participant: its ICE runs over TCP only.
//   - The last participant out ends the call, with a reason (AllParticipantsLeft, ServiceRestart); an
//     ended call admits no one and changes no more.
//
// Decide is pure: the grants (read from the members' security groups) and membership come with the
// commands; the clock is Decide's now.
package call

import (
	"cmp"
	"slices"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr/conversation"
)

// Stream name, limits, statuses, kinds and reasons.
const (
	StreamPrefix = "wickr.call-"
	// MaxParticipants is the guide's conference-call size (§0.1: up to 70 people).
	MaxParticipants = 70
	// MaxBroadcastParticipants is the guide's broadcast size, the presenter and its viewers (§0.1
	// "화면 공유 및 방송: 최대 500명의 참가자와 프레젠테이션 진행", screen share and broadcast:
	// presentations to up to 500 participants; §16 call limits).
	MaxBroadcastParticipants = 500
	// MaxParticipantsPerUser is how many participants (signalling connections, one per device) one
	// member — a network user or a guest — may hold in a call at once [Belfry's choice: the guide
	// gives no number]. A person calls from a few devices — desktop, phone, browser — not from
	// dozens; without a bound one member of the conversation could take all MaxParticipants (or
	// MaxBroadcastParticipants) places and lock everyone else out.
	MaxParticipantsPerUser = 10

	StatusLive  = "LIVE"
	StatusEnded = "ENDED"

	// Media kinds.
	MediaAudio   = "audio"
	MediaVideo   = "video"
	MediaContent = "content" // screen share

	// Why a participant left.
	LeftHungUp         = "Left"           // closed its signalling connection
	LeftDisconnected   = "Disconnected"   // its media failed or it fell too far behind
	LeftServiceRestart = "ServiceRestart" // the service stopped or crashed while it was in
	LeftPresenterLeft  = "PresenterLeft"  // a viewer, when the presenter of its broadcast left

	// Why a call ended.
	EndAllLeft         = "AllParticipantsLeft"
	EndServiceRestart  = "ServiceRestart"
	EndPresenterLeft   = "PresenterLeft" // the presenter of a broadcast left
	maxParticipantID   = 64
	maxConversationLen = 128
)

// Sentinels.
var (
	ErrNotAllowed = &domain.Error{Kind: domain.KindForbidden, Msg: "the security group does not enable audio calls"}
	ErrVideo      = &domain.Error{Kind: domain.KindForbidden, Msg: "the security group does not enable video calls and screen sharing"}
	ErrFull       = &domain.Error{Kind: domain.KindLimitExceeded, Msg: "the call already has its most participants"}
	// ErrUserDevices refuses a member one more connection when it holds MaxParticipantsPerUser.
	ErrUserDevices = &domain.Error{Kind: domain.KindLimitExceeded, Msg: "the member is in the call from too many devices"}
	ErrEnded       = &domain.Error{Kind: domain.KindUnprocessable, Msg: "the call has ended"}
	ErrNotFound    = &domain.Error{Kind: domain.KindNotFound, Msg: "call not found"}
	ErrExists      = &domain.Error{Kind: domain.KindConflict, Msg: "the call already exists"}
	ErrNotIn       = &domain.Error{Kind: domain.KindNotFound, Msg: "not a participant of the call"}
	ErrInvalid     = &domain.Error{Kind: domain.KindInvalid, Msg: "invalid call command"}
	// ErrViewer refuses a viewer of a broadcast any media it would send.
	ErrViewer = &domain.Error{Kind: domain.KindForbidden, Msg: "viewers of a broadcast only receive: they send no audio, video or screen share"}
	// ErrBroadcastDirect refuses a broadcast in a direct message.
	ErrBroadcastDirect = &domain.Error{Kind: domain.KindInvalid, Msg: "a broadcast is started in a group or a room, not in a direct message"}
)

// StreamName is the stream of a call.
func StreamName(id string) string { return StreamPrefix + id }

// Grant is what a participant's security group allows in calls (§3.3 Calling).
type Grant struct {
	// Audio: calling.canStart11Call ("Enable audio calls").
	Audio bool `json:"audio"`
	// Video: calling.canVideoCall, and Audio (the guide: valid only if audio calling is on).
	Video bool `json:"video"`
	// TCPOnly: calling.forceTcpCall.
	TCPOnly bool `json:"tcpOnly"`
}

// Participant is one participant of a live call.
type Participant struct {
	Member   conversation.Participant
	Grant    Grant
	JoinedAt time.Time
	Media    map[string]bool
}

// State is a call folded from its events.
type State struct {
	ID, ConversationID, ConversationKind, NetworkID string
	Status                                          string
	StartedBy                                       conversation.Participant
	StartedAt, EndedAt                              time.Time
	EndReason                                       string
	Participants                                    map[string]*Participant
	// Broadcast: the call is a broadcast, Presenter its presenter's participant id (the first to
	// join it, its starter); the others are viewers.
	Broadcast bool
	Presenter string
}

// Initial is the state before the first event.
func Initial() State { return State{} }

// Live reports whether the call is in progress.
func (s State) Live() bool { return s.Status == StatusLive }

// Viewer reports whether participant id is a viewer of a broadcast (who only receives).
func (s State) Viewer(id string) bool { return s.Broadcast && id != s.Presenter }

// Limit is the most participants the call may have at once.
func (s State) Limit() int {
	if s.Broadcast {
		return MaxBroadcastParticipants
	}
	return MaxParticipants
}

// participantsOf is how many live participants of s are m's (its devices), counted by m's key.
func participantsOf(s State, m conversation.Participant) int {
	n := 0
	for _, p := range s.Participants {
		if p.Member.Key() == m.Key() {
			n++
		}
	}
	return n
}

// participantIDs are the participants' ids in order.
func participantIDs(s State) []string {
	ids := make([]string, 0, len(s.Participants))
	for id := range s.Participants {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Command is the sealed set of call commands.
type Command interface{ isCallCommand() }

// Start starts a call in a conversation (its Kind: conversation.KindDirect for a 1:1 call) by a
// member (Member, its group's Grant) who is its first participant, ParticipantID. NetworkID is the
// starter's network (the call is counted there, §20). Broadcast starts a broadcast (not in a
// direct message), of which the starter is the presenter.
type Start struct {
	CallID, ConversationID, ConversationKind, NetworkID, ParticipantID string
	Member                                                             conversation.Participant
	Grant                                                              Grant
	Broadcast                                                          bool
}

// Join adds a member of the call's conversation as a new participant. Joining again with an id
// already in the call changes nothing; a new one is refused (ErrFull, ErrUserDevices) when the call
// holds its Limit or Member holds MaxParticipantsPerUser. (Start needs no such check: the call has
// no participants before it.)
type Join struct {
	ParticipantID string
	Member        conversation.Participant
	Grant         Grant
}

// Leave takes a participant out (Reason one of Left*); the last one out ends the call, and so does
// the presenter of a broadcast, its viewers leaving with it (LeftPresenterLeft).
type Leave struct{ ParticipantID, Reason string }

// SetMedia records that a participant started (On) or stopped sending one kind of media (Media*).
type SetMedia struct {
	ParticipantID, Kind string
	On                  bool
}

// Interrupt takes out the participants who joined before Before (a previous run of the service, which
// no longer carries their media), reason LeftServiceRestart; if no one remains the call ends. They
// leave at At, the last instant the previous run was known to carry the call (zero: unknown, now),
// never before they joined nor after now: the call's duration is bounded by what was carried.
type Interrupt struct{ Before, At time.Time }

func (Start) isCallCommand()     {}
func (Join) isCallCommand()      {}
func (Leave) isCallCommand()     {}
func (SetMedia) isCallCommand()  {}
func (Interrupt) isCallCommand() {}

// Decide decides a command on s at now.
func Decide(s State, c Command, now time.Time) ([]Event, error) {
	at := now.UTC()
	if _, ok := c.(Start); !ok && s.ID == "" {
		return nil, ErrNotFound
	}
	switch c := c.(type) {
	case Start:
		return decideStart(s, c, at)
	case Join:
		return decideJoin(s, c, at)
	case Leave:
		return decideLeave(s, c, at), nil
	case SetMedia:
		return decideMedia(s, c, at)
	case Interrupt:
		return decideInterrupt(s, c, at), nil
	}
	return nil, domain.Wrapf(ErrInvalid, "unknown call command %T", c)
}

// decideInterrupt takes out the previous run's participants at c.At (within [joined, now]) and, when
// no one remains, ends the call at the latest of their leaving instants.
func decideInterrupt(s State, c Interrupt, now time.Time) []Event {
	if !s.Live() {
		return nil
	}
	end := now
	if !c.At.IsZero() && c.At.Before(now) {
		end = c.At.UTC()
	}
	var out []Event
	last := s.StartedAt
	for _, id := range participantIDs(s) {
		p := s.Participants[id]
		if !p.JoinedAt.Before(c.Before) {
			continue
		}
		at := end
		if at.Before(p.JoinedAt) {
			at = p.JoinedAt
		}
		if at.After(last) {
			last = at
		}
		out = append(out, ParticipantLeft{ParticipantID: id, Reason: LeftServiceRestart, At: at})
	}
	if len(out) > 0 && len(out) == len(s.Participants) {
		out = append(out, Ended{Reason: EndServiceRestart, At: last})
	}
	return out
}

// decideLeave takes a participant out; the last one out ends the call, and the presenter of a
// broadcast takes its viewers out with it and ends it.
func decideLeave(s State, c Leave, at time.Time) []Event {
	if _, ok := s.Participants[c.ParticipantID]; !ok || !s.Live() {
		return nil
	}
	out := []Event{ParticipantLeft{ParticipantID: c.ParticipantID, Reason: cmp.Or(c.Reason, LeftHungUp), At: at}}
	switch {
	case len(s.Participants) == 1:
		out = append(out, Ended{Reason: endReason(c.Reason), At: at})
	case s.Broadcast && c.ParticipantID == s.Presenter:
		for _, id := range participantIDs(s) {
			if id != c.ParticipantID {
				out = append(out, ParticipantLeft{ParticipantID: id, Reason: LeftPresenterLeft, At: at})
			}
		}
		out = append(out, Ended{Reason: EndPresenterLeft, At: at})
	}
	return out
}

func endReason(left string) string {
	if left == LeftServiceRestart {
		return EndServiceRestart
	}
	return EndAllLeft
}

func decideStart(s State, c Start, at time.Time) ([]Event, error) {
	switch {
	case s.ID != "":
		return nil, ErrExists
	case c.CallID == "" || c.ConversationID == "" || len(c.ConversationID) > maxConversationLen || c.ParticipantID == "" ||
		len(c.ParticipantID) > maxParticipantID || c.Member.Key() == "u::":
		return nil, domain.Wrapf(ErrInvalid, "a call needs a CallID, a ConversationID, a ParticipantID and a member")
	case !c.Grant.Audio:
		return nil, domain.Wrapf(ErrNotAllowed, "the caller's security group does not enable audio calls (calling.canStart11Call): no call can be started")
	case c.Broadcast && c.ConversationKind == conversation.KindDirect:
		return nil, domain.Wrapf(ErrBroadcastDirect, "conversation %s is a direct message: a broadcast is started in a group or a room", c.ConversationID)
	}
	return []Event{
		Started{CallID: c.CallID, ConversationID: c.ConversationID, ConversationKind: c.ConversationKind, NetworkID: c.NetworkID, By: c.Member,
			Broadcast: c.Broadcast, At: at},
		ParticipantJoined{ParticipantID: c.ParticipantID, Member: c.Member, Grant: c.Grant.normal(), At: at},
	}, nil
}

// normal drops video without audio (canVideoCall is valid only with audio calls on).
func (g Grant) normal() Grant {
	g.Video = g.Video && g.Audio
	return g
}

func decideJoin(s State, c Join, at time.Time) ([]Event, error) {
	if _, ok := s.Participants[c.ParticipantID]; ok {
		return nil, nil
	}
	switch {
	case !s.Live():
		return nil, domain.Wrapf(ErrEnded, "the call ended (%s): it cannot be joined", s.EndReason)
	case c.ParticipantID == "" || len(c.ParticipantID) > maxParticipantID || c.Member.Key() == "u::":
		return nil, domain.Wrapf(ErrInvalid, "a participant needs a ParticipantID and a member")
	case len(s.Participants) >= s.Limit():
		return nil, domain.Wrapf(ErrFull, "the call already has %d participants, the most it may have", s.Limit())
	case participantsOf(s, c.Member) >= MaxParticipantsPerUser:
		return nil, domain.Wrapf(ErrUserDevices, "member %s already has %d participants (devices) in the call, the most one member may have",
			c.Member.Key(), MaxParticipantsPerUser)
	}
	return []Event{ParticipantJoined{ParticipantID: c.ParticipantID, Member: c.Member, Grant: c.Grant.normal(), At: at}}, nil
}

func decideMedia(s State, c SetMedia, at time.Time) ([]Event, error) {
	p, ok := s.Participants[c.ParticipantID]
	if !ok || !s.Live() {
		return nil, ErrNotIn
	}
	switch c.Kind {
	case MediaAudio, MediaVideo, MediaContent:
	default:
		return nil, domain.Wrapf(ErrInvalid, "unknown media kind %q", c.Kind)
	}
	if p.Media[c.Kind] == c.On {
		return nil, nil
	}
	if !c.On {
		return []Event{MediaStopped{ParticipantID: c.ParticipantID, Kind: c.Kind, At: at}}, nil
	}
	if s.Viewer(c.ParticipantID) {
		return nil, domain.Wrapf(ErrViewer, "participant %s is a viewer of the broadcast: it only receives (%s refused)", c.ParticipantID, c.Kind)
	}
	if c.Kind != MediaAudio && !p.Grant.Video {
		return nil, domain.Wrapf(ErrVideo, "the participant's security group does not enable video calls and screen sharing (calling.canVideoCall): the call is audio-only")
	}
	return []Event{MediaStarted{ParticipantID: c.ParticipantID, Kind: c.Kind, At: at}}, nil
}
