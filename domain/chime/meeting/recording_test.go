package meeting_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/belfry/belfry/domain/chime/meeting"
)

// TestRecordingByModerator: guide §8.2 — a moderator starts and stops recording; anyone else is
// refused; starting twice or stopping when none runs decides nothing.
func TestRecordingByModerator(t *testing.T) {
	t.Parallel()
	s := hostIn(t)
	if _, _, err := decide(t, s, meeting.Record{AccountID: "a1", By: "b", On: true, RecordingID: "r1"}); !errors.Is(err, meeting.ErrNotModerator) {
		t.Fatalf("an attendee starts recording: %v", err)
	}
	if _, _, err := decide(t, s, meeting.Record{AccountID: "a1", By: "h", On: true}); !errors.Is(err, meeting.ErrInvalid) {
		t.Fatalf("no recording id: %v", err)
	}
	evs, s, err := decide(t, s, meeting.Record{AccountID: "a1", By: "h", On: true, RecordingID: "r1"})
	if err != nil || !reflect.DeepEqual(evs, []meeting.Event{meeting.RecordingStarted{RecordingID: "r1", By: "h", At: now}}) || s.Recording != "r1" || s.Recordings != 1 {
		t.Fatalf("start: %v %v %+v", evs, err, s)
	}
	if evs, _, err := decide(t, s, meeting.Record{AccountID: "a1", By: "h", On: true, RecordingID: "r2"}); err != nil || len(evs) != 0 {
		t.Fatalf("starting twice: %v %v", evs, err)
	}
	if _, _, err := decide(t, s, meeting.Record{AccountID: "a1", By: "c"}); !errors.Is(err, meeting.ErrNotModerator) {
		t.Fatalf("an attendee stops recording: %v", err)
	}
	if _, _, err := decide(t, s, meeting.Record{AccountID: "a1"}); !errors.Is(err, meeting.ErrInvalid) {
		t.Fatalf("the service stops without a reason: %v", err)
	}
	evs, s, err = decide(t, s, meeting.Record{AccountID: "a1", By: "h"})
	want := []meeting.Event{meeting.RecordingStopped{RecordingID: "r1", By: "h", Reason: meeting.RecordingStoppedByModerator, At: now}}
	if err != nil || !reflect.DeepEqual(evs, want) || s.Recording != "" || s.Recordings != 1 {
		t.Fatalf("stop: %v %v %+v", evs, err, s)
	}
	if evs, _, err := decide(t, s, meeting.Record{AccountID: "a1", By: "h"}); err != nil || len(evs) != 0 {
		t.Fatalf("stopping when none runs: %v %v", evs, err)
	}
	evs, s, _ = decide(t, s, meeting.Record{AccountID: "a1", By: "h", On: true, RecordingID: "r2"})
	if len(evs) != 1 || s.Recordings != 2 {
		t.Fatalf("a second recording: %v %+v", evs, s)
	}
	evs, _, err = decide(t, s, meeting.Record{AccountID: "a1", Reason: meeting.RecordingStoppedFailed})
	if err != nil || !reflect.DeepEqual(evs, []meeting.Event{meeting.RecordingStopped{RecordingID: "r2", Reason: meeting.RecordingStoppedFailed, At: now}}) {
		t.Fatalf("the service stops it: %v %v", evs, err)
	}
}

// TestRecordingStopsWithTheMeeting: every way a meeting ends stops its running recording first, in
// the same decision.
func TestRecordingStopsWithTheMeeting(t *testing.T) {
	t.Parallel()
	recording := func(t *testing.T) meeting.State {
		_, s, err := decide(t, hostIn(t), meeting.Record{AccountID: "a1", By: "h", On: true, RecordingID: "r1"})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	stopped := meeting.RecordingStopped{RecordingID: "r1", Reason: meeting.RecordingStoppedMeetingEnded, At: now}
	check := func(t *testing.T, name string, evs []meeting.Event, s meeting.State) {
		t.Helper()
		n := len(evs)
		if n < 2 || !reflect.DeepEqual(evs[n-2], meeting.Event(stopped)) || s.Recording != "" || s.Status != meeting.StatusEnded {
			t.Fatalf("%s: %v %+v", name, evs, s)
		}
		if _, ok := evs[n-1].(meeting.Ended); !ok {
			t.Fatalf("%s: the meeting ends last: %v", name, evs)
		}
	}
	evs, s, err := decide(t, recording(t), meeting.End{AccountID: "a1", By: "h"})
	if err != nil {
		t.Fatal(err)
	}
	check(t, "end", evs, s)

	s = recording(t)
	for _, id := range []string{"b", "c"} {
		if _, s, err = decide(t, s, meeting.Leave{AccountID: "a1", AttendeeID: id, Reason: meeting.LeftHungUp}); err != nil {
			t.Fatal(err)
		}
	}
	if s.Recording != "r1" {
		t.Fatalf("the recording runs while someone is in: %+v", s)
	}
	evs, s, _ = decide(t, s, meeting.Leave{AccountID: "a1", AttendeeID: "h", Reason: meeting.LeftHungUp})
	check(t, "the last leaves", evs, s)

	evs, s, _ = decide(t, recording(t), meeting.Interrupt{AccountID: "a1", Before: now.Add(time.Hour)})
	check(t, "restart", evs, s)

	// A meeting that ends without a recording running records no stop.
	evs, _, _ = decide(t, hostIn(t), meeting.End{AccountID: "a1", By: "h"})
	for _, e := range evs {
		if _, ok := e.(meeting.RecordingStopped); ok {
			t.Fatalf("no recording ran: %v", evs)
		}
	}
}

// TestRecordingStopNamesItsRecording: the service's stop of a failed recording stops that one only;
// a restart stops a recording a previous run started even when someone who joined since stays.
func TestRecordingStopNamesItsRecording(t *testing.T) {
	t.Parallel()
	_, s, err := decide(t, hostIn(t), meeting.Record{AccountID: "a1", By: "h", On: true, RecordingID: "r2"})
	if err != nil {
		t.Fatal(err)
	}
	if evs, _, err := decide(t, s, meeting.Record{AccountID: "a1", RecordingID: "r1", Reason: meeting.RecordingStoppedFailed}); err != nil || len(evs) != 0 {
		t.Fatalf("a stop of another recording: %v %v", evs, err)
	}
	// d joined after the restart (Before); h, b and c were there before.
	s = meeting.Evolve(s, meeting.AttendeeJoined{AttendeeID: "d", UserID: "u9", At: now.Add(2 * time.Hour)})
	evs, s, err := decide(t, s, meeting.Interrupt{AccountID: "a1", Before: now.Add(time.Hour)})
	want := meeting.RecordingStopped{RecordingID: "r2", Reason: meeting.RecordingStoppedRestart, At: now}
	if err != nil || len(evs) != 4 || !reflect.DeepEqual(evs[3], meeting.Event(want)) || s.Recording != "" || s.Status != meeting.StatusStarted {
		t.Fatalf("interrupt: %v %v %+v", evs, err, s)
	}
}

// TestRecordingsBounded: a meeting has at most MaxRecordings recordings; a moderator starting and
// stopping in a loop is refused past it.
func TestRecordingsBounded(t *testing.T) {
	t.Parallel()
	s := hostIn(t)
	for i := 0; i < meeting.MaxRecordings; i++ {
		for _, c := range []meeting.Record{{AccountID: "a1", By: "h", On: true, RecordingID: fmt.Sprint("r", i)}, {AccountID: "a1", By: "h"}} {
			var err error
			if _, s, err = decide(t, s, c); err != nil {
				t.Fatalf("recording %d: %v", i, err)
			}
		}
	}
	if _, _, err := decide(t, s, meeting.Record{AccountID: "a1", By: "h", On: true, RecordingID: "one-more"}); !errors.Is(err, meeting.ErrTooManyRecordings) {
		t.Fatalf("recording %d: %v", meeting.MaxRecordings+1, err)
	}
}
