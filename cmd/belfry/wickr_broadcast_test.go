package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/belfry/belfry/api/mediasignal"
	"github.com/belfry/belfry/domain/wickr/call"
	"github.com/belfry/belfry/infra/sfu/sfuclient"
)

// TestWickrBroadcast: a member starts a broadcast in a room (?broadcast=true) and presents; more
// than 70 viewers join it (the call counts one participant per signalling connection: eight users on
// up to MaxParticipantsPerUser devices each), each answered "joined" with role viewer; one user's
// 11th connection is refused 400 ResourceLimitExceeded naming the bound while another user still
// joins; a viewer whose client sends audio, video and a screen share forwards nothing — not to the
// presenter nor to another viewer — while it receives the presenter's media; when the presenter
// leaves, the viewers are taken out (bye PresenterLeft) and the broadcast ends PresenterLeft. A
// broadcast in a DM, and a broadcast parameter that is not true or false, are refused 400.
func TestWickrBroadcast(t *testing.T) {
	t.Parallel()
	start := time.Now()
	outbox := t.TempDir()
	b := startBelfryWith(t, func(m *Main) {
		m.cfg.MailDir = outbox
		m.cfg.Media.Loopback = true
		// The cheap viewers below never connect media nor answer the SFU's offers (joining them may
		// take longer than the default 30 s on a loaded machine).
		m.cfg.Media.ConnectWithin, m.cfg.Media.AnswerWithin = 10*time.Minute, 10*time.Minute
	})
	const alice, bob, carol = "alice@cast.example", "bob@cast.example", "carol@cast.example"
	// More viewers than a conference call holds, at most MaxParticipantsPerUser connections each: bob,
	// carol and enough others to fill them, and one more who joins past bob's bound.
	const total = call.MaxParticipants + 10
	filling := (total - 1 + call.MaxParticipantsPerUser - 1) / call.MaxParticipantsPerUser // users holding the total-1 viewers
	viewers := []string{bob, carol}
	for len(viewers) < filling+1 {
		viewers = append(viewers, fmt.Sprintf("viewer%d@cast.example", len(viewers)+1))
	}
	usersStart := time.Now()
	nid, gid, s := wickrMsgUsers(t, b, outbox, append([]string{alice}, viewers...)...)
	t.Logf("%d users registered in %v", len(viewers)+1, time.Since(usersStart).Round(time.Millisecond))
	b.wickrGroup(t, nid, gid, `{"calling":{"canStart11Call":true,"canVideoCall":true,"forceTcpCall":false}}`)
	member := func(tok string) string {
		_, me := b.wickrClient(t, "GET", "/client/v1/wickr/me", tok, "")
		return `{"NetworkId":"` + nid + `","UserId":"` + str(me["User"].(map[string]any)["UserId"]) + `"}`
	}
	conv := func(body string) string {
		st, out := b.wickrClient(t, "POST", "/client/v1/wickr/conversations", s[alice], body)
		if st != 201 {
			t.Fatalf("conversation %s: %d %v", body, st, out)
		}
		return str(out["Conversation"].(map[string]any)["ConversationId"])
	}
	var members []string
	for _, v := range viewers {
		members = append(members, member(s[v]))
	}
	room := conv(`{"Kind":"ROOM","Title":"All hands","Members":[` + strings.Join(members, ",") + `]}`)
	dm := conv(`{"Kind":"DM","Members":[` + member(s[bob]) + `]}`)
	dial := func(convID, query, tok string) func(ctx context.Context) (*websocket.Conn, *http.Response, error) {
		return func(ctx context.Context) (*websocket.Conn, *http.Response, error) {
			url := "ws" + strings.TrimPrefix(b.url, "http") + "/client/v1/wickr/conversations/" + convID + "/call/signal" + query
			return websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{mediasignal.Protocol, "bearer." + tok}})
		}
	}
	for _, q := range []struct{ conv, query string }{{dm, "?broadcast=true"}, {room, "?broadcast=yes"}, {room, "?broadcast=true&broadcast=true"}} {
		if _, resp, err := dial(q.conv, q.query, s[alice])(context.Background()); err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("%s %s: want 400, got %v %v", q.conv, q.query, resp, err)
		}
	}

	media := sfuclient.Options{Content: true} // audio, video and a screen share
	presenter := b.joinVia(t, "", dial(room, "?broadcast=true", s[alice]), media)
	callID := presenter.first.CallID
	v1 := b.joinVia(t, "", dial(room, "", s[bob]), media)
	v2 := b.joinVia(t, "", dial(room, "?broadcast=false", s[carol]), media) // the starter's choice stands
	for _, v := range []*attendee{v1, v2} {
		if v.first.CallID != callID || v.first.Role != "viewer" || v.first.Video == nil || *v.first.Video {
			t.Fatalf("a viewer joined with %+v", v.first)
		}
		for _, k := range []string{"audio", "video", "content"} {
			until(t, "a viewer receives the presenter's "+k, func() bool { return v.c.Received(presenter.id, k) > 20 })
		}
	}
	if presenter.first.Role != "" || !*presenter.first.Video {
		t.Fatalf("the presenter joined with %+v", presenter.first)
	}
	time.Sleep(300 * time.Millisecond) // the viewers keep sending all along
	if v1.c.Sent() == 0 {
		t.Fatal("the viewer sent nothing: the test proves nothing")
	}
	for _, k := range []string{"audio", "video", "content"} {
		if n := presenter.c.Received(v1.id, k) + v2.c.Received(v1.id, k) + v1.c.Received(v2.id, k); n != 0 {
			t.Fatalf("a viewer's %s was forwarded: %d packets", k, n)
		}
	}

	// Cheap viewers (signalling only), each viewer user filling its connections in turn, until the
	// broadcast holds more than a conference call may; the last viewer user is kept for later.
	joinStart := time.Now()
	held := map[string]int{bob: 1, carol: 1}
	var cheap []*websocket.Conn
	open := func(who string) *websocket.Conn {
		t.Helper()
		ws, resp, err := dial(room, "", s[who])(context.Background())
		if err != nil {
			t.Fatalf("%s's connection %d: %v %v", who, held[who]+1, resp, err)
		}
		t.Cleanup(func() { _ = ws.CloseNow() })
		held[who]++
		if m := readSignal(t, context.Background(), ws); m.Type != "joined" || m.CallID != callID || m.Role != "viewer" {
			t.Fatalf("%s's connection %d: %+v", who, held[who], m)
		}
		drain(ws)
		return ws
	}
	for _, who := range viewers[:len(viewers)-1] {
		for held[who] < call.MaxParticipantsPerUser && 3+len(cheap) < total {
			cheap = append(cheap, open(who))
		}
	}
	t.Logf("%d cheap viewers of %d users joined in %v", len(cheap), len(viewers)-1, time.Since(joinStart).Round(time.Millisecond))

	// One user's 11th connection is refused before the upgrade, naming the bound; another still joins.
	_, resp, err := dial(room, "", s[bob])(context.Background())
	if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bob's connection %d: %v %v, want 400", call.MaxParticipantsPerUser+1, resp, err)
	}
	bound := fmt.Sprintf("%d participants (devices)", call.MaxParticipantsPerUser)
	if body, _ := io.ReadAll(resp.Body); !strings.Contains(string(body), "ResourceLimitExceeded") || !strings.Contains(string(body), bound) {
		t.Fatalf("bob's connection %d: the answer %s does not name %q", call.MaxParticipantsPerUser+1, body, bound)
	}
	open(viewers[len(viewers)-1]) // another user still joins
	joined := 0
	for _, e := range b.callEvents(t, callID) {
		if _, ok := e.(call.ParticipantJoined); ok {
			joined++
		}
	}
	if joined != total+1 {
		t.Fatalf("%d participants joined, want %d", joined, total+1)
	}

	// The presenter leaves: the broadcast ends for everyone.
	presenter.send(map[string]string{"type": "leave"})
	for _, v := range []*attendee{v1, v2} {
		select {
		case r := <-v.bye:
			if r != call.LeftPresenterLeft {
				t.Fatalf("a viewer's bye: %q", r)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a viewer stays in a broadcast its presenter left")
		}
	}
	until(t, "the broadcast ends", func() bool {
		evs := b.callEvents(t, callID)
		e, ok := evs[len(evs)-1].(call.Ended)
		return ok && e.Reason == call.EndPresenterLeft
	})
	left := 0
	for _, e := range b.callEvents(t, callID) {
		if l, ok := e.(call.ParticipantLeft); ok && l.Reason == call.LeftPresenterLeft {
			left++
		}
	}
	if left != total {
		t.Fatalf("%d viewers left with the presenter, want %d", left, total)
	}
	t.Logf("TestWickrBroadcast took %v", time.Since(start).Round(time.Millisecond))
}
