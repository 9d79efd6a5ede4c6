package conversation_test

import (
	"errors"
	"testing"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/conversation"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
)

// TestHugeTimersAreRefusedNamingTheField: a group without a maximum (maxTtl and maxBor 0, the
// defaults) and a guest (no group) still cannot set a timer past conversation.MaxTimer: a Ttl of
// 10^10 seconds overflowed time.Duration, so the message was posted already gone (its deadline
// before its post), and a Bor as large made the read model's burn time out of range.
func TestHugeTimersAreRefusedNamingTheField(t *testing.T) {
	t.Parallel()
	open := with(policy(), carol, func(g *sg.Settings) { g.MaxTTL, g.MaxBor = 0, 0 })
	for _, c := range []struct {
		name     string
		from     conversation.Participant
		ttl, bor int64
		field    string
	}{
		{"a user's Ttl past the bound", carol, conversation.MaxTimer + 1, 0, "Ttl"},
		{"a user's Ttl of 10^10 s", carol, 10_000_000_000, 0, "Ttl"},
		{"a user's Bor past the bound", carol, 0, conversation.MaxTimer + 1, "Bor"},
		{"a user's Bor of MaxInt64", carol, 0, 1<<63 - 1, "Bor"},
		{"a guest's Ttl of 10^10 s", guest, 10_000_000_000, 0, "Ttl"},
		{"a guest's Bor of MaxInt64", guest, 0, 1<<63 - 1, "Bor"},
	} {
		to := alice
		if c.from == alice {
			to = carol
		}
		s := dm(t, to, c.from, open)
		evs, err := conversation.Decide(s, post("m", c.from, s.ID, c.ttl, c.bor, open), now)
		if fieldOf(err) != c.field || !errors.Is(err, conversation.ErrTimer) {
			t.Errorf("%s: %v %v, want ErrTimer naming %s", c.name, evs, err, c.field)
		}
	}
	// At the bound the message lives until its deadline, which is after its post.
	s := dm(t, alice, carol, open)
	s = fold(t, s, post("m", carol, s.ID, conversation.MaxTimer, conversation.MaxTimer, open), now)
	if m := s.Messages["m"]; m == nil || !m.Deadline().After(now) || m.Gone(now) {
		t.Fatalf("a message at the bound: %+v", m)
	}
}

// TestAGroupsMaximumAboveTheBoundGivesTheBound: a group whose maxTtl is above MaxTimer gives a
// message without a Ttl the bound, not an overflowing timer.
func TestAGroupsMaximumAboveTheBoundGivesTheBound(t *testing.T) {
	t.Parallel()
	p := with(policy(), carol, func(g *sg.Settings) { g.MaxTTL = 1<<63 - 1 })
	s := dm(t, alice, carol, p)
	evs, err := conversation.Decide(s, post("m", carol, s.ID, 0, 0, p), now)
	if err != nil || len(evs) != 1 || evs[0].(conversation.MessagePosted).TTL != conversation.MaxTimer {
		t.Fatalf("default Ttl of a group above the bound: %v %v", evs, err)
	}
}

// TestGuestsDoNotTalkAmongThemselves: a conversation holding guests holds a user of a network
// (guide §15.1: guests collaborate with users of a network; the rule the direct message already
// had): a guest cannot make a group of guests (nor any room: TestRoomModerators), nor post where no
// user is left.
func TestGuestsDoNotTalkAmongThemselves(t *testing.T) {
	t.Parallel()
	other := conversation.Participant{GuestHash: wickr.UsernameHash("ann@example.org")}
	for _, kind := range []string{conversation.KindGroup} {
		for _, members := range [][]conversation.Participant{{other}, nil} {
			_, err := conversation.Decide(conversation.Initial(), conversation.Create{ConversationID: "g-" + kind, Kind: kind, Title: "guests",
				By: guest, Members: members, Policy: policy()}, now)
			if !errors.Is(err, conversation.ErrNotFederated) || fieldOf(err) != "Members" {
				t.Errorf("a %s of guests only (%d others): %v", kind, len(members), err)
			}
		}
	}
	// With a user it is made; once the users have left, the guests' posts are refused.
	s := fold(t, conversation.Initial(), conversation.Create{ConversationID: "g", Kind: conversation.KindGroup, Title: "mixed", By: guest,
		Members: []conversation.Participant{other, carol}, Policy: policy()}, now)
	s = fold(t, s, post("m1", other, s.ID, 0, 0, policy()), now)
	s = fold(t, s, conversation.Leave{Member: carol}, now)
	if _, err := conversation.Decide(s, post("m2", other, s.ID, 0, 0, policy()), now); !errors.Is(err, conversation.ErrNotFederated) {
		t.Fatalf("a guest posts to guests alone: %v", err)
	}
	// Adding only guests to a group of guests and a user who left is refused too; adding a user works.
	if _, err := conversation.Decide(s, conversation.AddMembers{By: guest, Members: []conversation.Participant{{GuestHash: "ff"}}, Policy: policy()}, now); !errors.Is(err, conversation.ErrNotFederated) {
		t.Fatalf("guests add guests: %v", err)
	}
	if _, err := conversation.Decide(s, conversation.AddMembers{By: guest, Members: []conversation.Participant{carol}, Policy: policy()}, now); err != nil {
		t.Fatalf("a guest adds a user back: %v", err)
	}
}

// TestToAStrangerAConversationDoesNotExist: a direct message's id derives from its pair (DirectID),
// so anyone can name the one of any two users; a caller who is not a member of a conversation gets,
// for every command it may send, the very answer a conversation that does not exist gets (not found,
// the same words) — never a refusal, a no-op or a rule of the conversation's kind that would tell
// who talks with whom.
func TestToAStrangerAConversationDoesNotExist(t *testing.T) {
	t.Parallel()
	eve := conversation.Participant{NetworkID: "11111111", UserID: "9"}
	p := policy()
	p.Groups[eve.Key()] = p.Groups[carol.Key()]
	d := dm(t, alice, carol, p)
	d = fold(t, d, post("m1", alice, d.ID, 0, 0, p), now)
	group := fold(t, conversation.Initial(), conversation.Create{ConversationID: "g1", Kind: conversation.KindGroup, By: carol,
		Members: []conversation.Participant{alice}, Policy: p}, now)
	commands := map[string]conversation.Command{
		"add members": conversation.AddMembers{By: eve, Members: []conversation.Participant{eve}, Policy: p},
		"leave":       conversation.Leave{Member: eve},
		"promote":     conversation.Promote{By: eve, Member: alice},
		"remove":      conversation.Remove{By: eve, Member: alice},
		"post":        post("m2", eve, d.ID, 0, 0, p),
		"mark read":   conversation.MarkRead{Reader: eve, MessageIDs: []string{"m1"}, Policy: p},
	}
	for name, when := range commands {
		_, none := conversation.Decide(conversation.Initial(), when, now)
		for _, given := range []conversation.State{d, group, room(t)} {
			evs, err := conversation.Decide(given, when, now)
			if len(evs) != 0 || err == nil || domain.KindOf(err) != domain.KindNotFound || err.Error() != none.Error() {
				t.Errorf("%s by a stranger on a %s: %v %v, want what a made-up conversation gets: %v", name, given.Kind, evs, err, none)
			}
		}
	}
}

// TestAnUnknownMemberIsNamedByItsIndexInTheRequest: a refused member is named as the request names
// it (Members[i] of the Members sent) — not shifted by the creator, nor by members named twice or
// already in the conversation.
func TestAnUnknownMemberIsNamedByItsIndexInTheRequest(t *testing.T) {
	t.Parallel()
	gone := conversation.Participant{NetworkID: "11111111", UserID: "77"} // no group: deleted or suspended
	group := fold(t, conversation.Initial(), conversation.Create{ConversationID: "g1", Kind: conversation.KindGroup, By: carol,
		Members: []conversation.Participant{alice}, Policy: policy()}, now)
	for _, c := range []struct {
		name  string
		given conversation.State
		when  conversation.Command
		field string
	}{
		{"a direct message", conversation.Initial(), conversation.Create{ConversationID: conversation.DirectID(alice, gone), Kind: conversation.KindDirect,
			By: alice, Members: []conversation.Participant{gone}, Policy: policy()}, "Members[0]"},
		{"a group", conversation.Initial(), conversation.Create{ConversationID: "g2", Kind: conversation.KindGroup, By: alice,
			Members: []conversation.Participant{carol, carol, gone}, Policy: policy()}, "Members[2]"},
		{"members added", group, conversation.AddMembers{By: carol, Members: []conversation.Participant{alice, bob, gone}, Policy: policy()}, "Members[2]"},
	} {
		evs, err := conversation.Decide(c.given, c.when, now)
		if !errors.Is(err, conversation.ErrUnknown) || fieldOf(err) != c.field {
			t.Errorf("%s with an unknown member: %v %v (field %q), want ErrUnknown naming %s", c.name, evs, err, fieldOf(err), c.field)
		}
	}
}
