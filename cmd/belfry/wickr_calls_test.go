package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/coder/websocket"

	"github.com/belfry/belfry/api/mediasignal"
	"github.com/belfry/belfry/domain/wickr/call"
	"github.com/belfry/belfry/domain/wickr/conversation"
	"github.com/belfry/belfry/infra/eventlog"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
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
	t.Parallel()
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
		m.SignalRecheck = 100 * time.Millisecond
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

	// Bob's device rings: the stream announces the call, then its end.
	ring := b.dialWickrStream(t, s[bob], "")
	ring.expect("Ready")

	// A 1:1 call with video: each receives the other's audio and video.
	a := b.joinVia(t, "", dial(s[alice]))
	callID := a.first.CallID
	if f := ring.untilFrame("CallStarted"); f.CallId != callID || "conversations/"+f.ConversationId+"/call" != dm || len(f.Actor) == 0 || f.Cursor == "" {
		t.Fatalf("bob's device is rung with %+v", f)
	}
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
	if f := ring.untilFrame("CallEnded"); f.CallId != callID || f.Reason != call.EndAllLeft {
		t.Fatalf("the ringing stops with %+v", f)
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

	// A participant whose session ends (signed out) is taken out of the call; the other stays.
	a = b.joinVia(t, "", dial(s[alice]))
	bb = b.joinVia(t, "", dial(s[bob]))
	if st, out := b.wickrClient(t, "DELETE", "/client/v1/wickr/sessions/current", s[bob], ""); st != http.StatusNoContent {
		t.Fatalf("sign out: %d %v", st, out)
	}
	select {
	case r := <-bb.bye:
		if r != call.LeftDisconnected {
			t.Fatalf("the signed-out participant's bye: %q", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the signed-out participant is still in the call")
	}
	if len(a.bye) != 0 {
		t.Fatal("the other participant was taken out too")
	}
	a.send(map[string]string{"type": "leave"})
	<-a.bye

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

// TestWickrCallsAfterACrash: a conference call a crashed run left live (two participants joined, no
// one left, no end: what a kill -9 leaves in the log, its last alive mark 09:40) is ended by the
// next start's sweep as ServiceRestart at that mark, not at the restart (12:00); a call of the new
// run is left alone, and the run marks itself alive for the next start; a second sweep (a racing
// start) changes nothing; the network's analytics count both calls (one 1:1) and the crashed call's
// 30 minutes.
func TestWickrCallsAfterACrash(t *testing.T) {
	t.Parallel()
	restart := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	clk := &clock{t: restart}
	mark := time.Date(2026, 3, 4, 9, 40, 0, 0, time.UTC)
	b := startBelfryWith(t, func(m *Main) {
		m.Now, m.SweepEvery = clk.Now, 50*time.Millisecond
		if err := markAlive(m.cfg.DataDir, mark); err != nil { // the crashed run's last mark
			t.Fatal(err)
		}
	})
	ctx := context.Background()
	n, err := b.m.wickr.networks.CreateNetwork(ctx, b.awsAcct, "us-east-1", wickrNetworkInput("Crash"))
	if err != nil {
		t.Fatal(err)
	}
	client, err := eventstore.Connect(b.m.EmbeddedLogURL())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	alice, bob := conversation.Participant{NetworkID: n.ID, UserID: "1001"}, conversation.Participant{NetworkID: n.ID, UserID: "1002"}
	emit := func(id string, evs ...call.Event) {
		t.Helper()
		var data []esdb.EventData
		for _, e := range evs {
			d, _ := json.Marshal(e)
			data = append(data, esdb.EventData{EventType: e.EventType(), ContentType: esdb.ContentTypeJson, Data: d})
		}
		if _, err := client.AppendToStream(ctx, call.StreamName(id), esdb.AppendToStreamOptions{}, data...); err != nil {
			t.Fatal(err)
		}
	}
	at := func(h, m int) time.Time { return time.Date(2026, 3, 4, h, m, 0, 0, time.UTC) }
	// A 1:1 call of this run (started after the restart), then the crashed run's conference call.
	emit("this-run", call.Started{CallID: "this-run", ConversationID: "dm", ConversationKind: conversation.KindDirect, NetworkID: n.ID, By: alice, At: at(12, 1)},
		call.ParticipantJoined{ParticipantID: "p1", Member: alice, Grant: call.Grant{Audio: true}, At: at(12, 1)})
	emit("crashed", call.Started{CallID: "crashed", ConversationID: "room", ConversationKind: conversation.KindRoom, NetworkID: n.ID, By: alice, At: at(9, 10)},
		call.ParticipantJoined{ParticipantID: "pa", Member: alice, Grant: call.Grant{Audio: true}, At: at(9, 10)},
		call.ParticipantJoined{ParticipantID: "pb", Member: bob, Grant: call.Grant{Audio: true}, At: at(9, 20)})

	until(t, "the sweep ends the crashed call", func() bool {
		evs := b.callEvents(t, "crashed")
		_, ok := evs[len(evs)-1].(call.Ended)
		return ok
	})
	evs := b.callEvents(t, "crashed")
	if len(evs) != 6 {
		t.Fatalf("the crashed call: %+v", evs)
	}
	for _, e := range evs[3:5] {
		if l, ok := e.(call.ParticipantLeft); !ok || l.Reason != call.LeftServiceRestart || !l.At.Equal(mark) {
			t.Fatalf("left: %+v", e)
		}
	}
	if e := evs[5].(call.Ended); e.Reason != call.EndServiceRestart || !e.At.Equal(mark) {
		t.Fatalf("ended: %+v, want ServiceRestart at %v", e, mark)
	}
	if got, err := b.m.wickr.calls.EndInterrupted(ctx, restart, mark); err != nil || got != 0 || len(b.callEvents(t, "crashed")) != 6 {
		t.Fatalf("a second sweep: %d %v", got, err)
	}
	if evs := b.callEvents(t, "this-run"); len(evs) != 2 {
		t.Fatalf("the call of this run: %+v", evs)
	}
	if got := lastAlive(b.m.cfg.DataDir); !got.Equal(restart) { // this run's own mark, for the next start
		t.Fatalf("alive mark %v, want %v", got, restart)
	}

	type callFigures struct {
		Start                                            string
		Calls, DirectCalls, ConferenceCalls, CallMinutes int
	}
	until(t, "the analytics count the calls", func() bool {
		resp := b.signedRaw(t, "GET", "/belfry/v1/wickr/networks/"+n.ID+"/analytics?from=2026-03-04&to=2026-03-04", "", "belfry")
		defer resp.Body.Close()
		var rep struct{ Points []callFigures }
		if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&rep) != nil || len(rep.Points) != 1 {
			return false
		}
		return rep.Points[0] == callFigures{Start: "2026-03-04", Calls: 2, DirectCalls: 1, ConferenceCalls: 1, CallMinutes: 30}
	})
}

// TestWickrCallKill9: two users in a Wickr call on a `belfry serve` process killed with SIGKILL (no
// close path runs: the call stays live in the log); the restarted server ends it at once as
// ServiceRestart — both participants out — at the killed run's last alive mark or the last join if
// later, never at the restart.
func TestWickrCallKill9(t *testing.T) {
	t.Parallel()
	dbURL, dataDir := pgtest.NewDatabase(t), t.TempDir()
	keys := make(chan [2]string, 1)
	srv := startChild(t, dbURL, dataDir, "first.log", keys)
	key := <-keys
	b := &running{url: srv.url, keyID: key[0], secret: key[1]}
	const alice, bob = "alice@kill.example", "bob@kill.example"
	nid, gid, s := wickrMsgUsers(t, b, filepath.Join(dataDir, "outbox"), alice, bob)
	b.wickrGroup(t, nid, gid, `{"calling":{"canStart11Call":true,"canVideoCall":true,"forceTcpCall":false}}`)
	_, me := b.wickrClient(t, "GET", "/client/v1/wickr/me", s[bob], "")
	st, out := b.wickrClient(t, "POST", "/client/v1/wickr/conversations", s[alice],
		`{"Kind":"DM","Members":[{"NetworkId":"`+nid+`","UserId":"`+str(me["User"].(map[string]any)["UserId"])+`"}]}`)
	if st != 201 {
		t.Fatalf("DM: %d %v", st, out)
	}
	dm := "conversations/" + str(out["Conversation"].(map[string]any)["ConversationId"]) + "/call"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var callID string
	for _, who := range []string{alice, bob} {
		ws, resp, err := b.dialWickrCall(ctx, dm, s[who])
		if err != nil {
			t.Fatalf("dial: %v %v", resp, err)
		}
		defer ws.CloseNow()
		if first := readSignal(t, ctx, ws); first.CallID == "" || (callID != "" && first.CallID != callID) {
			t.Fatalf("joined: %+v", first)
		} else {
			callID = first.CallID
		}
	}
	_ = srv.cmd.Process.Kill()
	<-srv.done
	mark := lastAlive(dataDir)
	if mark.IsZero() {
		t.Fatal("the killed run left no alive mark")
	}
	restarted := time.Now()
	srv2 := startChild(t, dbURL, dataDir, "second.log", nil)
	url, err := eventlog.ClientURL(dataDir, srv2.logAddr, "")
	if err != nil {
		t.Fatal(err)
	}
	client, err := eventstore.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	var evs []call.Event
	until(t, "the restarted server ends the call", func() bool {
		evs = readCall(t, client, callID)
		_, ok := evs[len(evs)-1].(call.Ended)
		return ok
	})
	var lastJoin time.Time
	left := 0
	for _, e := range evs {
		switch e := e.(type) {
		case call.ParticipantJoined:
			lastJoin = e.At
		case call.ParticipantLeft:
			if e.Reason == call.LeftServiceRestart {
				left++
			}
		}
	}
	want := mark
	if lastJoin.After(want) {
		want = lastJoin
	}
	if e := evs[len(evs)-1].(call.Ended); left != 2 || e.Reason != call.EndServiceRestart || !e.At.Equal(want) || !e.At.Before(restarted) {
		t.Fatalf("after kill -9: %+v, want both out and the end ServiceRestart at %v (mark %v)", evs, want, mark)
	}
}

// readCall reads a call's stream through EventStore-Client-Go.
func readCall(t *testing.T, client *esdb.Client, id string) []call.Event {
	t.Helper()
	return readStreamEvents(t, client, call.StreamName(id), call.Decode)
}
