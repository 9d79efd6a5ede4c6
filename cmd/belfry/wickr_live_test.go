package main

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/belfry/belfry/api/livehub"
	"github.com/belfry/belfry/api/wickr/messaging"
)

// wickrStream is a real WebSocket client of GET /client/v1/wickr/stream.
type wickrStream struct {
	t    *testing.T
	ws   *websocket.Conn
	last string // the Cursor of the last feed frame read
}

func (r *running) dialWickrStream(t *testing.T, token, cursor string) *wickrStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u := "ws" + strings.TrimPrefix(r.url, "http") + "/client/v1/wickr/stream"
	if cursor != "" {
		u += "?cursor=" + cursor
	}
	ws, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	if err != nil {
		t.Fatalf("dial %s: %v (%v)", u, err, resp)
	}
	ws.SetReadLimit(1 << 20)
	t.Cleanup(func() { _ = ws.CloseNow() })
	return &wickrStream{t: t, ws: ws, last: cursor}
}

// next reads one frame (at most 10 s), checks that its cursor moves forward, and remembers it.
func (s *wickrStream) next() messaging.StreamFrame {
	s.t.Helper()
	f, data := readFrame[messaging.StreamFrame](s.t, s.ws)
	if f.Cursor != "" && f.Type != "Ready" {
		if s.last != "" && cursorNum(s.t, f.Cursor) <= cursorNum(s.t, s.last) {
			s.t.Fatalf("frame %s at or below the last cursor %s: delivered twice", data, s.last)
		}
		s.last = f.Cursor
	}
	return f
}

func cursorNum(t *testing.T, c string) int64 {
	n, err := strconv.ParseInt(c, 10, 64)
	if err != nil {
		t.Fatalf("cursor %q: %v", c, err)
	}
	return n
}

func (s *wickrStream) expect(typ string) messaging.StreamFrame {
	s.t.Helper()
	f := s.next()
	if f.Type != typ {
		s.t.Fatalf("want a %s frame, got %+v", typ, f)
	}
	return f
}

// until reads frames up to the first of type typ and returns the frames before it.
func (s *wickrStream) until(typ string) []messaging.StreamFrame {
	s.t.Helper()
	var out []messaging.StreamFrame
	for f := s.next(); f.Type != typ; f = s.next() {
		out = append(out, f)
	}
	return out
}

// untilFrame reads frames up to the first of type typ and returns it.
func (s *wickrStream) untilFrame(typ string) messaging.StreamFrame {
	s.t.Helper()
	for {
		if f := s.next(); f.Type == typ {
			return f
		}
	}
}

func contents(fs []messaging.StreamFrame) []string {
	var out []string
	for _, f := range fs {
		if f.Type == "MessagePosted" {
			out = append(out, f.Message.Content)
		} else {
			out = append(out, f.Type)
		}
	}
	return out
}

// TestWickrDeliveredLive connects real WebSocket clients to a running Belfry as Wickr users' devices:
// messages arrive live on every member's device and no one else's; expiry and burn-on-read at the
// injected clock destroy messages (a MessageDestroyed frame), and an expired or burnt message is never
// delivered, not even to a device that resumes from a cursor before it; a resumed device gets what it
// missed once; read receipts reach the sender as the network setting says; hostile frames close.
func TestWickrDeliveredLive(t *testing.T) {
	t.Parallel()
	outbox := t.TempDir()
	clk := &clock{t: time.Now()}
	b := startBelfryWith(t, func(m *Main) { m.cfg.MailDir = outbox; m.Now = clk.Now; m.SweepEvery = 50 * time.Millisecond })
	const alice, carol, dave = "alice@live.example", "carol@live.example", "dave@live.example"
	nid, gid, s := wickrMsgUsers(t, b, outbox, alice, carol, dave)
	b.wickrGroup(t, nid, gid, `{"maxTtl":3600,"maxBor":60}`)
	call := func(method, path, session, body string) (int, map[string]any) {
		return b.wickrClient(t, method, "/client/v1/wickr/conversations"+path, session, body)
	}
	userOf := func(session string) string {
		_, out := b.wickrClient(t, "GET", "/client/v1/wickr/me", session, "")
		return str(out["User"].(map[string]any)["UserId"])
	}
	post := func(session, conv, body string) string {
		t.Helper()
		st, out := call("POST", "/"+conv+"/messages", session, body)
		if st != 201 {
			t.Fatalf("post %s: %d %v", body, st, out)
		}
		return str(out["Message"].(map[string]any)["MessageId"])
	}

	aWS, cWS, dWS := b.dialWickrStream(t, s[alice], ""), b.dialWickrStream(t, s[carol], ""), b.dialWickrStream(t, s[dave], "")
	for _, w := range []*wickrStream{aWS, cWS, dWS} {
		w.expect("Ready")
	}
	st, out := call("POST", "", s[alice], `{"Kind":"DM","Members":[{"NetworkId":"`+nid+`","UserId":"`+userOf(s[carol])+`"}]}`)
	if st != 201 {
		t.Fatalf("create DM: %d %v", st, out)
	}
	dm := str(out["Conversation"].(map[string]any)["ConversationId"])
	for _, w := range []*wickrStream{aWS, cWS} {
		if f := w.expect("ConversationCreated"); f.ConversationId != dm || len(f.Members) != 2 {
			t.Fatalf("created: %+v", f)
		}
	}
	post(s[alice], dm, `{"Content":"hello carol"}`)
	for _, w := range []*wickrStream{aWS, cWS} {
		if f := w.expect("MessagePosted"); f.Message.Content != "hello carol" || f.Actor["UserId"] != userOf(s[alice]) {
			t.Fatalf("posted: %+v", f)
		}
	}

	// Carol's device goes away; what it misses meanwhile — a message, and one that expires before
	// it comes back — is replayed on resume: the first once, the second never, its destruction once.
	cursor := cWS.last
	_ = cWS.ws.Close(websocket.StatusNormalClosure, "bye")
	post(s[alice], dm, `{"Content":"while you were away"}`)
	post(s[alice], dm, `{"Content":"sentinel-expiring-live","Ttl":30}`)
	if got := contents(aWS.until("MessagePosted")); len(got) != 0 {
		t.Fatalf("alice, before her own post: %v", got)
	}
	if f := aWS.expect("MessagePosted"); f.Message.Content != "sentinel-expiring-live" || f.Message.Ttl != 30 || f.Message.ExpiresAt == "" {
		t.Fatalf("alice's expiring post, live before it expires: %+v", f)
	}
	clk.Add(31 * time.Second)
	if f := aWS.expect("MessageDestroyed"); f.Reason == "" || f.MessageId == "" {
		t.Fatalf("destroyed: %+v", f)
	}
	cWS = b.dialWickrStream(t, s[carol], cursor)
	if got := contents(cWS.until("Ready")); strings.Join(got, "|") != "while you were away|MessageDestroyed" {
		t.Fatalf("carol's replay: %v", got)
	}

	// Burn-on-read: the receipt reaches alice (read receipts enabled on the network); once burnt, a
	// device resuming from before the post never gets it.
	if st, out := b.wickrAdmin(t, "PATCH", "/networks/"+nid+"/settings", `{"settings":{"readReceiptConfig":{"status":"ENABLED"}}}`); st != 200 {
		t.Fatalf("UpdateNetworkSettings: %d %v", st, out)
	}
	before := cWS.last
	mid := post(s[alice], dm, `{"Content":"sentinel-burning-live","Bor":10}`)
	aWS.expect("MessagePosted")
	if f := cWS.expect("MessagePosted"); f.Message.Content != "sentinel-burning-live" || f.Message.Bor != 10 {
		t.Fatalf("burning post: %+v", f)
	}
	if st, _ := call("POST", "/"+dm+"/read", s[carol], `{"MessageIds":["`+mid+`"]}`); st != 204 {
		t.Fatal(st)
	}
	for _, w := range []*wickrStream{aWS, cWS} {
		if f := w.expect("ReadReceipt"); f.MessageId != mid || f.Actor["UserId"] != userOf(s[carol]) {
			t.Fatalf("receipt: %+v", f)
		}
	}
	clk.Add(11 * time.Second)
	for _, w := range []*wickrStream{aWS, cWS} {
		if f := w.expect("MessageDestroyed"); f.MessageId != mid {
			t.Fatalf("burnt: %+v", f)
		}
	}
	late := b.dialWickrStream(t, s[carol], before)
	if got := contents(late.until("Ready")); strings.Join(got, "|") != "ReadReceipt|MessageDestroyed" {
		t.Fatalf("a device resuming after the burn: %v", got)
	}

	// Dave is in none of this: the first frame he gets is of the group he is added to.
	st, out = call("POST", "", s[alice], `{"Kind":"GROUP","Title":"Team","Members":[{"NetworkId":"`+nid+`","UserId":"`+userOf(s[dave])+`"}]}`)
	if st != 201 {
		t.Fatalf("create group: %d %v", st, out)
	}
	if f := dWS.next(); f.Type != "ConversationCreated" || f.ConversationId == dm {
		t.Fatalf("dave's first frame: %+v", f)
	}

	// Hostile input: a bad cursor is refused before the upgrade; a frame other than a Ping closes.
	if st, body := b.rawClientCall(t, "GET", "/client/v1/wickr/stream?cursor=x", s[dave], nil); st != 400 || !strings.Contains(body, "cursor") {
		t.Fatalf("bad cursor: %d %s", st, body)
	}
	if st, _ := b.rawClientCall(t, "GET", "/client/v1/wickr/stream", "not-a-session", nil); st != 401 {
		t.Fatalf("no session: %d", st)
	}
	ctx := context.Background()
	_ = dWS.ws.Write(ctx, websocket.MessageText, []byte(`{"Type":"Post"}`))
	for {
		if _, _, err := dWS.ws.Read(ctx); err != nil {
			if websocket.CloseStatus(err) != livehub.CloseMalformed {
				t.Fatalf("dave's stream ended with %v, want %d", err, livehub.CloseMalformed)
			}
			break
		}
	}
}
