package main

import (
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry/domain/wickr/conversation"
)

// TestWickrForwarding drives message forwarding (guide §3.3 Messaging, messageForwardingEnabled)
// through the client API of a running Belfry as its users would, and the Admin API as their
// administrator: alice forwards bob's message from their DM into her DM with carol (201; the answer,
// carol's listing and carol's live stream name the source); a message of a conversation alice is not
// in, one never posted and one expired (injected clock) are 404; bad ids are 400 naming the member;
// once the admin turns the group's messageForwardingEnabled off (UpdateSecurityGroup) a forward is
// 403 naming the setting, and a plain post still works.
func TestWickrForwarding(t *testing.T) {
	t.Parallel()
	outbox := t.TempDir()
	clk := &clock{t: time.Now()}
	b := startBelfryWith(t, func(m *Main) { m.cfg.MailDir, m.Now, m.SweepEvery = outbox, clk.Now, 50*time.Millisecond })
	const alice, bob, carol = "alice@fwd.example", "bob@fwd.example", "carol@fwd.example"
	nid, gid, s := wickrMsgUsers(t, b, outbox, alice, bob, carol)
	call := func(method, path, session, body string) (int, map[string]any) {
		return b.wickrClient(t, method, "/client/v1/wickr/conversations"+path, session, body)
	}
	dm := func(session, with string) string {
		t.Helper()
		_, me := b.wickrClient(t, "GET", "/client/v1/wickr/me", with, "")
		st, out := call("POST", "", session, `{"Kind":"DM","Members":[{"NetworkId":"`+nid+`","UserId":"`+str(me["User"].(map[string]any)["UserId"])+`"}]}`)
		if st != 201 {
			t.Fatalf("create DM: %d %v", st, out)
		}
		return str(out["Conversation"].(map[string]any)["ConversationId"])
	}
	post := func(session, conv, body string) (int, map[string]any) {
		return call("POST", "/"+conv+"/messages", session, body)
	}
	posted := func(session, conv, body string) string {
		t.Helper()
		st, out := post(session, conv, body)
		if st != 201 {
			t.Fatalf("post %s: %d %v", body, st, out)
		}
		return str(out["Message"].(map[string]any)["MessageId"])
	}

	convA, convB, convC := dm(s[bob], s[alice]), dm(s[alice], s[carol]), dm(s[bob], s[carol])
	fromBob := posted(s[bob], convA, `{"Content":"the plan"}`)
	notAlices := posted(s[bob], convC, `{"Content":"between bob and carol"}`)
	expiring := posted(s[bob], convA, `{"Content":"soon gone","Ttl":60}`)
	live := b.dialWickrStream(t, s[carol], "")
	live.expect("Ready")

	// A forward of a message alice reads: 201, marked forwarded in the answer, the listing and the
	// stream, which never name its source (the source's ids would tell carol which conversations
	// exist); the event records the source.
	st, out := post(s[alice], convB, wickrForward(convA, fromBob))
	if st != 201 {
		t.Fatalf("forward: %d %v", st, out)
	}
	if got := out["Message"].(map[string]any); got["Forwarded"] != true || got["ForwardedFrom"] != nil {
		t.Fatalf("the post answers %v, want Forwarded and no source", got)
	}
	m := messagesOf(t, b, s[carol], convB)["forwarded text"]
	if m["Forwarded"] != true || m["ForwardedFrom"] != nil {
		t.Fatalf("carol lists %v, want Forwarded and no source", m)
	}
	if f := live.expect("MessagePosted"); f.Message == nil || !f.Message.Forwarded {
		t.Fatalf("carol's stream: %+v", f)
	}
	if !wickrForwardRecorded(t, b, convB, convA, fromBob) {
		t.Fatal("the MessagePosted event does not record the source")
	}
	if m := messagesOf(t, b, s[alice], convA)["the plan"]; m == nil || m["Forwarded"] != nil {
		t.Fatalf("a plain message shows as forwarded: %v", m)
	}

	// A message alice cannot read now is 404, whatever the reason; bad ids are 400.
	clk.Add(61 * time.Second)
	wickrForwardRefusals(t, func(body string) (int, map[string]any) { return post(s[alice], convB, body) }, map[string]string{
		"a conversation alice is not in": wickrForward(convC, notAlices),
		"a message never posted":         wickrForward(convA, "5d0c3f7e-9a1b-4c2d-8e6f-7a9b1c3d5e7f"),
		"a made-up conversation":         wickrForward("8b2e4d6f-1a3c-4e5b-9d7f-0c2e4a6b8d1f", fromBob),
		"an expired message":             wickrForward(convA, expiring),
	}, convA, fromBob)

	// The administrator turns forwarding off for the sender's group: 403 naming the setting; a plain
	// post still goes.
	b.wickrGroup(t, nid, gid, `{"messageForwardingEnabled":false}`)
	if st, out := post(s[alice], convB, wickrForward(convA, fromBob)); st != 403 || !strings.Contains(str(out["Message"]), "messageForwardingEnabled") {
		t.Fatalf("forwarding off: %d %v, want 403 naming messageForwardingEnabled", st, out)
	}
	if st, out := post(s[alice], convB, `{"Content":"plain after"}`); st != 201 {
		t.Fatalf("a plain post with forwarding off: %d %v", st, out)
	}
	if n := len(messagesOf(t, b, s[carol], convB)); n != 2 {
		t.Fatalf("carol reads %d messages, want the forward and the plain post", n)
	}
}

// wickrForward is the body of a post forwarding message mid of conversation conv.
func wickrForward(conv, mid string) string {
	return `{"Content":"forwarded text","ForwardedFrom":{"ConversationId":"` + conv + `","MessageId":"` + mid + `"}}`
}

// wickrForwardRefusals posts each forward of unreadable (by what makes its source unreadable) and
// wants 404, then forwards of the message mid of conversation conv with bad ids and wants 400 naming
// the member (a NUL is refused by the body's check before the handler, which names the member in
// its message).
func wickrForwardRefusals(t *testing.T, post func(body string) (int, map[string]any), unreadable map[string]string, conv, mid string) {
	t.Helper()
	for name, body := range unreadable {
		if st, out := post(body); st != 404 {
			t.Errorf("%s: %d %v, want 404", name, st, out)
		}
	}
	for body, field := range map[string]string{
		`{"Content":"x","ForwardedFrom":{"ConversationId":"` + conv + `"}}`:                                               "ForwardedFrom.MessageId",
		`{"Content":"x","ForwardedFrom":{"MessageId":"` + mid + `"}}`:                                                     "ForwardedFrom.ConversationId",
		`{"Content":"x","ForwardedFrom":{"ConversationId":"a\u0000b","MessageId":"` + mid + `"}}`:                         "ForwardedFrom.ConversationId",
		`{"Content":"x","ForwardedFrom":{"ConversationId":"` + conv + `","MessageId":"` + strings.Repeat("m", 65) + `"}}`: "ForwardedFrom.MessageId",
	} {
		if st, out := post(body); st != 400 || str(out["Field"]) != field && !strings.Contains(str(out["Message"]), `"`+field+`"`) {
			t.Errorf("%.90s: %d %v, want 400 naming %s", body, st, out, field)
		}
	}
}

// wickrForwardRecorded reports whether conversation conv's log holds a MessagePosted forwarding
// message msg of conversation src (read through EventStore-Client-Go).
func wickrForwardRecorded(t *testing.T, b *running, conv, src, msg string) bool {
	t.Helper()
	for _, e := range streamEvents(t, b, conversation.StreamName(conv), conversation.Decode) {
		if p, ok := e.(conversation.MessagePosted); ok && p.ForwardedFrom != nil && *p.ForwardedFrom == (conversation.MessageRef{ConversationID: src, MessageID: msg}) {
			return true
		}
	}
	return false
}
