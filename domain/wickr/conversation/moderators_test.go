package conversation_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/belfry/belfry/domain/wickr/conversation"
)

// room is a room carol created with alice (joined first), then bob and a guest added an hour later.
func room(t *testing.T) conversation.State {
	s := fold(t, conversation.Initial(), conversation.Create{ConversationID: "r1", Kind: conversation.KindRoom, Title: "Ops", By: carol,
		Members: []conversation.Participant{alice}, Policy: policy()}, now)
	return fold(t, s, conversation.AddMembers{By: carol, Members: []conversation.Participant{guest, bob}, Policy: policy()}, now.Add(time.Hour))
}

// TestRoomModerators: a room's creator moderates it; moderators name moderators, add and remove
// members; others do none of it; a guest never moderates.
func TestRoomModerators(t *testing.T) {
	t.Parallel()
	at := now.Add(2 * time.Hour)
	promoted := fold(t, room(t), conversation.Promote{By: carol, Member: bob}, at)
	group := fold(t, conversation.Initial(), conversation.Create{ConversationID: "g1", Kind: conversation.KindGroup, By: carol,
		Members: []conversation.Participant{alice}, Policy: policy()}, now)
	for _, tc := range []struct {
		name    string
		given   conversation.State
		when    conversation.Command
		want    []conversation.Event
		wantErr error
	}{
		{"the creator names a moderator", room(t), conversation.Promote{By: carol, Member: bob},
			[]conversation.Event{conversation.ModeratorAdded{Member: *conversation.Ref(bob), By: conversation.Ref(carol), At: at}}, nil},
		{"naming a moderator again records nothing", promoted, conversation.Promote{By: carol, Member: bob}, nil, nil},
		{"a moderator it named adds members", promoted, conversation.AddMembers{By: bob, Members: []conversation.Participant{dave}, Policy: policy()},
			[]conversation.Event{conversation.MembersAdded{Members: []conversation.Participant{dave}, By: bob, At: at}}, nil},
		{"a member that is not a moderator adds no one", room(t), conversation.AddMembers{By: alice, Members: []conversation.Participant{dave}, Policy: policy()},
			nil, conversation.ErrNotModerator},
		{"nor names moderators", room(t), conversation.Promote{By: alice, Member: alice}, nil, conversation.ErrNotModerator},
		{"a guest is never a moderator", room(t), conversation.Promote{By: carol, Member: guest}, nil, conversation.ErrGuestModerator},
		{"only members become moderators", room(t), conversation.Promote{By: carol, Member: dave}, nil, conversation.ErrNotInRoom},
		{"a guest creates no room", conversation.Initial(), conversation.Create{ConversationID: "r2", Kind: conversation.KindRoom, Title: "Mine", By: guest,
			Members: []conversation.Participant{alice}, Policy: policy()}, nil, conversation.ErrGuestModerator},
		{"groups have no moderators", group, conversation.Promote{By: carol, Member: alice}, nil, conversation.ErrNotRoom},
		{"a moderator takes a member out", room(t), conversation.Remove{By: carol, Member: guest},
			[]conversation.Event{conversation.MemberLeft{Member: guest, Reason: conversation.LeftRemoved, By: conversation.Ref(carol), At: at}}, nil},
		{"removing a non-member records nothing", room(t), conversation.Remove{By: carol, Member: dave}, nil, nil},
		{"a member that is not a moderator takes no one out", room(t), conversation.Remove{By: alice, Member: bob}, nil, conversation.ErrNotModerator},
		{"a moderator leaves, it does not remove itself", room(t), conversation.Remove{By: carol, Member: carol}, nil, conversation.ErrRemoveSelf},
		{"a moderator takes another moderator out; one is left", promoted, conversation.Remove{By: bob, Member: carol},
			[]conversation.Event{conversation.MemberLeft{Member: carol, Reason: conversation.LeftRemoved, By: conversation.Ref(bob), At: at}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := conversation.Decide(tc.given, tc.when, at)
			if !errors.Is(err, tc.wantErr) || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("want %#v %v, got %#v %v", tc.want, tc.wantErr, got, err)
			}
		})
	}
}

// TestARoomKeepsAModerator: when its last moderator leaves — by itself, by its password reset or
// taken out — the user that has been in the room longest becomes one, in the same decision; a guest
// never does, and a room left with guests only has none.
func TestARoomKeepsAModerator(t *testing.T) {
	t.Parallel()
	at := now.Add(2 * time.Hour)
	next := func(left conversation.MemberLeft) []conversation.Event {
		return []conversation.Event{left, conversation.ModeratorAdded{Member: *conversation.Ref(alice), Reason: conversation.PromotedLastLeft, At: at}}
	}
	promoted := fold(t, room(t), conversation.Promote{By: carol, Member: bob}, at)
	for _, tc := range []struct {
		name  string
		given conversation.State
		when  conversation.Command
		want  []conversation.Event
	}{
		{"the last moderator leaves", room(t), conversation.Leave{Member: carol}, next(conversation.MemberLeft{Member: carol, At: at})},
		{"the last moderator resets its password", room(t), conversation.RemoveAfterReset{Member: carol, ResetAt: at},
			next(conversation.MemberLeft{Member: carol, Reason: conversation.LeftPasswordReset, At: at})},
		{"a moderator leaves while another is left", promoted, conversation.Leave{Member: carol}, []conversation.Event{conversation.MemberLeft{Member: carol, At: at}}},
		{"a member that is not a moderator leaves", room(t), conversation.Leave{Member: alice}, []conversation.Event{conversation.MemberLeft{Member: alice, At: at}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := conversation.Decide(tc.given, tc.when, at)
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("want %#v, got %#v %v", tc.want, got, err)
			}
		})
	}
	// alice then manages the room: she adds dave.
	s := fold(t, room(t), conversation.Leave{Member: carol}, at)
	if !s.Moderator(alice) || s.Moderator(carol) {
		t.Fatalf("moderators after the creator left: %v", s.Moderators)
	}
	fold(t, s, conversation.AddMembers{By: alice, Members: []conversation.Participant{dave}, Policy: policy()}, at)
	// Left with the guest alone (alice and bob gone, carol leaves last): no moderator.
	s = fold(t, fold(t, room(t), conversation.Leave{Member: alice}, at), conversation.Leave{Member: bob}, at)
	evs, err := conversation.Decide(s, conversation.Leave{Member: carol}, at)
	if err != nil || len(evs) != 1 {
		t.Fatalf("a room left with a guest names no moderator: %#v %v", evs, err)
	}
}

// TestAGuestsOldRoomHasAUserModerator: guests created rooms before rooms had moderators (a room
// with a user in it); a guest never moderates, so such a room's stored Created makes no guest a
// moderator — its first user (by key: all joined together, as a successor is chosen) moderates it.
func TestAGuestsOldRoomHasAUserModerator(t *testing.T) {
	t.Parallel()
	s := conversation.Evolve(conversation.Initial(), conversation.Created{ConversationID: "r-old", Kind: conversation.KindRoom, Title: "Old",
		CreatedBy: guest, Members: []conversation.Participant{guest, carol, alice}, At: now})
	at := now.Add(time.Hour)
	for _, c := range []conversation.Command{
		conversation.Promote{By: guest, Member: carol},
		conversation.Remove{By: guest, Member: carol},
		conversation.AddMembers{By: guest, Members: []conversation.Participant{bob}, Policy: policy()},
	} {
		if evs, err := conversation.Decide(s, c, at); !errors.Is(err, conversation.ErrNotModerator) {
			t.Errorf("the guest that created the room: %T gave %#v %v, want ErrNotModerator", c, evs, err)
		}
	}
	if s.Moderator(guest) || !s.Moderator(alice) || len(s.Moderators) != 1 {
		t.Fatalf("moderators of a room a guest created: %v, want alice's alone", s.Moderators)
	}
	if first, ok := (conversation.Created{Kind: conversation.KindRoom, CreatedBy: guest, Members: []conversation.Participant{guest}}).FirstModerator(); ok {
		t.Fatalf("a room of a guest alone has moderator %v", first)
	}
}
