package meeting_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/belfry/belfry/domain/chime/meeting"
)

// TestRemoveTakesOutEveryDeviceOfTheUser: a user in a meeting from two devices (two attendees) who
// a moderator removes is out from both: the removal bans the user, so no attendee of that user may
// stay to listen, chat or share.
func TestRemoveTakesOutEveryDeviceOfTheUser(t *testing.T) {
	t.Parallel()
	s := hostIn(t)
	_, s, err := decide(t, s, meeting.Join{AccountID: "a1", AttendeeID: "c-phone", UserID: "user-c", Organizer: pro})
	if err != nil {
		t.Fatal(err)
	}
	evs, s, err := decide(t, s, meeting.Remove{AccountID: "a1", By: "h", AttendeeID: "c"})
	want := []meeting.Event{
		meeting.AttendeeLeft{AttendeeID: "c", Reason: meeting.LeftRemoved, By: "h", At: now},
		meeting.AttendeeLeft{AttendeeID: "c-phone", Reason: meeting.LeftRemoved, By: "h", At: now},
	}
	if err != nil || !reflect.DeepEqual(evs, want) {
		t.Fatalf("removing c: %v %v, want %v", evs, err, want)
	}
	if s.InRoster("user-c") {
		t.Fatalf("the removed user is still in the roster: %+v", s.Attendees)
	}
}

// TestRemoveRefusesAUserWhoAlsoModerates: a user in the meeting both as a moderator (passcode) and
// as a plain attendee cannot be removed through the plain one: moderators cannot act on each other.
func TestRemoveRefusesAUserWhoAlsoModerates(t *testing.T) {
	t.Parallel()
	s := hostIn(t)
	_, s, err := decide(t, s, meeting.Join{AccountID: "a1", AttendeeID: "c-mod", UserID: "user-c", Organizer: pro, AsModerator: true})
	if err != nil {
		t.Fatal(err)
	}
	if evs, _, err := decide(t, s, meeting.Remove{AccountID: "a1", By: "h", AttendeeID: "c"}); !errors.Is(err, meeting.ErrNotModerator) {
		t.Fatalf("removing a moderator's other device: %v %v", evs, err)
	}
}

// TestTitleRefusesControlCharacters: a title is one line of text; a newline or another control
// character would forge lines of the invite text built around it ("Meeting PIN: …").
func TestTitleRefusesControlCharacters(t *testing.T) {
	t.Parallel()
	for _, title := range []string{"Weekly\nMeeting PIN: 0000000000", "Weekly\rX", "a\x1bb", "a\u0085b", "a\u2028b", "a\u202eb"} {
		c := meeting.Schedule{AccountID: "a1", Organizer: pro, PIN: pin, Title: title, StartsAt: now.Add(time.Hour)}
		if evs, err := meeting.Decide(meeting.Initial(), c, now); !errors.Is(err, meeting.ErrInvalid) {
			t.Errorf("title %q: %v %v, want ErrInvalid", title, evs, err)
		}
	}
	c := meeting.Schedule{AccountID: "a1", Organizer: pro, PIN: pin, Title: "Réunion d'équipe 会議 🎉", StartsAt: now.Add(time.Hour)}
	if _, err := meeting.Decide(meeting.Initial(), c, now); err != nil {
		t.Fatal(err)
	}
}
