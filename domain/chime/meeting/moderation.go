package meeting

import (
	"time"

	"github.com/belfry/belfry/domain"
)

// Moderation (guide §8.2): moderators have host controls — mute one or all other participants,
// remove an attendee, lock and unlock the meeting, end it.
//
// Invariants:
//   - A moderator is an attendee who joined as the meeting's host: the organiser, a delegate of the
//     organiser, or (a moderated meeting) one who gave the moderator passcode; the caller checks the
//     last two (Join.AsModerator;
//     AttendeeJoined.Moderator). In a moderated meeting no one else joins before a moderator is in
//     (ErrWaitingForModerator): the moderator starts it. Every control names the acting attendee
//     (By) and is refused (ErrNotModerator)
//     unless By is a moderator in the live roster; a moderator cannot be muted by another, removed,
//     or act on itself through Mute/Remove.
//   - A muted attendee's audio is not forwarded; only the attendee may unmute itself (no one turns on
//     another's microphone). MuteAll mutes every attendee but the moderator who asked.
//   - A removed attendee leaves (AttendeeLeft, reason LeftRemoved, By) with every other attendee of
//     its user (decideRemove), and its user cannot join the meeting again; a locked meeting admits no one but moderators.

// Moderation event types.
const (
	TypeAttendeeMuted   = "chime.meeting.attendee_muted.v1"
	TypeAllMuted        = "chime.meeting.all_muted.v1"
	TypeAttendeeUnmuted = "chime.meeting.attendee_unmuted.v1"
	TypeLocked          = "chime.meeting.locked.v1"
	TypeUnlocked        = "chime.meeting.unlocked.v1"
)

// LeftRemoved is why an attendee a moderator removed left.
const LeftRemoved = "RemovedByModerator"

// Moderation sentinels.
var (
	ErrNotModerator = &domain.Error{Kind: domain.KindForbidden, Msg: "only a moderator may do this"}
	ErrLocked       = &domain.Error{Kind: domain.KindConflict, Msg: "the meeting is locked"}
	ErrRemoved      = &domain.Error{Kind: domain.KindForbidden, Msg: "a moderator removed you from this meeting"}
	ErrWaiting      = &domain.Error{Kind: domain.KindConflict, Msg: "the meeting is waiting for its moderator"}
)

// AttendeeMuted records that a moderator muted one attendee.
type AttendeeMuted struct {
	AttendeeID string    `json:"attendeeId"`
	By         string    `json:"by"`
	At         time.Time `json:"at"`
}

// AllMuted records that a moderator muted every other attendee (those not muted already).
type AllMuted struct {
	AttendeeIDs []string  `json:"attendeeIds"`
	By          string    `json:"by"`
	At          time.Time `json:"at"`
}

// AttendeeUnmuted records that an attendee unmuted itself.
type AttendeeUnmuted struct {
	AttendeeID string    `json:"attendeeId"`
	At         time.Time `json:"at"`
}

// Locked records that a moderator locked the meeting.
type Locked struct {
	By string    `json:"by"`
	At time.Time `json:"at"`
}

// Unlocked records that a moderator unlocked the meeting.
type Unlocked struct {
	By string    `json:"by"`
	At time.Time `json:"at"`
}

// EventType implements Event.
func (AttendeeMuted) EventType() string { return TypeAttendeeMuted }

// EventType implements Event.
func (AllMuted) EventType() string { return TypeAllMuted }

// EventType implements Event.
func (AttendeeUnmuted) EventType() string { return TypeAttendeeUnmuted }

// EventType implements Event.
func (Locked) EventType() string { return TypeLocked }

// EventType implements Event.
func (Unlocked) EventType() string { return TypeUnlocked }

// Mute is a moderator (By, an attendee id) muting another attendee.
type Mute struct{ AccountID, By, AttendeeID string }

// MuteAll is a moderator muting every other attendee.
type MuteAll struct{ AccountID, By string }

// Unmute is an attendee unmuting itself.
type Unmute struct{ AccountID, AttendeeID string }

// Remove is a moderator removing another attendee, with its user's other attendees; the user cannot
// join again.
type Remove struct{ AccountID, By, AttendeeID string }

// Lock is a moderator locking (On) or unlocking the meeting.
type Lock struct {
	AccountID, By string
	On            bool
}

func (Mute) isMeetingCommand()    {}
func (MuteAll) isMeetingCommand() {}
func (Unmute) isMeetingCommand()  {}
func (Remove) isMeetingCommand()  {}
func (Lock) isMeetingCommand()    {}

// moderator checks that by is a moderator in the live roster of a started meeting.
func moderator(s State, by string) error {
	if s.Status != StatusStarted {
		return domain.Wrapf(ErrNotOpen, "the meeting is %s", s.Status)
	}
	if a, ok := s.Attendees[by]; !ok || !a.Moderator {
		return domain.Wrapf(ErrNotModerator, "attendee %s is not a moderator of this meeting; its host is", by)
	}
	return nil
}

// target is another, non-moderator attendee a moderator acts on.
func target(s State, by, id string) (Attendee, error) {
	a, ok := s.Attendees[id]
	switch {
	case !ok:
		return a, domain.Wrapf(ErrNotAttendee, "attendee %s is not in the meeting", id)
	case id == by:
		return a, domain.Wrapf(ErrInvalid, "a moderator cannot do this to itself")
	case a.Moderator:
		return a, domain.Wrapf(ErrNotModerator, "attendee %s is a moderator: moderators cannot act on each other", id)
	}
	return a, nil
}

func decideModeration(s State, c Command, at time.Time) ([]Event, error) {
	switch c := c.(type) {
	case Unmute:
		a, ok := s.Attendees[c.AttendeeID]
		if !ok {
			return nil, domain.Wrapf(ErrNotAttendee, "attendee %s is not in the meeting", c.AttendeeID)
		}
		if !a.Muted {
			return nil, nil
		}
		return []Event{AttendeeUnmuted{AttendeeID: c.AttendeeID, At: at}}, nil
	case Mute:
		if err := moderator(s, c.By); err != nil {
			return nil, err
		}
		a, err := target(s, c.By, c.AttendeeID)
		if err != nil || a.Muted {
			return nil, err
		}
		return []Event{AttendeeMuted{AttendeeID: c.AttendeeID, By: c.By, At: at}}, nil
	case MuteAll:
		if err := moderator(s, c.By); err != nil {
			return nil, err
		}
		var ids []string
		for _, id := range attendeeIDs(s) {
			if a := s.Attendees[id]; id != c.By && !a.Muted && !a.Moderator {
				ids = append(ids, id)
			}
		}
		if len(ids) == 0 {
			return nil, nil
		}
		return []Event{AllMuted{AttendeeIDs: ids, By: c.By, At: at}}, nil
	case Remove:
		if err := moderator(s, c.By); err != nil {
			return nil, err
		}
		return decideRemove(s, c, at)
	case Lock:
		if err := moderator(s, c.By); err != nil {
			return nil, err
		}
		switch {
		case c.On == s.Locked:
			return nil, nil
		case c.On:
			return []Event{Locked{By: c.By, At: at}}, nil
		}
		return []Event{Unlocked{By: c.By, At: at}}, nil
	}
	return nil, domain.Errorf(domain.KindInvalid, "unknown meeting command %T", c)
}

// decideRemove removes the attendee c names and every other attendee of its user (the user's other
// devices): the removal bans the user, so none of its attendees stays to listen, chat or share
// [derived: the guide is silent; a mature product's "remove" takes the participant out, not one of
// its connections]. It is refused if any of them is a moderator (moderators cannot act on each other).
func decideRemove(s State, c Remove, at time.Time) ([]Event, error) {
	a, err := target(s, c.By, c.AttendeeID)
	if err != nil {
		return nil, err
	}
	out := []Event{AttendeeLeft{AttendeeID: c.AttendeeID, Reason: LeftRemoved, By: c.By, At: at}}
	for _, id := range attendeeIDs(s) {
		o := s.Attendees[id]
		switch {
		case id == c.AttendeeID || o.UserID != a.UserID:
		case o.Moderator || id == c.By:
			return nil, domain.Wrapf(ErrNotModerator, "user %s is also in the meeting as a moderator: moderators cannot act on each other", a.UserID)
		default:
			out = append(out, AttendeeLeft{AttendeeID: id, Reason: LeftRemoved, By: c.By, At: at})
		}
	}
	return out, nil
}

// admission refuses a join the moderation state forbids: a removed user; a locked meeting, or a
// moderated one no moderator has joined, for anyone but a moderator.
func admission(s State, userID string, moderator bool) error {
	switch {
	case s.Removed[userID]:
		return domain.Wrapf(ErrRemoved, "user %s was removed from this meeting by a moderator", userID)
	case moderator:
		return nil
	case s.Locked:
		return domain.Wrapf(ErrLocked, "the meeting is locked: a moderator must unlock it before anyone else joins")
	case s.Moderated && !moderatorIn(s) && (s.Status == StatusScheduled || s.Status == StatusStarted):
		return domain.Wrapf(ErrWaiting, "this is a moderated meeting: others join once its host or a moderator (with the moderator passcode) has joined")
	}
	return nil
}

func moderatorIn(s State) bool {
	for _, a := range s.Attendees {
		if a.Moderator {
			return true
		}
	}
	return false
}

func evolveModeration(s State, e Event) State {
	setMuted := func(id string, on bool) {
		if a, ok := s.Attendees[id]; ok {
			a.Muted = on
			s.Attendees[id] = a
		}
	}
	switch e := e.(type) {
	case AttendeeMuted:
		setMuted(e.AttendeeID, true)
	case AllMuted:
		for _, id := range e.AttendeeIDs {
			setMuted(id, true)
		}
	case AttendeeUnmuted:
		setMuted(e.AttendeeID, false)
	case Locked:
		s.Locked = true
	case Unlocked:
		s.Locked = false
	}
	return s
}

// removed records that a removed attendee's user may not join again (before the attendee leaves
// the roster).
func removed(s State, e AttendeeLeft) State {
	a, ok := s.Attendees[e.AttendeeID]
	if e.Reason != LeftRemoved || !ok {
		return s
	}
	if s.Removed == nil {
		s.Removed = map[string]bool{}
	}
	s.Removed[a.UserID] = true
	return s
}
