package messaging_test

import (
	"context"
	"errors"
	"testing"

	"github.com/belfry/belfry/api/wickr/messaging"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr/conversation"
	"github.com/belfry/belfry/domain/wickr/network"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
)

// TestARefusedForwardSealsNothing: a forward of a message the sender cannot read (a conversation it
// is not in, a message never posted) is NotFound and one its group forbids is Forbidden, both before
// a key is made; a forward the sender may make records and answers its source.
func TestARefusedForwardSealsNothing(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, sg.Defaults(), []string{"1", "2", "3"}, nil)
	alice, bob, carol := user("1"), user("2"), user("3")
	create := func(by messaging.Caller, with messaging.Caller) string {
		t.Helper()
		v, err := w.svc.Create(ctx, by, conversation.KindDirect, "", []conversation.Participant{with.Participant()})
		if err != nil {
			t.Fatal(err)
		}
		return v.ID
	}
	a, b, c := create(bob, alice), create(alice, carol), create(bob, carol)
	src, err := w.svc.Post(ctx, bob, a, messaging.Draft{Text: "from bob"})
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := w.svc.Post(ctx, bob, c, messaging.Draft{Text: "not for alice"})
	if err != nil {
		t.Fatal(err)
	}
	made, _ := w.keys.count()

	fwd := func(conv, msg string) messaging.Draft {
		return messaging.Draft{Text: "from bob", ForwardedFrom: &conversation.MessageRef{ConversationID: conv, MessageID: msg}}
	}
	for name, d := range map[string]messaging.Draft{
		"a conversation alice is not in": fwd(c, theirs.MessageID),
		"a message never posted":         fwd(a, "no-such-message"),
		"a conversation never created":   fwd("no-such-conversation", src.MessageID),
	} {
		if _, err := w.svc.Post(ctx, alice, b, d); !errors.Is(err, conversation.ErrMessageNotFound) || domain.KindOf(err) != domain.KindNotFound {
			t.Errorf("%s: %v, want NotFound", name, err)
		}
	}

	m, err := w.svc.Post(ctx, alice, b, fwd(a, src.MessageID))
	if err != nil || !m.Forwarded {
		t.Fatalf("a forward: %+v %v", m, err)
	}
	if now, _ := w.keys.count(); now != made+1 {
		t.Fatalf("refused forwards made %d keys", now-made-1)
	}

	w.networks.State(network.StreamName(nid)).Groups[gid].Settings.MessageForwardingEnabled = false
	if _, err := w.svc.Post(ctx, alice, b, fwd(a, src.MessageID)); !errors.Is(err, conversation.ErrForwarding) || domain.KindOf(err) != domain.KindForbidden {
		t.Fatalf("forwarding off: %v, want Forbidden", err)
	}
	if now, _ := w.keys.count(); now != made+1 {
		t.Fatal("a forward the group forbids made a key")
	}
	if _, err := w.svc.Post(ctx, alice, b, messaging.Draft{Text: "plain"}); err != nil {
		t.Fatalf("a plain post with forwarding off: %v", err)
	}
}
