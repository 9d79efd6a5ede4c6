package conversation_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr/conversation"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
)

func forward(p conversation.Post, from conversation.State, messageID string) conversation.Post {
	p.ForwardedFrom = &conversation.MessageRef{ConversationID: from.ID, MessageID: messageID}
	return p
}

// TestAForwardRecordsItsSource: given carol's message in her DM with alice, when alice forwards it
// into her DM with bob and her group lets its users forward (the default), then the post records
// where it came from; when her group has messageForwardingEnabled off, the forward is Forbidden,
// naming the setting, and a plain post is still allowed.
func TestAForwardRecordsItsSource(t *testing.T) {
	t.Parallel()
	src := dm(t, carol, alice, policy())
	src = fold(t, src, post("m1", carol, src.ID, 0, 0, policy()), now)
	to := dm(t, alice, bob, policy())

	evs, err := conversation.Decide(to, forward(post("f1", alice, to.ID, 0, 0, policy()), src, "m1"), now)
	if err != nil || len(evs) != 1 {
		t.Fatalf("a forward: %v %v", evs, err)
	}
	want := conversation.MessageRef{ConversationID: src.ID, MessageID: "m1"}
	if got := evs[0].(conversation.MessagePosted).ForwardedFrom; got == nil || *got != want {
		t.Fatalf("the forward records %v, want %v", got, want)
	}
	if evs, err := conversation.Decide(to, post("p1", alice, to.ID, 0, 0, policy()), now); err != nil || evs[0].(conversation.MessagePosted).ForwardedFrom != nil {
		t.Fatalf("a plain post: %v %v", evs, err)
	}

	off := with(policy(), alice, func(g *sg.Settings) { g.MessageForwardingEnabled = false })
	evs, err = conversation.Decide(to, forward(post("f2", alice, to.ID, 0, 0, off), src, "m1"), now)
	if !errors.Is(err, conversation.ErrForwarding) || domain.KindOf(err) != domain.KindForbidden || len(evs) != 0 {
		t.Fatalf("forwarding off: %v %v, want Forbidden ErrForwarding", evs, err)
	}
	if fieldOf(err) != "ForwardedFrom" || !strings.Contains(err.Error(), "messageForwardingEnabled") {
		t.Fatalf("the refusal does not name the setting: %v", err)
	}
	if err := conversation.CheckForward(off, alice); !errors.Is(err, conversation.ErrForwarding) {
		t.Fatalf("CheckForward with forwarding off: %v", err)
	}
	if _, err := conversation.Decide(to, post("p2", alice, to.ID, 0, 0, off), now); err != nil {
		t.Fatalf("a plain post with forwarding off: %v", err)
	}
	// Only the sender's group counts: bob's group forbidding forwards does not stop alice.
	bobOff := with(policy(), bob, func(g *sg.Settings) { g.MessageForwardingEnabled = false })
	if _, err := conversation.Decide(to, forward(post("f3", alice, to.ID, 0, 0, bobOff), src, "m1"), now); err != nil {
		t.Fatalf("a recipient's group forbids forwarding: %v", err)
	}
	// A guest belongs to no group: it forwards as the default settings allow.
	gdm := dm(t, guest, alice, policy())
	if _, err := conversation.Decide(gdm, forward(post("g1", guest, gdm.ID, 0, 0, policy()), src, "m1"), now); err != nil {
		t.Fatalf("a guest's forward: %v", err)
	}
}

// TestOnlyAMessageTheSenderReadsNowIsForwarded: Readable answers NotFound for a message the sender
// cannot read now — not a member, never posted, expired, burnt, destroyed, a conversation that does
// not exist — and a forward within the conversation is checked on its own state.
func TestOnlyAMessageTheSenderReadsNowIsForwarded(t *testing.T) {
	t.Parallel()
	src := dm(t, carol, alice, policy())
	src = fold(t, src, post("m1", carol, src.ID, 0, 0, policy()), now)
	src = fold(t, src, post("exp", carol, src.ID, 10, 0, policy()), now)
	src = fold(t, src, post("bor", carol, src.ID, 0, 5, policy()), now)
	src = fold(t, src, post("gone", carol, src.ID, 10, 0, policy()), now)
	src = fold(t, src, conversation.MarkRead{Reader: alice, MessageIDs: []string{"bor"}, Policy: policy()}, now)
	later := now.Add(time.Minute)
	src = fold(t, src, conversation.Destroy{MessageIDs: []string{"gone"}}, later)

	if err := conversation.Readable(src, alice, "m1", later); err != nil {
		t.Fatalf("a live message of a member: %v", err)
	}
	for name, c := range map[string]struct {
		s      conversation.State
		reader conversation.Participant
		msg    string
	}{
		"not a member":            {src, bob, "m1"},
		"never posted":            {src, alice, "nope"},
		"expired":                 {src, alice, "exp"},
		"burnt":                   {src, alice, "bor"},
		"destroyed":               {src, alice, "gone"},
		"no such conversation":    {conversation.Initial(), alice, "m1"},
		"the sender's own, gone":  {src, carol, "exp"},
		"a member, empty message": {src, alice, ""},
	} {
		if err := conversation.Readable(c.s, c.reader, c.msg, later); !errors.Is(err, conversation.ErrMessageNotFound) || domain.KindOf(err) != domain.KindNotFound {
			t.Errorf("%s: %v, want NotFound", name, err)
		}
	}

	// Within one conversation the decision checks the source on its own state.
	if _, err := conversation.Decide(src, forward(post("f1", alice, src.ID, 0, 0, policy()), src, "exp"), later); !errors.Is(err, conversation.ErrMessageNotFound) {
		t.Fatalf("forwarding an expired message of the same conversation: %v", err)
	}
	if _, err := conversation.Decide(src, forward(post("f1", alice, src.ID, 0, 0, policy()), src, "m1"), later); err != nil {
		t.Fatalf("forwarding a live message of the same conversation: %v", err)
	}
	for field, ref := range map[string]conversation.MessageRef{
		"ForwardedFrom.ConversationId": {MessageID: "m1"},
		"ForwardedFrom.MessageId":      {ConversationID: src.ID},
	} {
		p := post("f2", alice, src.ID, 0, 0, policy())
		p.ForwardedFrom = &ref
		if _, err := conversation.Decide(src, p, later); fieldOf(err) != field {
			t.Errorf("%v: %v, want a field error naming %s", ref, err, field)
		}
	}
}
