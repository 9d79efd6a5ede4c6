package meeting_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/meeting"
)

// hostIn is a started meeting with its host ("h", user u1, a moderator) and two attendees b and c.
func hostIn(t *testing.T) meeting.State {
	t.Helper()
	s := given(scheduled)
	for _, j := range []meeting.Join{{AccountID: "a1", AttendeeID: "h", UserID: "u1", Organizer: pro}, join("b"), join("c")} {
		var err error
		if _, s, err = decide(t, s, j); err != nil {
			t.Fatal(err)
		}
	}
	if !s.Attendees["h"].Moderator || s.Attendees["b"].Moderator {
		t.Fatalf("the host is the moderator: %+v", s.Attendees)
	}
	return s
}

// TestModeratorControls: guide §8.2 — the host mutes one and all others, removes an attendee (who
// cannot come back), locks the meeting (no one else joins) and ends it; an attendee unmutes itself.
func TestModeratorControls(t *testing.T) {
	t.Parallel()
	s := hostIn(t)
	evs, s, err := decide(t, s, meeting.Mute{AccountID: "a1", By: "h", AttendeeID: "b"})
	if err != nil || !reflect.DeepEqual(evs, []meeting.Event{meeting.AttendeeMuted{AttendeeID: "b", By: "h", At: now}}) || !s.Attendees["b"].Muted {
		t.Fatalf("mute b: %v %v", evs, err)
	}
	if evs, _, _ := decide(t, s, meeting.Mute{AccountID: "a1", By: "h", AttendeeID: "b"}); len(evs) != 0 {
		t.Fatalf("muting twice: %v", evs)
	}
	evs, s, _ = decide(t, s, meeting.MuteAll{AccountID: "a1", By: "h"})
	if !reflect.DeepEqual(evs, []meeting.Event{meeting.AllMuted{AttendeeIDs: []string{"c"}, By: "h", At: now}}) || !s.Attendees["c"].Muted || s.Attendees["h"].Muted {
		t.Fatalf("mute all: %v", evs)
	}
	evs, s, _ = decide(t, s, meeting.Unmute{AccountID: "a1", AttendeeID: "c"})
	if len(evs) != 1 || s.Attendees["c"].Muted {
		t.Fatalf("c unmutes itself: %v", evs)
	}

	evs, s, _ = decide(t, s, meeting.Remove{AccountID: "a1", By: "h", AttendeeID: "c"})
	if !reflect.DeepEqual(evs, []meeting.Event{meeting.AttendeeLeft{AttendeeID: "c", Reason: meeting.LeftRemoved, By: "h", At: now}}) {
		t.Fatalf("remove c: %v", evs)
	}
	if _, ok := s.Attendees["c"]; ok {
		t.Fatal("a removed attendee is still in the roster")
	}
	if _, _, err := decide(t, s, meeting.Join{AccountID: "a1", AttendeeID: "c2", UserID: "user-c", Organizer: pro}); !errors.Is(err, meeting.ErrRemoved) {
		t.Fatalf("a removed user joins again: %v", err)
	}

	evs, s, _ = decide(t, s, meeting.Lock{AccountID: "a1", By: "h", On: true})
	if len(evs) != 1 || !s.Locked {
		t.Fatalf("lock: %v", evs)
	}
	if _, _, err := decide(t, s, join("d")); !errors.Is(err, meeting.ErrLocked) || domain.KindOf(err) != domain.KindConflict {
		t.Fatalf("joining a locked meeting: %v", err)
	}
	if _, _, err := decide(t, s, meeting.Join{AccountID: "a1", AttendeeID: "h2", UserID: "u1", Organizer: pro}); err != nil {
		t.Fatalf("the host joins a locked meeting: %v", err)
	}
	_, s, _ = decide(t, s, meeting.Lock{AccountID: "a1", By: "h", On: false})
	if _, _, err := decide(t, s, join("d")); err != nil {
		t.Fatalf("joining an unlocked meeting: %v", err)
	}

	evs, s, _ = decide(t, s, meeting.End{AccountID: "a1", By: "h"})
	if last := evs[len(evs)-1]; !reflect.DeepEqual(last, meeting.Ended{Reason: meeting.EndReasonEndedByHost, By: "h", At: now}) || len(evs) != 5 || s.Status != meeting.StatusEnded {
		t.Fatalf("the host ends the meeting: %v", evs)
	}
}

// TestNonModeratorsAreRefused: every control by an attendee who is not a moderator is Forbidden and
// records nothing; a moderator cannot mute or remove itself or another moderator.
func TestNonModeratorsAreRefused(t *testing.T) {
	t.Parallel()
	s := hostIn(t)
	for _, c := range []meeting.Command{
		meeting.Mute{AccountID: "a1", By: "b", AttendeeID: "c"},
		meeting.MuteAll{AccountID: "a1", By: "b"},
		meeting.Remove{AccountID: "a1", By: "b", AttendeeID: "h"},
		meeting.Lock{AccountID: "a1", By: "b", On: true},
		meeting.End{AccountID: "a1", By: "b"},
		meeting.Mute{AccountID: "a1", By: "gone", AttendeeID: "c"},
	} {
		evs, err := meeting.Decide(s, c, now)
		if !errors.Is(err, meeting.ErrNotModerator) || domain.KindOf(err) != domain.KindForbidden || len(evs) != 0 {
			t.Fatalf("%T by a non-moderator: %v %v", c, evs, err)
		}
	}
	_, s, _ = decide(t, s, meeting.Join{AccountID: "a1", AttendeeID: "h2", UserID: "u1", Organizer: pro})
	for _, c := range []meeting.Command{
		meeting.Mute{AccountID: "a1", By: "h", AttendeeID: "h"},
		meeting.Remove{AccountID: "a1", By: "h", AttendeeID: "h"},
		meeting.Remove{AccountID: "a1", By: "h", AttendeeID: "h2"},
		meeting.Mute{AccountID: "a1", By: "h", AttendeeID: "nobody"},
	} {
		if evs, err := meeting.Decide(s, c, now); err == nil || len(evs) != 0 {
			t.Fatalf("%+v: %v %v", c, evs, err)
		}
	}
	if _, _, err := decide(t, s, meeting.Unmute{AccountID: "a1", AttendeeID: "nobody"}); !errors.Is(err, meeting.ErrNotAttendee) {
		t.Fatalf("a stranger unmutes: %v", err)
	}
}

// TestModeratedMeetingWaitsForItsModerator: guide §8.2 — in a moderated meeting no one else joins
// before a moderator: the host, or whoever the caller checked gave the moderator passcode; then
// everyone does. A plain meeting has no passcode, a moderated one must have one.
func TestModeratedMeetingWaitsForItsModerator(t *testing.T) {
	t.Parallel()
	code := domain.Sealed{KeyID: pin.KeyID, Data: []byte{9, 9}}
	if _, err := meeting.Decide(meeting.Initial(), meeting.Schedule{AccountID: "a1", Organizer: pro, Title: "x", StartsAt: now, PIN: pin, Moderated: true}, now); err == nil {
		t.Fatal("a moderated meeting without a passcode")
	}
	if _, err := meeting.Decide(meeting.Initial(), meeting.Schedule{AccountID: "a1", Organizer: pro, Title: "x", StartsAt: now, PIN: pin, Passcode: code}, now); err == nil {
		t.Fatal("a passcode on a plain meeting")
	}
	evs, err := meeting.Decide(meeting.Initial(), meeting.Schedule{AccountID: "a1", Organizer: pro, Title: "Board", StartsAt: now, PIN: pin, Moderated: true, Passcode: code}, now)
	if err != nil {
		t.Fatal(err)
	}
	s := given(evs...)
	if _, _, err := decide(t, s, join("b")); !errors.Is(err, meeting.ErrWaiting) || domain.KindOf(err) != domain.KindConflict {
		t.Fatalf("an attendee before the moderator: %v", err)
	}
	evs, s, err = decide(t, s, meeting.Join{AccountID: "a1", AttendeeID: "d", UserID: "delegate", Organizer: pro, AsModerator: true})
	if err != nil || len(evs) != 2 || !s.Attendees["d"].Moderator || s.Status != meeting.StatusStarted {
		t.Fatalf("a moderator with the passcode starts it: %v %v", evs, err)
	}
	if _, _, err := decide(t, s, join("b")); err != nil {
		t.Fatalf("an attendee once a moderator is in: %v", err)
	}
}
