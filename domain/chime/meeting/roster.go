package meeting

import (
	"cmp"
	"slices"
	"time"

	"github.com/belfry/belfry/domain"
)

// Roster event types.
const (
	TypeAttendeeJoined = "chime.meeting.attendee_joined.v1"
	TypeAttendeeLeft   = "chime.meeting.attendee_left.v1"
	TypeMediaStarted   = "chime.meeting.media_started.v1"
	TypeMediaStopped   = "chime.meeting.media_stopped.v1"
)

// The guide's limits of a Pro meeting (§4.13, §18.1). Screen shares are not video tiles: they are
// counted on their own, at most MaxContentShares at once [derived: the guide gives no number; Chime
// shows one shared screen at a time].
const (
	MaxAttendees     = 250
	MaxVideoTiles    = 25
	MaxContentShares = 1
)

// MaxAttendeesPerUser is how many attendees (signalling connections, one per device) one user may
// hold in a meeting at once [Belfry's choice: the guide gives no number]. A person joins from a few
// devices — desktop, phone, browser, a room system — not from dozens; without a bound one user of the
// account could take all MaxAttendees places and lock everyone else out.
const MaxAttendeesPerUser = 10

// Media kinds: MediaContent is a screen share, a second video track.
const (
	MediaAudio   = "audio"
	MediaVideo   = "video"
	MediaContent = "content"
)

// Why an attendee left.
const (
	LeftHungUp         = "Left"           // the attendee closed its signalling connection
	LeftDisconnected   = "Disconnected"   // its media connection failed or it fell too far behind
	LeftServiceRestart = "ServiceRestart" // the service stopped or crashed while the attendee was in
	LeftMeetingEnded   = "MeetingEnded"   // the meeting ended around it
)

// Why a meeting ended.
const (
	EndReasonEndedByHost    = "EndedByHost"
	EndReasonAllLeft        = "AllAttendeesLeft"
	EndReasonServiceRestart = "ServiceRestart"
)

// Roster sentinels.
var (
	ErrFull        = &domain.Error{Kind: domain.KindLimitExceeded, Msg: "the meeting is full"}
	ErrUserDevices = &domain.Error{Kind: domain.KindLimitExceeded, Msg: "the user is in the meeting from too many devices"}
	ErrVideoTiles  = &domain.Error{Kind: domain.KindLimitExceeded, Msg: "the meeting has no free video tile"}
	ErrContent     = &domain.Error{Kind: domain.KindLimitExceeded, Msg: "someone else is sharing a screen"}
	ErrNotAttendee = &domain.Error{Kind: domain.KindNotFound, Msg: "no such attendee in the meeting"}
)

// Attendee is one attendee in the live roster.
type Attendee struct {
	UserID    string
	JoinedAt  time.Time
	Audio     bool
	Video     bool
	Content   bool // shares a screen
	Moderator bool // joined as the meeting's host (moderation.go)
	Muted     bool // a moderator muted it: its audio is not forwarded
}

// AttendeeJoined records that a user joined the meeting's media session; Moderator when the user
// is the meeting's host (false in events stored before moderation).
type AttendeeJoined struct {
	AttendeeID string    `json:"attendeeId"`
	UserID     string    `json:"userId"`
	Moderator  bool      `json:"moderator,omitempty"`
	At         time.Time `json:"at"`
}

// AttendeeLeft records that an attendee left (Left* reasons); By is the moderator who removed it
// (reason LeftRemoved).
type AttendeeLeft struct {
	AttendeeID string    `json:"attendeeId"`
	Reason     string    `json:"reason"`
	By         string    `json:"by,omitempty"`
	At         time.Time `json:"at"`
}

// MediaStarted records that an attendee started sending audio or video.
type MediaStarted struct {
	AttendeeID string    `json:"attendeeId"`
	Kind       string    `json:"kind"`
	At         time.Time `json:"at"`
}

// MediaStopped records that an attendee stopped sending audio or video.
type MediaStopped struct {
	AttendeeID string    `json:"attendeeId"`
	Kind       string    `json:"kind"`
	At         time.Time `json:"at"`
}

// EventType implements Event.
func (AttendeeJoined) EventType() string { return TypeAttendeeJoined }

// EventType implements Event.
func (AttendeeLeft) EventType() string { return TypeAttendeeLeft }

// EventType implements Event.
func (MediaStarted) EventType() string { return TypeMediaStarted }

// EventType implements Event.
func (MediaStopped) EventType() string { return TypeMediaStopped }

// Join adds an attendee; the first join of a scheduled meeting starts it, so Organizer states the
// organiser's facts now (as for Start). Joining again with the same AttendeeID changes nothing; a
// new one is refused (ErrFull, ErrUserDevices) when the meeting holds MaxAttendees or UserID holds
// MaxAttendeesPerUser.
// AsModerator states that the caller checked the moderator passcode the attendee gave, or that the
// attendee's user is a delegate of the organiser (guide §8.2; domain/chime/contacts; moderation.go).
type Join struct {
	AccountID, AttendeeID, UserID string
	Organizer                     Host
	AsModerator                   bool
}

// Leave removes an attendee (Reason one of Left*); the last one out ends the meeting.
type Leave struct{ AccountID, AttendeeID, Reason string }

// SetMedia records that an attendee started (On) or stopped sending one kind of media (Media*).
type SetMedia struct {
	AccountID, AttendeeID, Kind string
	On                          bool
}

// Interrupt removes the attendees who joined before Before (a previous run of the service, which
// no longer carries their media), reason LeftServiceRestart; if no one remains the meeting ends.
type Interrupt struct {
	AccountID string
	Before    time.Time
}

func decideRoster(s State, c Command, now time.Time) ([]Event, error) {
	if c, ok := c.(PostChat); ok {
		return decideChat(s, c, now)
	}
	at := now.UTC()
	switch c := c.(type) {
	case Join:
		return decideJoin(s, c, at)
	case Leave:
		if _, ok := s.Attendees[c.AttendeeID]; !ok {
			return nil, nil
		}
		out := []Event{AttendeeLeft{AttendeeID: c.AttendeeID, Reason: c.Reason, At: at}}
		if len(s.Attendees) == 1 {
			out = append(append(out, stopRecording(s, at)...), Ended{Reason: cmp.Or(endReasonOf(c.Reason), EndReasonAllLeft), At: at})
		}
		return out, nil
	case SetMedia:
		return decideMedia(s, c, at)
	case Mute, MuteAll, Unmute, Remove, Lock:
		return decideModeration(s, c, at)
	case Record:
		return decideRecord(s, c, at)
	case Interrupt:
		var out []Event
		for _, id := range attendeeIDs(s) {
			if s.Attendees[id].JoinedAt.Before(c.Before) {
				out = append(out, AttendeeLeft{AttendeeID: id, Reason: LeftServiceRestart, At: at})
			}
		}
		if len(out) > 0 && len(out) == len(s.Attendees) {
			return append(append(out, stopRecording(s, at)...), Ended{Reason: EndReasonServiceRestart, At: at}), nil
		}
		return append(out, stopInterrupted(s, c.Before, at)...), nil
	}
	return nil, domain.Errorf(domain.KindInvalid, "unknown meeting command %T", c)
}

func decideJoin(s State, c Join, at time.Time) ([]Event, error) {
	if _, ok := s.Attendees[c.AttendeeID]; ok {
		return nil, nil
	}
	moderator := c.UserID == s.OrganizerID || c.AsModerator
	if err := admission(s, c.UserID, moderator); err != nil {
		return nil, err
	}
	var out []Event
	switch s.Status {
	case StatusStarted:
	case StatusScheduled:
		if err := c.Organizer.check(s.OrganizerID); err != nil {
			return nil, domain.Wrapf(ErrDisabled, "the meeting cannot start: %s", err.Error())
		}
		out = append(out, Started{By: c.UserID, At: at})
	case StatusDisabled:
		return nil, domain.Wrapf(ErrDisabled, "the meeting is disabled (%s): it cannot be joined", s.DisabledReason)
	default:
		return nil, domain.Wrapf(ErrNotOpen, "the meeting is %s: it cannot be joined", s.Status)
	}
	if c.AttendeeID == "" || c.UserID == "" {
		return nil, domain.Wrapf(ErrInvalid, "an attendee needs an AttendeeID and a UserID")
	}
	if len(s.Attendees) >= MaxAttendees {
		return nil, domain.Wrapf(ErrFull, "the meeting already has %d attendees, the most a meeting may have", MaxAttendees)
	}
	if attendeesOf(s, c.UserID) >= MaxAttendeesPerUser {
		return nil, domain.Wrapf(ErrUserDevices, "user %s already has %d attendees (devices) in the meeting, the most one user may have", c.UserID, MaxAttendeesPerUser)
	}
	return append(out, AttendeeJoined{AttendeeID: c.AttendeeID, UserID: c.UserID, Moderator: moderator, At: at}), nil
}

func decideMedia(s State, c SetMedia, at time.Time) ([]Event, error) {
	a, ok := s.Attendees[c.AttendeeID]
	if !ok {
		return nil, domain.Wrapf(ErrNotAttendee, "attendee %s is not in the meeting", c.AttendeeID)
	}
	var on bool
	switch c.Kind {
	case MediaAudio:
		on = a.Audio
	case MediaVideo:
		on = a.Video
	case MediaContent:
		on = a.Content
	default:
		return nil, domain.Wrapf(ErrInvalid, "media kind must be %s, %s or %s, got %q", MediaAudio, MediaVideo, MediaContent, c.Kind)
	}
	if on == c.On {
		return nil, nil
	}
	if !c.On {
		return []Event{MediaStopped{AttendeeID: c.AttendeeID, Kind: c.Kind, At: at}}, nil
	}
	if c.Kind == MediaVideo && VideoTiles(s) >= MaxVideoTiles {
		return nil, domain.Wrapf(ErrVideoTiles, "%d attendees already send video, the most a meeting shows", MaxVideoTiles)
	}
	if c.Kind == MediaContent && ContentShares(s) >= MaxContentShares {
		return nil, domain.Wrapf(ErrContent, "%d attendee already shares a screen, the most a meeting shows at once", MaxContentShares)
	}
	return []Event{MediaStarted{AttendeeID: c.AttendeeID, Kind: c.Kind, At: at}}, nil
}

// endWith is every attendee leaving (LeftMeetingEnded) and the meeting ending for reason (by a
// moderator when by is set).
func endWith(s State, reason, by string, now time.Time) []Event {
	at := now.UTC()
	var out []Event
	for _, id := range attendeeIDs(s) {
		out = append(out, AttendeeLeft{AttendeeID: id, Reason: LeftMeetingEnded, At: at})
	}
	out = append(out, stopRecording(s, at)...)
	return append(out, Ended{Reason: reason, By: by, At: at})
}

// endReasonOf is the meeting's end reason when the last attendee leaves for reason left.
func endReasonOf(left string) string {
	if left == LeftServiceRestart {
		return EndReasonServiceRestart
	}
	return ""
}

// VideoTiles is how many attendees send video.
func VideoTiles(s State) int {
	n := 0
	for _, a := range s.Attendees {
		if a.Video {
			n++
		}
	}
	return n
}

// ContentShares is how many attendees share a screen.
func ContentShares(s State) int {
	n := 0
	for _, a := range s.Attendees {
		if a.Content {
			n++
		}
	}
	return n
}

// attendeesOf is how many attendees of the live roster belong to userID (its devices).
func attendeesOf(s State, userID string) int {
	n := 0
	for _, a := range s.Attendees {
		if a.UserID == userID {
			n++
		}
	}
	return n
}

func attendeeIDs(s State) []string {
	ids := make([]string, 0, len(s.Attendees))
	for id := range s.Attendees {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func evolveRoster(s State, e Event) State {
	switch e := e.(type) {
	case AttendeeJoined:
		if s.Attendees == nil {
			s.Attendees = map[string]Attendee{}
		}
		s.Attendees[e.AttendeeID] = Attendee{UserID: e.UserID, JoinedAt: e.At, Moderator: e.Moderator}
	case AttendeeLeft:
		s = removed(s, e)
		delete(s.Attendees, e.AttendeeID)
	case MediaStarted, MediaStopped:
		id, kind, on := mediaOf(e)
		a, ok := s.Attendees[id]
		if !ok {
			return s
		}
		switch kind {
		case MediaVideo:
			a.Video = on
		case MediaContent:
			a.Content = on
		default:
			a.Audio = on
		}
		s.Attendees[id] = a
	default:
		return evolveModeration(s, e)
	}
	return s
}

func mediaOf(e Event) (id, kind string, on bool) {
	if m, ok := e.(MediaStarted); ok {
		return m.AttendeeID, m.Kind, true
	}
	m := e.(MediaStopped)
	return m.AttendeeID, m.Kind, false
}
