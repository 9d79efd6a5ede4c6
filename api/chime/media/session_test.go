package media_test

import (
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/belfry/belfry/api/chime/media"
	"github.com/belfry/belfry/domain/chime/meeting"
)

// TestRevokedSessionIsSignalledOut: an attendee whose session ends while it is in the meeting (it
// signed out everywhere, was suspended or removed) gets an error Unauthorized within the recheck
// interval and is out (bye Disconnected, close code 4401, its leaving recorded); a moderation
// message it sends afterwards changes nothing.
func TestRevokedSessionIsSignalledOut(t *testing.T) {
	w := newWorld(t, func(d *media.Deps) { d.SessionRecheck = 50 * time.Millisecond })
	alice := w.dial("alice-token")
	if m, err := alice.read(5 * time.Second); err != nil || m.Type != "joined" {
		t.Fatalf("joined: %+v %v", m, err)
	}
	bob := w.dial("bob-token")
	if m, err := bob.read(5 * time.Second); err != nil || m.Type != "joined" {
		t.Fatalf("joined: %+v %v", m, err)
	}
	w.users.revoke("alice-token")
	time.Sleep(300 * time.Millisecond)
	alice.send(map[string]any{"type": "lock"})
	var codes []string
	var bye string
	_, err := alice.until(5*time.Second, func(m msg) bool {
		switch m.Type {
		case "error":
			codes = append(codes, m.Code)
		case "bye":
			bye = m.Reason
		}
		return false
	})
	if websocket.CloseStatus(err) != media.CloseSessionEnded || bye != meeting.LeftDisconnected || len(codes) == 0 || codes[0] != "Unauthorized" {
		t.Fatalf("a revoked session: errors %v, bye %q, end %v", codes, bye, err)
	}
	evs := w.repo.recorded(w.id)
	locked := 0
	left := 0
	for _, e := range evs {
		switch e := e.(type) {
		case meeting.Locked:
			locked++
		case meeting.AttendeeLeft:
			if e.Reason == meeting.LeftDisconnected {
				left++
			}
		}
	}
	if locked != 0 || left != 1 {
		t.Fatalf("after the session ended: %d locked, %d left: %v", locked, left, evs)
	}
}

// TestModerationFromNonModerator: every moderation message from an attendee who is not a moderator
// is answered with an error Forbidden and records nothing, whether or not the server records.
func TestModerationFromNonModerator(t *testing.T) {
	w := newWorld(t, nil)
	alice := w.dial("alice-token")
	a, err := alice.read(5 * time.Second)
	if err != nil || a.Type != "joined" {
		t.Fatalf("joined: %+v %v", a, err)
	}
	bob := w.dial("bob-token")
	if m, err := bob.read(5 * time.Second); err != nil || m.Type != "joined" {
		t.Fatalf("joined: %+v %v", m, err)
	}
	before := len(w.repo.recorded(w.id))
	for _, typ := range []string{"mute", "muteAll", "remove", "lock", "unlock", "record", "stopRecording", "end"} {
		bob.send(map[string]any{"type": typ, "attendeeId": a.AttendeeID})
		m, err := bob.until(5*time.Second, func(m msg) bool { return m.Type == "error" })
		if err != nil || m.Code != "Forbidden" {
			t.Errorf("%s from a non-moderator: %+v %v, want an error Forbidden", typ, m, err)
		}
	}
	if evs := w.repo.recorded(w.id); len(evs) != before {
		t.Fatalf("a non-moderator's messages were recorded: %v", evs[before:])
	}
}
