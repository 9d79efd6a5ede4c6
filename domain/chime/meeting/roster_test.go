package meeting_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/meeting"
)

// decide runs c and folds its events into s (Evolve updates the roster map in place: s is spent).
func decide(t *testing.T, s meeting.State, c meeting.Command) ([]meeting.Event, meeting.State, error) {
	t.Helper()
	evs, err := meeting.Decide(s, c, now)
	for _, e := range evs {
		s = meeting.Evolve(s, e)
	}
	return evs, s, err
}

func join(id string) meeting.Join {
	return meeting.Join{AccountID: "a1", AttendeeID: id, UserID: "user-" + id, Organizer: pro}
}

// TestRosterLifecycle: the first join starts the meeting, media is recorded, the last one out ends it.
func TestRosterLifecycle(t *testing.T) {
	t.Parallel()
	evs, s, err := decide(t, given(scheduled), join("a"))
	want := []meeting.Event{meeting.Started{By: "user-a", At: now}, meeting.AttendeeJoined{AttendeeID: "a", UserID: "user-a", At: now}}
	if err != nil || !reflect.DeepEqual(evs, want) || s.Status != meeting.StatusStarted {
		t.Fatalf("first join: %v %v %+v", evs, err, s)
	}
	if evs, _, _ := decide(t, s, join("a")); len(evs) != 0 {
		t.Fatalf("joining twice: %v", evs)
	}
	_, s, _ = decide(t, s, join("b"))
	evs, s, _ = decide(t, s, meeting.SetMedia{AccountID: "a1", AttendeeID: "b", Kind: meeting.MediaVideo, On: true})
	if len(evs) != 1 || !s.Attendees["b"].Video || meeting.VideoTiles(s) != 1 {
		t.Fatalf("video on: %v %+v", evs, s.Attendees)
	}
	if _, _, err := decide(t, s, meeting.SetMedia{AccountID: "a1", AttendeeID: "b", Kind: "smell", On: true}); !errors.Is(err, meeting.ErrInvalid) {
		t.Fatalf("unknown kind: %v", err)
	}
	if _, _, err := decide(t, s, meeting.SetMedia{AccountID: "a1", AttendeeID: "zz", Kind: meeting.MediaAudio, On: true}); !errors.Is(err, meeting.ErrNotAttendee) {
		t.Fatalf("a stranger's media: %v", err)
	}
	evs, s, _ = decide(t, s, meeting.Leave{AccountID: "a1", AttendeeID: "a", Reason: meeting.LeftHungUp})
	if len(evs) != 1 || s.Status != meeting.StatusStarted {
		t.Fatalf("first leave: %v %s", evs, s.Status)
	}
	evs, s, _ = decide(t, s, meeting.Leave{AccountID: "a1", AttendeeID: "b", Reason: meeting.LeftDisconnected})
	if len(evs) != 2 || s.Status != meeting.StatusEnded || s.EndReason != meeting.EndReasonAllLeft || len(s.Attendees) != 0 {
		t.Fatalf("last leave: %v %+v", evs, s)
	}
	if _, _, err := decide(t, s, join("c")); !errors.Is(err, meeting.ErrNotOpen) {
		t.Fatalf("joining an ended meeting: %v", err)
	}
	if _, _, err := decide(t, given(scheduled, disabled), join("c")); !errors.Is(err, meeting.ErrDisabled) {
		t.Fatalf("joining a disabled meeting: %v", err)
	}
	if _, _, err := decide(t, given(scheduled), meeting.Join{AccountID: "a1", AttendeeID: "x", UserID: "u2", Organizer: basic}); !errors.Is(err, meeting.ErrDisabled) {
		t.Fatalf("a meeting whose organiser lost the host role starts on join: %v", err)
	}
	if _, _, err := decide(t, given(scheduled), meeting.Join{AccountID: "a2", AttendeeID: "x", UserID: "u2", Organizer: pro}); !errors.Is(err, meeting.ErrNotFound) {
		t.Fatalf("joining from another account: %v", err)
	}
}

// TestRosterLimits: guide §18.1 — 250 attendees, 25 video tiles; the 251st and the 26th are refused.
func TestRosterLimits(t *testing.T) {
	t.Parallel()
	s := given(scheduled)
	for i := range meeting.MaxAttendees {
		var err error
		if _, s, err = decide(t, s, join(fmt.Sprint(i))); err != nil {
			t.Fatalf("attendee %d: %v", i+1, err)
		}
	}
	_, _, err := decide(t, s, join("one-too-many"))
	if !errors.Is(err, meeting.ErrFull) || domain.KindOf(err) != domain.KindLimitExceeded {
		t.Fatalf("the 251st attendee: %v", err)
	}
	for i := range meeting.MaxVideoTiles {
		if _, s, err = decide(t, s, meeting.SetMedia{AccountID: "a1", AttendeeID: fmt.Sprint(i), Kind: meeting.MediaVideo, On: true}); err != nil {
			t.Fatalf("video %d: %v", i+1, err)
		}
	}
	if _, _, err := decide(t, s, meeting.SetMedia{AccountID: "a1", AttendeeID: "100", Kind: meeting.MediaVideo, On: true}); !errors.Is(err, meeting.ErrVideoTiles) {
		t.Fatalf("the 26th video: %v", err)
	}
	if _, _, err := decide(t, s, meeting.SetMedia{AccountID: "a1", AttendeeID: "100", Kind: meeting.MediaAudio, On: true}); err != nil {
		t.Fatalf("audio is not limited by tiles: %v", err)
	}
	_, s, _ = decide(t, s, meeting.SetMedia{AccountID: "a1", AttendeeID: "0", Kind: meeting.MediaVideo, On: false})
	if _, _, err := decide(t, s, meeting.SetMedia{AccountID: "a1", AttendeeID: "100", Kind: meeting.MediaVideo, On: true}); err != nil {
		t.Fatalf("a freed tile: %v", err)
	}
}

// TestRosterLimitPerUser: given a started meeting where one user is in from MaxAttendeesPerUser
// devices, when that user joins from one more it is refused (ErrUserDevices, LimitExceeded, naming
// the bound) while another user still joins and a repeated join of one of its attendees stays a
// no-op; once one of its attendees leaves, the user joins again.
func TestRosterLimitPerUser(t *testing.T) {
	t.Parallel()
	device := func(i int) meeting.Join {
		return meeting.Join{AccountID: "a1", AttendeeID: fmt.Sprintf("u2-%d", i), UserID: "u2", Organizer: pro}
	}
	s := given(scheduled)
	for i := range meeting.MaxAttendeesPerUser {
		var err error
		if _, s, err = decide(t, s, device(i)); err != nil {
			t.Fatalf("given: device %d: %v", i+1, err)
		}
	}

	evs, s, err := decide(t, s, device(meeting.MaxAttendeesPerUser))
	if !errors.Is(err, meeting.ErrUserDevices) || domain.KindOf(err) != domain.KindLimitExceeded ||
		!strings.Contains(err.Error(), fmt.Sprint(meeting.MaxAttendeesPerUser)) || len(evs) != 0 {
		t.Fatalf("then the user's device %d is refused naming the bound: %v %v", meeting.MaxAttendeesPerUser+1, evs, err)
	}
	if _, s, err = decide(t, s, join("other")); err != nil {
		t.Fatalf("then another user still joins: %v", err)
	}
	if evs, _, err := decide(t, s, device(3)); err != nil || len(evs) != 0 {
		t.Fatalf("then a repeated join of an attendee in the roster is a no-op: %v %v", evs, err)
	}

	_, s, _ = decide(t, s, meeting.Leave{AccountID: "a1", AttendeeID: "u2-0", Reason: meeting.LeftHungUp})
	if _, _, err := decide(t, s, device(meeting.MaxAttendeesPerUser)); err != nil {
		t.Fatalf("when one of its attendees left, then the user joins again: %v", err)
	}
}

// TestInterruptAndEnd: a restart removes the attendees of the previous run and ends the meeting;
// the host's end removes everyone.
func TestInterruptAndEnd(t *testing.T) {
	t.Parallel()
	old := meeting.AttendeeJoined{AttendeeID: "old", UserID: "u1", At: now.Add(-time.Hour)}
	s := given(scheduled, meeting.Started{By: "u1", At: now}, old)
	evs, s2, _ := decide(t, s, meeting.Interrupt{AccountID: "a1", Before: now.Add(-time.Minute)})
	want := []meeting.Event{meeting.AttendeeLeft{AttendeeID: "old", Reason: meeting.LeftServiceRestart, At: now},
		meeting.Ended{Reason: meeting.EndReasonServiceRestart, At: now}}
	if !reflect.DeepEqual(evs, want) || s2.Status != meeting.StatusEnded {
		t.Fatalf("interrupt: %v", evs)
	}
	s = given(scheduled, meeting.Started{By: "u1", At: now}, old, meeting.AttendeeJoined{AttendeeID: "new", UserID: "u2", At: now})
	if evs, _, _ := decide(t, s, meeting.Interrupt{AccountID: "a1", Before: now.Add(-time.Minute)}); len(evs) != 1 {
		t.Fatalf("an attendee of this run stays: %v", evs)
	}
	s = given(scheduled, meeting.Started{By: "u1", At: now}, old, meeting.AttendeeJoined{AttendeeID: "new", UserID: "u2", At: now})
	evs, s, _ = decide(t, s, meeting.End{AccountID: "a1"})
	if len(evs) != 3 || s.Status != meeting.StatusEnded || s.Attendees != nil {
		t.Fatalf("end: %v %+v", evs, s)
	}
}

// TestContentShareCountedApart: a screen share is not a video tile — with all 25 tiles taken one
// attendee still shares a screen; a second share at once is refused until the first stops.
func TestContentShareCountedApart(t *testing.T) {
	t.Parallel()
	s := given(scheduled)
	for i := range meeting.MaxVideoTiles + 2 {
		var err error
		if _, s, err = decide(t, s, join(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
		if i < meeting.MaxVideoTiles {
			if _, s, err = decide(t, s, meeting.SetMedia{AccountID: "a1", AttendeeID: fmt.Sprint(i), Kind: meeting.MediaVideo, On: true}); err != nil {
				t.Fatal(err)
			}
		}
	}
	share := func(id string, on bool) meeting.SetMedia {
		return meeting.SetMedia{AccountID: "a1", AttendeeID: id, Kind: meeting.MediaContent, On: on}
	}
	evs, s, err := decide(t, s, share("0", true))
	if err != nil || len(evs) != 1 || !s.Attendees["0"].Content || meeting.VideoTiles(s) != meeting.MaxVideoTiles {
		t.Fatalf("a share with every tile taken: %v %v", evs, err)
	}
	if _, _, err := decide(t, s, share("26", true)); !errors.Is(err, meeting.ErrContent) || domain.KindOf(err) != domain.KindLimitExceeded {
		t.Fatalf("a second share: %v", err)
	}
	_, s, _ = decide(t, s, share("0", false))
	if _, _, err := decide(t, s, share("26", true)); err != nil {
		t.Fatalf("a share after the first stopped: %v", err)
	}
}
