package call_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr/call"
	"github.com/belfry/belfry/domain/wickr/conversation"
)

// broadcast starts a broadcast in a room, alice (grant g) its presenter "p-alice".
func broadcast(t *testing.T, g call.Grant) call.State {
	t.Helper()
	s, _, err := run(t, call.Initial(), call.Start{CallID: gCall, ConversationID: gConv, ConversationKind: conversation.KindRoom,
		NetworkID: gAlice.NetworkID, ParticipantID: "p-alice", Member: gAlice, Grant: g, Broadcast: true}, t0)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// viewers joins n viewers v1..vn.
func viewers(t *testing.T, s call.State, n int) call.State {
	t.Helper()
	for i := 1; i <= n; i++ {
		var err error
		if s, _, err = run(t, s, call.Join{ParticipantID: fmt.Sprint("v", i), Member: conversation.Participant{NetworkID: "31415926", UserID: fmt.Sprint(3000 + i)}, Grant: allowed}, t0); err != nil {
			t.Fatal(i, err)
		}
	}
	return s
}

// TestBroadcastLimit: given a broadcast, when 499 viewers join, then the presenter and they are in
// (500), and the 501st is refused LimitExceeded.
func TestBroadcastLimit(t *testing.T) {
	t.Parallel()
	s := viewers(t, broadcast(t, allowed), call.MaxBroadcastParticipants-1)
	if len(s.Participants) != 500 || !s.Broadcast || s.Presenter != "p-alice" {
		t.Fatalf("broadcast: %d participants, %+v", len(s.Participants), s.Presenter)
	}
	_, evs, err := run(t, s, call.Join{ParticipantID: "v-late", Member: bob}, t0)
	if !errors.Is(err, call.ErrFull) || domain.KindOf(err) != domain.KindLimitExceeded || len(evs) != 0 {
		t.Fatalf("501st: %v %v", evs, err)
	}
}

// TestConferenceLimitUnchanged: given a conference call (no broadcast) of 70, when a 71st joins,
// then it is refused LimitExceeded.
func TestConferenceLimitUnchanged(t *testing.T) {
	t.Parallel()
	s := viewers(t, started(t, allowed), call.MaxParticipants-1)
	if _, _, err := run(t, s, call.Join{ParticipantID: "v-late", Member: bob}, t0); !errors.Is(err, call.ErrFull) {
		t.Fatalf("71st: %v", err)
	}
}

// TestViewersOnlyReceive: given a broadcast, when a viewer (whose group enables video) turns on
// audio, video or screen share, then it is refused Forbidden; turning media off changes nothing.
func TestViewersOnlyReceive(t *testing.T) {
	t.Parallel()
	s := viewers(t, broadcast(t, allowed), 1)
	for _, k := range []string{call.MediaAudio, call.MediaVideo, call.MediaContent} {
		_, evs, err := run(t, s, call.SetMedia{ParticipantID: "v1", Kind: k, On: true}, t0)
		if !errors.Is(err, call.ErrViewer) || domain.KindOf(err) != domain.KindForbidden || len(evs) != 0 {
			t.Fatalf("viewer's %s: %v %v", k, evs, err)
		}
	}
	if _, evs, err := run(t, s, call.SetMedia{ParticipantID: "v1", Kind: call.MediaAudio}, t0); err != nil || len(evs) != 0 {
		t.Fatalf("viewer's audio off: %v %v", evs, err)
	}
}

// TestPresenterMediaFollowsTheGroup: given a broadcast, the presenter shares its screen and video
// with the video grant; an audio-only presenter is refused them (ErrVideo) and may send audio.
func TestPresenterMediaFollowsTheGroup(t *testing.T) {
	t.Parallel()
	s := broadcast(t, allowed)
	for _, k := range []string{call.MediaContent, call.MediaVideo, call.MediaAudio} {
		var evs []call.Event
		var err error
		if s, evs, err = run(t, s, call.SetMedia{ParticipantID: "p-alice", Kind: k, On: true}, t0); err != nil || len(evs) != 1 {
			t.Fatalf("presenter's %s: %v %v", k, evs, err)
		}
	}
	s = broadcast(t, audio)
	if _, _, err := run(t, s, call.SetMedia{ParticipantID: "p-alice", Kind: call.MediaContent, On: true}, t0); !errors.Is(err, call.ErrVideo) {
		t.Fatalf("audio-only presenter's screen share: %v", err)
	}
	if _, evs, err := run(t, s, call.SetMedia{ParticipantID: "p-alice", Kind: call.MediaAudio, On: true}, t0); err != nil || len(evs) != 1 {
		t.Fatalf("audio-only presenter's audio: %v %v", evs, err)
	}
}

// TestPresenterLeavingEndsTheBroadcast: given a broadcast with viewers, when a viewer leaves the
// broadcast goes on; when the presenter leaves, every viewer leaves (LeftPresenterLeft) and the
// broadcast ends (EndPresenterLeft).
func TestPresenterLeavingEndsTheBroadcast(t *testing.T) {
	t.Parallel()
	s := viewers(t, broadcast(t, allowed), 3)
	s, evs, _ := run(t, s, call.Leave{ParticipantID: "v2", Reason: call.LeftHungUp}, t0)
	if len(evs) != 1 || !s.Live() {
		t.Fatalf("a viewer left: %v", evs)
	}
	s, evs, _ = run(t, s, call.Leave{ParticipantID: "p-alice", Reason: call.LeftHungUp}, t0)
	if len(evs) != 4 || s.Live() || s.EndReason != call.EndPresenterLeft || len(s.Participants) != 0 {
		t.Fatalf("the presenter left: %v %+v", evs, s)
	}
	for _, e := range evs[1:3] {
		if l := e.(call.ParticipantLeft); l.Reason != call.LeftPresenterLeft {
			t.Fatalf("viewer: %+v", l)
		}
	}
	// The presenter alone: its leaving ends the broadcast as the last one out.
	s = broadcast(t, allowed)
	if s, _, _ = run(t, s, call.Leave{ParticipantID: "p-alice", Reason: call.LeftHungUp}, t0); s.Live() || s.EndReason != call.EndAllLeft {
		t.Fatalf("alone: %+v", s)
	}
}

// TestBroadcastNotInDirect: a broadcast is started in a group or a room, never in a direct message.
func TestBroadcastNotInDirect(t *testing.T) {
	t.Parallel()
	_, evs, err := run(t, call.Initial(), call.Start{CallID: gCall, ConversationID: gConv, ConversationKind: conversation.KindDirect,
		ParticipantID: "p", Member: gAlice, Grant: allowed, Broadcast: true}, t0)
	if !errors.Is(err, call.ErrBroadcastDirect) || domain.KindOf(err) != domain.KindInvalid || len(evs) != 0 {
		t.Fatalf("broadcast in a DM: %v %v", evs, err)
	}
	if s := broadcast(t, allowed); s.ConversationKind != conversation.KindRoom || !s.Broadcast {
		t.Fatalf("broadcast in a room: %+v", s)
	}
}
