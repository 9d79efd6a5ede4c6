package calls

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/mediasignal"
	"github.com/belfry/belfry/api/wickr/messaging"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr/call"
	"github.com/belfry/belfry/domain/wickr/conversation"
	"github.com/belfry/belfry/domain/wickr/network"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
)

// removed is an SFU participant that records its removal.
type removed struct {
	mu     sync.Mutex
	reason string
}

func (r *removed) Answer(string) error       { return nil }
func (r *removed) AddCandidate([]byte) error { return nil }
func (r *removed) Leave()                    {}
func (r *removed) SetAudioMuted(bool)        {}
func (r *removed) Remove(reason string)      { r.mu.Lock(); r.reason = reason; r.mu.Unlock() }
func (r *removed) got() string               { r.mu.Lock(); defer r.mu.Unlock(); return r.reason }

// TestBroadcastAdmission: a broadcast admits 500 from 60 members (its starter presenting, the
// others viewers), the 501st is refused with the answer the 71st of a conference call gets
// (LimitExceeded, the same wire error); when the presenter leaves, the viewers' SFU participants are
// removed (PresenterLeft).
func TestBroadcastAdmission(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const nid, gid = "11111111", "G1"
	// members: enough that none holds MaxParticipantsPerUser of the 500 (one member's bound is
	// TestParticipantLimitPerUser's); participant i is members[i%len(members)]'s.
	members := make([]messaging.Caller, 60)
	parts := make([]conversation.Participant, len(members))
	for i := range members {
		members[i] = messaging.Caller{NetworkID: nid, UserID: fmt.Sprint(i + 1), GroupID: gid}
		parts[i] = members[i].Participant()
	}
	nets := peeker{network.StreamName(nid): {ID: nid, Status: network.StatusActive, Region: "us-east-1",
		Groups: map[string]*network.Group{gid: {Settings: sg.Defaults()}}}}
	s := New(Deps{Calls: &memCalls{m: map[string]call.State{}}, Networks: nets,
		Store: everyConversation{oneConversation{id: "c1", members: parts}}})
	fill := func(conv string, broadcast bool, n int) (presenter admitted, viewers []admitted, refused error) {
		for i := range n + 1 {
			a, err := s.admit(ctx, members[i%len(members)], conv, "", broadcast && i == 0)
			switch {
			case i == n:
				return presenter, viewers, err
			case err != nil:
				t.Fatalf("%s: participant %d: %v", conv, i+1, err)
			case i == 0:
				presenter = a
			default:
				viewers = append(viewers, a)
			}
			if a.viewer != (broadcast && i > 0) {
				t.Fatalf("%s: participant %d viewer %v", conv, i+1, a.viewer)
			}
		}
		return
	}
	presenter, viewers, full := fill("b1", true, call.MaxBroadcastParticipants)
	_, _, conf := fill("c1", false, call.MaxParticipants)
	for _, err := range []error{full, conf} {
		if !errors.Is(err, call.ErrFull) || domain.KindOf(err) != domain.KindLimitExceeded {
			t.Fatalf("beyond the limit: %v", err)
		}
	}
	if w, c := awsproto.ToWire(full), awsproto.ToWire(conf); w.Code != c.Code || w.Status != c.Status {
		t.Fatalf("the 501st of a broadcast %+v, the 71st of a conference %+v", w, c)
	}
	sfu := make([]*removed, len(viewers))
	for i, v := range viewers {
		sfu[i] = &removed{}
		s.joined(v.callID, v.participantID, sfu[i])
	}
	s.leave(presenter.callID, presenter.participantID, call.LeftHungUp)
	deadline := time.Now().Add(5 * time.Second)
	for i, p := range sfu {
		for p.got() == "" && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if p.got() != call.LeftPresenterLeft {
			t.Fatalf("viewer %d removed with %q", i, p.got())
		}
	}
}

// TestAViewerJoiningAsThePresenterLeavesIsTakenOut: a viewer admitted to a broadcast whose presenter
// leaves before the viewer's SFU participant exists (the leaving took the viewer out of the call)
// is removed from the SFU as PresenterLeft as soon as it joins, not left alone in a room no call
// has any more.
func TestAViewerJoiningAsThePresenterLeavesIsTakenOut(t *testing.T) {
	ctx := context.Background()
	const nid, gid = "11111111", "G1"
	alice, bob := messaging.Caller{NetworkID: nid, UserID: "1", GroupID: gid}, messaging.Caller{NetworkID: nid, UserID: "2", GroupID: gid}
	nets := peeker{network.StreamName(nid): {ID: nid, Status: network.StatusActive, Region: "us-east-1",
		Groups: map[string]*network.Group{gid: {Settings: sg.Defaults()}}}}
	sfu := &removed{}
	s := New(Deps{Calls: &memCalls{m: map[string]call.State{}}, Networks: nets, SFU: oneSFU{sfu},
		Store: oneConversation{id: "c1", members: []conversation.Participant{alice.Participant(), bob.Participant()}}})
	presenter, err := s.admit(ctx, alice, "c1", "", true)
	if err != nil {
		t.Fatal(err)
	}
	viewer, err := s.admit(ctx, bob, "c1", "", false)
	if err != nil || !viewer.viewer {
		t.Fatalf("the viewer: %+v %v", viewer, err)
	}
	s.leave(presenter.callID, presenter.participantID, call.LeftHungUp)
	p := &participant{svc: s, callID: viewer.callID, id: viewer.participantID, grant: viewer.grant, viewer: true}
	if _, err := p.Join(nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for sfu.got() == "" && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if sfu.got() != call.LeftPresenterLeft {
		t.Fatalf("the late viewer's SFU participant: removed with %q, want %q", sfu.got(), call.LeftPresenterLeft)
	}
}

// oneSFU joins every participant as the same one.
type oneSFU struct{ p *removed }

func (o oneSFU) Join(string, string, mediasignal.Peer, JoinOptions) (mediasignal.Participant, error) {
	return o.p, nil
}
