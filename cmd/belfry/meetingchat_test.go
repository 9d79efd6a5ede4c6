package main

import (
	"context"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/belfry/belfry/domain/chime/meeting"
	"github.com/belfry/belfry/infra/datakeys"
)

// TestMeetingChatEndsWithTheMeeting: guide §4.8 — the attendees of a live meeting chat through the
// client API, each message pushed to every attendee's signalling socket and refused ones to none; the
// organiser's other colleagues not in the meeting, strangers and bad text are
// refused; when the meeting ends its chat is gone: the list answers 404 and the sealed texts in the
// log no longer open (the meeting's chat key is destroyed by the side effect of its end).
func TestMeetingChatEndsWithTheMeeting(t *testing.T) {
	t.Parallel()
	b, id, aliceTok, bobTok, strangerTok := meetingWith(t, nil)
	alice := b.join(t, id, aliceTok)
	if st, out := b.clientCall(t, "POST", "/client/v1/meetings/"+id+"/chat", bobTok, map[string]string{"Content": "not in yet"}); st != 404 {
		t.Fatalf("bob, not in the meeting, chats: %d %v", st, out)
	}
	bob := b.join(t, id, bobTok)
	const secret = "the launch code is 0000-SENTINEL-CHAT"
	if st, out := b.clientCall(t, "POST", "/client/v1/meetings/"+id+"/chat", aliceTok, map[string]string{"Content": secret}); st != 201 {
		t.Fatalf("alice chats: %d %v", st, out)
	}
	if st, out := b.clientCall(t, "POST", "/client/v1/meetings/"+id+"/chat", bobTok, map[string]string{"Content": "noted"}); st != 201 {
		t.Fatalf("bob chats: %d %v", st, out)
	}
	for name, body := range map[string]string{"blank": "  ", "NUL": "a\x00b", "too long": strings.Repeat("x", meeting.MaxChatBytes+1)} {
		if st, out := b.clientCall(t, "POST", "/client/v1/meetings/"+id+"/chat", aliceTok, map[string]string{"Content": body}); st != 400 {
			t.Errorf("%s text: %d %v", name, st, out)
		}
	}
	if st, _ := b.clientCall(t, "GET", "/client/v1/meetings/"+id+"/chat", strangerTok, nil); st != 404 {
		t.Fatalf("a stranger reads the chat: %d", st)
	}
	pushed := func(a *attendee) string {
		a.mu.Lock()
		defer a.mu.Unlock()
		var got []string
		for _, m := range a.chats {
			if m.MeetingID != id || m.MessageID == "" || m.UserID == "" {
				t.Fatalf("a pushed chat message: %+v", m)
			}
			got = append(got, m.Content)
		}
		return strings.Join(got, "|")
	}
	until(t, "both attendees to be pushed both messages", func() bool { return pushed(alice) == secret+"|noted" && pushed(bob) == secret+"|noted" })
	st, out := b.clientCall(t, "GET", "/client/v1/meetings/"+id+"/chat", bobTok, nil)
	msgs, _ := out["Messages"].([]any)
	if st != 200 || len(msgs) != 2 || msgs[0].(map[string]any)["Content"] != secret || msgs[1].(map[string]any)["Content"] != "noted" {
		t.Fatalf("bob reads the chat: %d %v", st, out)
	}

	ctx := context.Background()
	_ = alice.ws.Write(ctx, websocket.MessageText, []byte(`{"type":"leave"}`))
	<-alice.bye
	_ = bob.ws.Close(websocket.StatusNormalClosure, "")
	until(t, "the meeting to end", func() bool {
		_, out := b.clientCall(t, "GET", "/client/v1/meetings/"+id, aliceTok, nil)
		return out["Meeting"].(map[string]any)["Status"] == "Ended"
	})
	if st, _ := b.clientCall(t, "GET", "/client/v1/meetings/"+id+"/chat", aliceTok, nil); st != 404 {
		t.Fatalf("the chat of an ended meeting: %d", st)
	}
	krPath, _ := b.m.cfg.keyringPath()
	ring, err := datakeys.OpenFileKeyring(krPath)
	if err != nil {
		t.Fatal(err)
	}
	keys := datakeys.New(pgxPool(t, b)).WithKeyring(ring)
	var posted []meeting.ChatPosted
	for _, e := range b.meetingEvents(t, id) {
		if c, ok := e.(meeting.ChatPosted); ok {
			posted = append(posted, c)
		}
	}
	if len(posted) != 2 {
		t.Fatalf("%d ChatPosted events, want 2", len(posted))
	}
	until(t, "the chat key to be destroyed", func() bool {
		keys.Evict("")
		_, err := keys.OpenSealed(ctx, posted[0].Text)
		return err != nil
	})
	for _, p := range posted {
		if strings.Contains(string(p.Text.Data), "SENTINEL") {
			t.Fatal("a chat text is in the log in the clear")
		}
	}
}
