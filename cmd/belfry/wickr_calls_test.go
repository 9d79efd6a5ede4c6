package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/belfry/belfry/api/mediasignal"
	"github.com/belfry/belfry/domain/wickr/call"
	"github.com/belfry/belfry/infra/sfu/sfuclient"
)

// dialWickrCall opens a conversation's call signalling WebSocket as a browser does.
func (r *running) dialWickrCall(ctx context.Context, path, token string) (*websocket.Conn, *http.Response, error) {
	url := "ws" + strings.TrimPrefix(r.url, "http") + "/client/v1/wickr/" + path + "/signal"
	return websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{mediasignal.Protocol, "bearer." + token}})
}

// callEvents reads a call's stream through EventStore-Client-Go.
func (r *running) callEvents(t *testing.T, id string) []call.Event {
	t.Helper()
	return streamEvents(t, r, call.StreamName(id), call.Decode)
}

// TestWickrCalls: two Wickr users of a direct message call each other through the signalling
// WebSocket and each receives the other's audio and video; a user of another network is refused;
// the call's life is events ending AllParticipantsLeft. With video off and TCP calling forced in
// their group, the next call is audio-only (video refused with an error) over ICE on TCP only (the
// clients cannot use UDP); with audio calls off, no call starts.
func TestWickrCalls(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	outbox := t.TempDir()
	var cfg Config
	b := startBelfryWith(t, func(m *Main) {
		m.cfg.MailDir = outbox
		m.cfg.Media.Loopback = true
		m.cfg.Media.TCPPort = port
		cfg = m.cfg
	})
	const alice, bob, eve = "alice@calls.example", "bob@calls.example", "eve@other.example"
	nid, gid, s := wickrMsgUsers(t, b, outbox, alice, bob)
	_, _, se := wickrMsgUsers(t, b, outbox, eve)
	b.wickrGroup(t, nid, gid, `{"calling":{"canStart11Call":true,"canVideoCall":true,"forceTcpCall":false}}`)
	_, me := b.wickrClient(t, "GET", "/client/v1/wickr/me", s[bob], "")
	bobID := str(me["User"].(map[string]any)["UserId"])
	st, out := b.wickrClient(t, "POST", "/client/v1/wickr/conversations", s[alice], `{"Kind":"DM","Members":[{"NetworkId":"`+nid+`","UserId":"`+bobID+`"}]}`)
	if st != 201 {
		t.Fatalf("DM: %d %v", st, out)
	}
	dm := "conversations/" + str(out["Conversation"].(map[string]any)["ConversationId"]) + "/call"
	dial := func(tok string) func(ctx context.Context) (*websocket.Conn, *http.Response, error) {
		return func(ctx context.Context) (*websocket.Conn, *http.Response, error) {
			return b.dialWickrCall(ctx, dm, tok)
		}
	}
	refused := func(tok string, want int) {
		t.Helper()
		_, resp, err := b.dialWickrCall(context.Background(), dm, tok)
		if err == nil || resp == nil || resp.StatusCode != want {
			t.Fatalf("want %d, got %v %v", want, resp, err)
		}
	}

	// A 1:1 call with video: each receives the other's audio and video.
	a := b.joinVia(t, "", dial(s[alice]))
	callID := a.first.CallID
	bb := b.joinVia(t, "", dial(s[bob]))
	if bb.first.CallID != callID || a.first.Video == nil || !*a.first.Video {
		t.Fatalf("joined: %+v %+v", a.first, bb.first)
	}
	for _, k := range []string{"audio", "video"} {
		until(t, "alice receives bob's "+k, func() bool { return a.c.Received(bb.id, k) > 20 })
		until(t, "bob receives alice's "+k, func() bool { return bb.c.Received(a.id, k) > 20 })
	}
	refused(se[eve], http.StatusNotFound) // not a member
	refused("not-a-session", http.StatusUnauthorized)
	a.send(map[string]string{"type": "leave"})
	bb.send(map[string]string{"type": "leave"})
	until(t, "the call ends", func() bool {
		evs := b.callEvents(t, callID)
		e, ok := evs[len(evs)-1].(call.Ended)
		return ok && e.Reason == call.EndAllLeft
	})
	evs := b.callEvents(t, callID)
	if st, ok := evs[0].(call.Started); !ok || st.NetworkID != nid {
		t.Fatalf("first event: %+v", evs[0])
	}

	// Video off, TCP forced: audio only, over TCP.
	b.wickrGroup(t, nid, gid, `{"calling":{"canStart11Call":true,"canVideoCall":false,"forceTcpCall":true}}`)
	tcp := sfuclient.Options{TCPOnly: true}
	a = b.joinVia(t, "", dial(s[alice]), tcp)
	bb = b.joinVia(t, "", dial(s[bob]), tcp)
	if a.first.Video == nil || *a.first.Video {
		t.Fatalf("joined without video: %+v", a.first)
	}
	until(t, "audio both ways over TCP", func() bool { return a.c.Received(bb.id, "audio") > 20 && bb.c.Received(a.id, "audio") > 20 })
	until(t, "video refused", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		for _, e := range a.errs {
			if e.Code == "MediaRefused" && strings.Contains(e.Message, "video") {
				return true
			}
		}
		return false
	})
	if n := bb.c.Received(a.id, "video"); n != 0 {
		t.Fatalf("bob received %d packets of alice's forbidden video", n)
	}
	a.send(map[string]string{"type": "leave"})
	bb.send(map[string]string{"type": "leave"})
	<-a.bye
	<-bb.bye

	// Audio calls off: no call starts.
	b.wickrGroup(t, nid, gid, `{"calling":{"canStart11Call":false,"canVideoCall":false,"forceTcpCall":false}}`)
	refused(s[alice], http.StatusForbidden)

	// A stop of Belfry ends the live call: its participants leave as ServiceRestart.
	b.wickrGroup(t, nid, gid, `{"calling":{"canStart11Call":true,"canVideoCall":true,"forceTcpCall":false}}`)
	a = b.joinVia(t, "", dial(s[alice]))
	if err := b.m.Close(); err != nil {
		t.Fatal(err)
	}
	if r := <-a.bye; r != call.LeftServiceRestart {
		t.Fatalf("bye: %q", r)
	}
	m := NewMain(cfg)
	m.Out = io.Discard
	if err := m.Run(context.Background()); err != nil {
		_ = m.Close()
		t.Fatal(err)
	}
	defer func() { _ = m.Close() }()
	evs = (&running{m: m, url: "http://" + m.HTTPAddr()}).callEvents(t, a.first.CallID)
	if e, ok := evs[len(evs)-1].(call.Ended); !ok || e.Reason != call.EndServiceRestart {
		t.Fatalf("after a stop: %+v", evs)
	}
}
