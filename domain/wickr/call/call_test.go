package call_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr/call"
	"github.com/belfry/belfry/domain/wickr/conversation"
)

var (
	t0      = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	bob     = conversation.Participant{NetworkID: "31415926", UserID: "1002"}
	audio   = call.Grant{Audio: true}
	allowed = call.Grant{Audio: true, Video: true}
)

// run decides cmd on s and folds what it decided.
func run(t *testing.T, s call.State, cmd call.Command, at time.Time) (call.State, []call.Event, error) {
	t.Helper()
	evs, err := call.Decide(s, cmd, at)
	for _, e := range evs {
		s = call.Evolve(s, e)
	}
	return s, evs, err
}

func started(t *testing.T, g call.Grant) call.State {
	t.Helper()
	s, _, err := run(t, call.Initial(), call.Start{CallID: gCall, ConversationID: gConv, ConversationKind: conversation.KindDirect,
		NetworkID: gAlice.NetworkID, ParticipantID: "p-alice", Member: gAlice, Grant: g}, t0)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestStartNeedsAudioCalls: only a member whose group enables audio calls starts a call; video
// without audio calls is no grant.
func TestStartNeedsAudioCalls(t *testing.T) {
	t.Parallel()
	_, evs, err := run(t, call.Initial(), call.Start{CallID: gCall, ConversationID: gConv, ParticipantID: "p", Member: gAlice, Grant: call.Grant{Video: true}}, t0)
	if !errors.Is(err, call.ErrNotAllowed) || domain.KindOf(err) != domain.KindForbidden || len(evs) != 0 {
		t.Fatalf("start without audio calls: %v %v", evs, err)
	}
	s := started(t, allowed)
	if !s.Live() || len(s.Participants) != 1 || !s.Participants["p-alice"].Grant.Video {
		t.Fatalf("started: %+v", s)
	}
	if _, _, err := run(t, s, call.Start{CallID: gCall, ConversationID: gConv, ParticipantID: "p", Member: gAlice, Grant: audio}, t0); !errors.Is(err, call.ErrExists) {
		t.Fatalf("second start: %v", err)
	}
}

// TestVideoFollowsTheGroup: a participant whose group does not enable video is refused video and
// screen share, and may send audio.
func TestVideoFollowsTheGroup(t *testing.T) {
	t.Parallel()
	s := started(t, allowed)
	s, _, _ = run(t, s, call.Join{ParticipantID: "p-bob", Member: bob, Grant: audio}, t0)
	for _, k := range []string{call.MediaVideo, call.MediaContent} {
		if _, evs, err := run(t, s, call.SetMedia{ParticipantID: "p-bob", Kind: k, On: true}, t0); !errors.Is(err, call.ErrVideo) || len(evs) != 0 {
			t.Fatalf("bob's %s: %v %v", k, evs, err)
		}
	}
	if _, evs, err := run(t, s, call.SetMedia{ParticipantID: "p-bob", Kind: call.MediaAudio, On: true}, t0); err != nil || len(evs) != 1 {
		t.Fatalf("bob's audio: %v %v", evs, err)
	}
	if _, evs, err := run(t, s, call.SetMedia{ParticipantID: "p-alice", Kind: call.MediaVideo, On: true}, t0); err != nil || len(evs) != 1 {
		t.Fatalf("alice's video: %v %v", evs, err)
	}
}

// TestParticipantLimit: the 71st participant is refused; one leaving makes room.
func TestParticipantLimit(t *testing.T) {
	t.Parallel()
	s := started(t, audio)
	for i := 1; i < call.MaxParticipants; i++ {
		var err error
		if s, _, err = run(t, s, call.Join{ParticipantID: fmt.Sprint("p", i), Member: conversation.Participant{NetworkID: "31415926", UserID: fmt.Sprint(2000 + i)}}, t0); err != nil {
			t.Fatal(i, err)
		}
	}
	if _, _, err := run(t, s, call.Join{ParticipantID: "p-late", Member: bob}, t0); !errors.Is(err, call.ErrFull) || domain.KindOf(err) != domain.KindLimitExceeded {
		t.Fatalf("71st: %v", err)
	}
	s, _, _ = run(t, s, call.Leave{ParticipantID: "p1", Reason: call.LeftHungUp}, t0)
	if _, _, err := run(t, s, call.Join{ParticipantID: "p-late", Member: bob}, t0); err != nil {
		t.Fatalf("after one left: %v", err)
	}
}

// TestLastOutEnds: the last participant out ends the call, and an ended call admits no one.
func TestLastOutEnds(t *testing.T) {
	t.Parallel()
	s := started(t, audio)
	s, _, _ = run(t, s, call.Join{ParticipantID: "p-bob", Member: bob}, t0)
	s, evs, _ := run(t, s, call.Leave{ParticipantID: "p-bob", Reason: call.LeftHungUp}, t0)
	if len(evs) != 1 || !s.Live() {
		t.Fatalf("bob left: %v", evs)
	}
	s, evs, _ = run(t, s, call.Leave{ParticipantID: "p-alice", Reason: call.LeftDisconnected}, t0)
	if len(evs) != 2 || s.Live() || s.EndReason != call.EndAllLeft {
		t.Fatalf("alice left: %v %+v", evs, s)
	}
	if _, _, err := run(t, s, call.Join{ParticipantID: "p-bob2", Member: bob}, t0); !errors.Is(err, call.ErrEnded) {
		t.Fatalf("join an ended call: %v", err)
	}
}

// TestInterrupt: a restart takes out the participants of the previous run and ends the call.
func TestInterrupt(t *testing.T) {
	t.Parallel()
	s := started(t, audio)
	s, _, _ = run(t, s, call.Join{ParticipantID: "p-bob", Member: bob}, t0.Add(time.Minute))
	s, evs, _ := run(t, s, call.Interrupt{Before: t0.Add(30 * time.Second)}, t0.Add(2*time.Minute))
	if len(evs) != 1 || !s.Live() {
		t.Fatalf("partial interrupt: %v", evs)
	}
	s, evs, _ = run(t, s, call.Interrupt{Before: t0.Add(time.Hour)}, t0.Add(time.Hour))
	if len(evs) != 2 || s.Live() || s.EndReason != call.EndServiceRestart {
		t.Fatalf("interrupt: %v %+v", evs, s)
	}
}

// TestInterruptAt: a call interrupted by a crash ends when the crashed run was last known to carry it,
// not when the service came back; a participant who joined after that instant leaves when it joined;
// a second interrupt (a racing start) changes nothing.
func TestInterruptAt(t *testing.T) {
	t.Parallel()
	s := started(t, audio)
	s, _, _ = run(t, s, call.Join{ParticipantID: "p-bob", Member: bob}, t0.Add(10*time.Minute))
	restart := t0.Add(3 * time.Hour)
	s, evs, _ := run(t, s, call.Interrupt{Before: restart, At: t0.Add(5 * time.Minute)}, restart)
	if len(evs) != 3 || s.Live() || s.EndReason != call.EndServiceRestart || !s.EndedAt.Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("interrupt: %v %+v", evs, s)
	}
	for _, e := range evs[:2] {
		if l := e.(call.ParticipantLeft); l.Reason != call.LeftServiceRestart || l.At.Before(t0.Add(5*time.Minute)) || l.At.After(t0.Add(10*time.Minute)) {
			t.Fatalf("left: %+v", l)
		}
	}
	if _, evs, _ = run(t, s, call.Interrupt{Before: restart, At: t0.Add(5 * time.Minute)}, restart); len(evs) != 0 {
		t.Fatalf("second interrupt: %v", evs)
	}
	// A mark after now (a clock moved back) is not trusted: the call ends now.
	s = started(t, audio)
	if s, _, _ = run(t, s, call.Interrupt{Before: restart, At: restart.Add(time.Hour)}, restart); !s.EndedAt.Equal(restart) {
		t.Fatalf("ended at %v, want %v", s.EndedAt, restart)
	}
}

// TestParticipantLimitPerUser: given a live call where bob is in from MaxParticipantsPerUser
// connections (devices), when he opens one more it is refused (ErrUserDevices, LimitExceeded, naming
// the bound) while another member still joins and a repeated join of one of his ids stays a no-op;
// once one of his connections leaves, he joins again.
func TestParticipantLimitPerUser(t *testing.T) {
	t.Parallel()
	device := func(i int) call.Join {
		return call.Join{ParticipantID: fmt.Sprint("p-bob-", i), Member: bob, Grant: audio}
	}
	s := started(t, audio)
	for i := range call.MaxParticipantsPerUser {
		var err error
		if s, _, err = run(t, s, device(i), t0); err != nil {
			t.Fatalf("given: bob's connection %d: %v", i+1, err)
		}
	}

	s, evs, err := run(t, s, device(call.MaxParticipantsPerUser), t0)
	if !errors.Is(err, call.ErrUserDevices) || domain.KindOf(err) != domain.KindLimitExceeded ||
		!strings.Contains(err.Error(), fmt.Sprint(call.MaxParticipantsPerUser)) || len(evs) != 0 {
		t.Fatalf("then bob's connection %d is refused naming the bound: %v %v", call.MaxParticipantsPerUser+1, evs, err)
	}
	carol := conversation.Participant{NetworkID: bob.NetworkID, UserID: "1003"}
	if s, _, err = run(t, s, call.Join{ParticipantID: "p-carol", Member: carol, Grant: audio}, t0); err != nil {
		t.Fatalf("then another member still joins: %v", err)
	}
	if _, evs, err := run(t, s, device(3), t0); err != nil || len(evs) != 0 {
		t.Fatalf("then a repeated join of one of bob's ids is a no-op: %v %v", evs, err)
	}

	s, _, _ = run(t, s, call.Leave{ParticipantID: "p-bob-0", Reason: call.LeftHungUp}, t0)
	if _, evs, err := run(t, s, device(call.MaxParticipantsPerUser), t0); err != nil || len(evs) != 1 {
		t.Fatalf("when one of his connections left, then bob joins again: %v %v", evs, err)
	}
}

// TestParticipantLimitPerGuest: a guest is counted by its own key, apart from the network's users.
func TestParticipantLimitPerGuest(t *testing.T) {
	t.Parallel()
	guest := conversation.Participant{GuestHash: "h-guest"}
	s := started(t, audio)
	for i := range call.MaxParticipantsPerUser {
		var err error
		if s, _, err = run(t, s, call.Join{ParticipantID: fmt.Sprint("p-g-", i), Member: guest, Grant: audio}, t0); err != nil {
			t.Fatalf("given: the guest's connection %d: %v", i+1, err)
		}
	}
	if _, _, err := run(t, s, call.Join{ParticipantID: "p-g-late", Member: guest, Grant: audio}, t0); !errors.Is(err, call.ErrUserDevices) {
		t.Fatalf("then the guest's %dth connection is refused: %v", call.MaxParticipantsPerUser+1, err)
	}
}
