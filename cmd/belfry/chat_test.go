package main

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/google/uuid"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/coder/websocket"

	"github.com/belfry/belfry/api/chime/live"
	"github.com/belfry/belfry/infra/bench/chatbench"
)

// stream is a real WebSocket client of GET /client/v1/stream.
type stream struct {
	t    *testing.T
	ws   *websocket.Conn
	last string // the Cursor of the last feed frame read
}

// dialStream connects with a session token and an optional cursor; rcvbuf > 0 shrinks the client's
// socket receive buffer (a reader that stops reading then backs up quickly).
func (r *running) dialStream(t *testing.T, token, cursor string, rcvbuf int) *stream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u := "ws" + strings.TrimPrefix(r.url, "http") + "/client/v1/stream"
	if cursor != "" {
		u += "?cursor=" + cursor
	}
	dialer := &net.Dialer{}
	if rcvbuf > 0 {
		dialer.Control = func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf) })
		}
	}
	hc := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
	ws, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: hc, HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	if err != nil {
		t.Fatalf("dial %s: %v (%v)", u, err, resp)
	}
	ws.SetReadLimit(1 << 20)
	s := &stream{t: t, ws: ws, last: cursor}
	t.Cleanup(func() { _ = ws.CloseNow() })
	return s
}

// next reads one frame (at most 10 s) and remembers its cursor.
func (s *stream) next() live.Frame {
	s.t.Helper()
	f, _ := readFrame[live.Frame](s.t, s.ws)
	if f.Cursor != "" && f.Type != "Ready" {
		s.last = f.Cursor
	}
	return f
}

// until reads frames up to the first of type typ and returns the frames before it.
func (s *stream) until(typ string) []live.Frame {
	s.t.Helper()
	var out []live.Frame
	for {
		f := s.next()
		if f.Type == typ {
			return out
		}
		out = append(out, f)
	}
}

func (s *stream) expect(typ string) live.Frame {
	s.t.Helper()
	f := s.next()
	if f.Type != typ {
		s.t.Fatalf("want a %s frame, got %+v", typ, f)
	}
	return f
}

// rawClientCall posts a raw body (for hostile input).
func (r *running) rawClientCall(t *testing.T, method, path, token string, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, r.url+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestConversationsDeliveredLive(t *testing.T) {
	t.Parallel()
	outbox := t.TempDir()
	b := startBelfryWith(t, func(m *Main) { m.cfg.MailDir = outbox; m.ChatRecheck = 100 * time.Millisecond })
	ctx := context.Background()
	a, _ := b.client.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Talkative")})
	acct := aws.ToString(a.Account.AccountId)
	alice, aliceTok := b.registeredUser(t, outbox, acct, "alice@talk.example")
	bob, bobTok := b.registeredUser(t, outbox, acct, "bob@talk.example")
	_, carolTok := b.registeredUser(t, outbox, acct, "carol@talk.example")

	aliceWS, bobWS, carolWS := b.dialStream(t, aliceTok, "", 0), b.dialStream(t, bobTok, "", 0), b.dialStream(t, carolTok, "", 0)
	for _, s := range []*stream{aliceWS, bobWS, carolWS} {
		s.expect("Ready")
	}

	// A 1:1 conversation is one per pair, whoever starts it.
	st, out := b.clientCall(t, "POST", "/client/v1/conversations", aliceTok, map[string]any{"MemberIds": []string{bob}})
	if st != 201 || out["Conversation"].(map[string]any)["Type"] != "Direct" {
		t.Fatalf("create: %d %v", st, out)
	}
	conv := out["Conversation"].(map[string]any)["ConversationId"].(string)
	if st, out := b.clientCall(t, "POST", "/client/v1/conversations", bobTok, map[string]any{"MemberIds": []string{alice}}); st != 200 ||
		out["Conversation"].(map[string]any)["ConversationId"] != conv {
		t.Fatalf("the pair's conversation again: %d %v", st, out)
	}
	if f := bobWS.expect("ConversationCreated"); f.ConversationId != conv || f.ActorId != alice {
		t.Fatalf("bob's frame: %+v", f)
	}
	aliceWS.expect("ConversationCreated")

	// Alice posts; Bob receives it live, with its text.
	msgs := "/client/v1/conversations/" + conv + "/messages"
	st, out = b.clientCall(t, "POST", msgs, aliceTok, map[string]string{"Content": "hi bob"})
	if st != 201 {
		t.Fatalf("post: %d %v", st, out)
	}
	first := out["Message"].(map[string]any)["MessageId"].(string)
	if f := bobWS.expect("MessagePosted"); f.Message == nil || f.Message.Content != "hi bob" || f.Message.MessageId != first || f.Message.SenderId != alice {
		t.Fatalf("bob got %+v", f)
	}
	aliceWS.expect("MessagePosted")

	// Carol is not a member: the conversation does not exist for her, and she hears nothing of it.
	// Neither her posts there nor to a made-up conversation create a key (a message key, a day key,
	// a scope's key-encryption key): nothing is sealed for a non-member.
	pool := pgxPool(t, b)
	keyRows := func() (n int64) {
		t.Helper()
		if err := pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM keys.message_keys) + (SELECT count(*) FROM keys.data_keys)
			+ (SELECT count(*) FROM keys.scopes) + (SELECT count(*) FROM keys.keks)`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := keyRows()
	madeUp := "/client/v1/conversations/" + uuid.NewString() + "/messages"
	for _, c := range []struct{ method, path string }{{"POST", msgs}, {"GET", msgs}, {"GET", "/client/v1/conversations/" + conv},
		{"POST", madeUp}, {"PUT", msgs + "/" + first}} {
		if st, out := b.clientCall(t, c.method, c.path, carolTok, map[string]string{"Content": "let me in"}); st != 404 {
			t.Fatalf("carol %s %s: %d %v", c.method, c.path, st, out)
		}
	}
	if after := keyRows(); after != before {
		t.Fatalf("a non-member's posts created %d keys", after-before)
	}

	// Bob goes away; meanwhile Alice posts three messages and edits one. Bob comes back with his
	// cursor and gets exactly those four changes, then Ready.
	cursor := bobWS.last
	_ = bobWS.ws.Close(websocket.StatusNormalClosure, "bye")
	var posted []string
	for _, text := range []string{"one", "two", "three"} {
		_, out := b.clientCall(t, "POST", msgs, aliceTok, map[string]string{"Content": text})
		posted = append(posted, out["Message"].(map[string]any)["MessageId"].(string))
	}
	if st, out := b.clientCall(t, "PUT", msgs+"/"+posted[1], aliceTok, map[string]string{"Content": "two (edited)"}); st != 200 {
		t.Fatalf("edit: %d %v", st, out)
	}
	bobWS = b.dialStream(t, bobTok, cursor, 0)
	missed := bobWS.until("Ready")
	if len(missed) != 4 {
		t.Fatalf("bob missed %d frames, want 4: %+v", len(missed), missed)
	}
	for i, want := range []string{"one", "two", "three"} {
		if f := missed[i]; f.Type != "MessagePosted" || f.Message.MessageId != posted[i] || f.Message.Content != want {
			t.Fatalf("replayed frame %d: %+v", i, f)
		}
	}
	if f := missed[3]; f.Type != "MessageEdited" || f.Message.MessageId != posted[1] || f.Message.Content != "two (edited)" {
		t.Fatalf("replayed edit: %+v", f)
	}
	// The same cursor again gives the same four, and the last frame's cursor gives none.
	again := b.dialStream(t, bobTok, cursor, 0).until("Ready")
	if len(again) != 4 {
		t.Fatalf("replayed twice: %d frames", len(again))
	}
	if none := b.dialStream(t, bobTok, bobWS.last, 0).until("Ready"); len(none) != 0 {
		t.Fatalf("from the last cursor: %+v", none)
	}

	// Users cannot delete (guide §4.9) nor edit another's message; an administrator redacts, and
	// the redaction is pushed.
	if st, out := b.clientCall(t, "DELETE", msgs+"/"+first, aliceTok, nil); st != 403 || !strings.Contains(out["Message"].(string), "redact") {
		t.Fatalf("a user deletes: %d %v", st, out)
	}
	if st, _ := b.clientCall(t, "PUT", msgs+"/"+first, bobTok, map[string]string{"Content": "mine now"}); st != 403 {
		t.Fatalf("bob edits alice's message: %d", st)
	}
	if _, err := b.client.RedactConversationMessage(ctx, &chime.RedactConversationMessageInput{AccountId: &acct, ConversationId: &conv,
		MessageId: aws.String(first)}); err != nil {
		t.Fatal(err)
	}
	if f := bobWS.expect("MessageRedacted"); f.Message.MessageId != first || !f.Message.Redacted || f.Message.Content != "" {
		t.Fatalf("redaction frame: %+v", f)
	}
	_, err := b.client.RedactConversationMessage(ctx, &chime.RedactConversationMessageInput{AccountId: &acct, ConversationId: &conv,
		MessageId: aws.String("no-such-message")})
	apiErr(t, err, "NotFoundException", 404)

	// Messages newest first, a page at a time.
	st, page := b.clientCall(t, "GET", msgs+"?max-results=2", bobTok, nil)
	list := page["Messages"].([]any)
	if st != 200 || len(list) != 2 || list[0].(map[string]any)["Content"] != "three" || list[1].(map[string]any)["Content"] != "two (edited)" || page["NextToken"] == "" {
		t.Fatalf("page 1: %d %v", st, page)
	}
	_, page = b.clientCall(t, "GET", msgs+"?max-results=2&next-token="+page["NextToken"].(string), bobTok, nil)
	list = page["Messages"].([]any)
	if len(list) != 2 || list[0].(map[string]any)["Content"] != "one" || list[1].(map[string]any)["Redacted"] != true || page["NextToken"] != "" {
		t.Fatalf("page 2: %v", page)
	}

	// Redacting an edited message shreds the keys of both versions: no live key opens either
	// ciphertext the log keeps.
	if _, err := b.client.RedactConversationMessage(ctx, &chime.RedactConversationMessageInput{AccountId: &acct, ConversationId: &conv,
		MessageId: aws.String(posted[1])}); err != nil {
		t.Fatal(err)
	}
	if f := bobWS.expect("MessageRedacted"); f.Message.MessageId != posted[1] {
		t.Fatalf("redaction frame: %+v", f)
	}
	assertVersionsShredded(t, b, conv, posted[1], 2)

	// Hostile input is refused with 400 naming the field, and nothing is stored.
	for _, body := range [][]byte{
		[]byte(`{"Content":"` + strings.Repeat("x", 4096) + `"}`),
		[]byte(`{"Content":"nul\u0000"}`),
		append(append([]byte(`{"Content":"bad `), 0xff, 0xfe), []byte(`"}`)...),
		[]byte(`{"Content":42}`),
		[]byte(`{"Content":"   "}`),
	} {
		if st, out := b.rawClientCall(t, "POST", msgs, aliceTok, body); st != 400 || !strings.Contains(strings.ToLower(out), "content") && !strings.Contains(out, "UTF-8") && !strings.Contains(out, "NUL") {
			t.Fatalf("hostile body %.40q: %d %s", body, st, out)
		}
	}
	if st, out := b.clientCall(t, "GET", msgs+"?max-results=0", aliceTok, nil); st != 400 || !strings.Contains(out["Message"].(string), "max-results") {
		t.Fatalf("max-results=0: %d %v", st, out)
	}
	if _, page := b.clientCall(t, "GET", msgs, bobTok, nil); len(page["Messages"].([]any)) != 4 {
		t.Fatalf("hostile input stored something: %v", page)
	}

	// A group conversation: membership changes reach every member.
	st, out = b.clientCall(t, "POST", "/client/v1/conversations", aliceTok, map[string]any{"MemberIds": []string{bob}, "Name": "plans"})
	if st != 201 || out["Conversation"].(map[string]any)["Type"] != "Group" {
		t.Fatalf("group: %d %v", st, out)
	}
	group := out["Conversation"].(map[string]any)["ConversationId"].(string)
	bobWS.expect("ConversationCreated")
	if st, _ := b.clientCall(t, "POST", "/client/v1/conversations/"+group+"/members", bobTok, map[string]any{"MemberIds": []string{"not-a-user"}}); st != 404 {
		t.Fatalf("an unknown member: %d", st)
	}
	carolID := b.userID(t, carolTok)
	if st, out := b.clientCall(t, "POST", "/client/v1/conversations/"+group+"/members", bobTok, map[string]any{"MemberIds": []string{carolID}}); st != 204 {
		t.Fatalf("add carol: %d %v", st, out)
	}
	if f := bobWS.expect("MemberJoined"); f.MemberId != carolID || f.ConversationId != group {
		t.Fatalf("bob sees carol join: %+v", f)
	}
	if f := carolWS.expect("MemberJoined"); f.MemberId != carolID {
		t.Fatalf("carol's first frame is her own joining (nothing of the 1:1 before): %+v", f)
	}
	if st, _ := b.clientCall(t, "DELETE", "/client/v1/conversations/"+group+"/members/"+carolID, carolTok, nil); st != 204 {
		t.Fatalf("carol leaves: %d", st)
	}
	carolWS.expect("MemberLeft")
	bobWS.expect("MemberLeft")
	b.clientCall(t, "POST", "/client/v1/conversations/"+group+"/messages", aliceTok, map[string]string{"Content": "after carol left"})
	bobWS.expect("MessagePosted")
	// What was posted after carol left is not hers: a replay from her last frame is empty.
	if after := b.dialStream(t, carolTok, carolWS.last, 0).until("Ready"); len(after) != 0 {
		t.Fatalf("carol sees the group after leaving: %+v", after)
	}
	if _, out := b.clientCall(t, "GET", "/client/v1/conversations", aliceTok, nil); len(out["Conversations"].([]any)) != 2 ||
		out["Conversations"].([]any)[0].(map[string]any)["ConversationId"] != group {
		t.Fatalf("alice's conversations, latest first: %v", out)
	}

	// Malformed client frames close the stream with a code that says why.
	pingWS := b.dialStream(t, aliceTok, "", 0)
	pingWS.expect("Ready")
	_ = pingWS.ws.Write(ctx, websocket.MessageText, []byte(`{"Type":"Ping"}`))
	pingWS.expect("Pong")
	for payload, want := range map[string]websocket.StatusCode{"text: not json": live.CloseMalformed, "binary": live.CloseUnsupported} {
		s := b.dialStream(t, aliceTok, "", 0)
		s.expect("Ready")
		typ := websocket.MessageText
		if payload == "binary" {
			typ = websocket.MessageBinary
		}
		_ = s.ws.Write(ctx, typ, []byte(payload))
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, _, err := s.ws.Read(rctx)
		cancel()
		if websocket.CloseStatus(err) != want {
			t.Fatalf("%q: closed with %v, want %d", payload, err, want)
		}
	}
	if _, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(b.url, "http")+"/client/v1/stream", nil); err == nil || resp.StatusCode != 401 {
		t.Fatalf("no session: %v", err)
	}
	for _, cursor := range []string{"abc", "-1", "999999999999"} {
		_, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(b.url, "http")+"/client/v1/stream?cursor="+cursor,
			&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + bobTok}}})
		if err == nil || resp.StatusCode != 400 {
			t.Fatalf("cursor %q: %v %v", cursor, err, resp)
		}
	}
	// LogoutUser ends the session: the stream closes with 4401.
	if _, err := b.client.LogoutUser(ctx, &chime.LogoutUserInput{AccountId: &acct, UserId: aws.String(bob)}); err != nil {
		t.Fatal(err)
	}
	for {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, _, err := bobWS.ws.Read(rctx)
		cancel()
		if err != nil {
			if websocket.CloseStatus(err) != live.CloseSessionEnded {
				t.Fatalf("after LogoutUser the stream ended with %v", err)
			}
			break
		}
	}
}

// userID answers the signed-in user's id.
func (r *running) userID(t *testing.T, token string) string {
	t.Helper()
	_, me := r.clientCall(t, "GET", "/client/v1/me", token, nil)
	return me["User"].(map[string]any)["UserId"].(string)
}

// slowClosed reads belfry_chat_slow_readers_closed_total.
func (r *running) slowClosed(t *testing.T) float64 {
	t.Helper()
	mfs, err := r.m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "belfry_chat_slow_readers_closed_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return 0
}

// TestRoomMessagesLiveAndSlowReader: room messages (posted through the rooms slice, not this one)
// reach every member's stream; a member who stops reading is closed with 4001 once its queue is
// full, while the other member keeps getting every message; reconnecting with its last cursor it
// gets exactly what it had not received.
func TestRoomMessagesLiveAndSlowReader(t *testing.T) {
	t.Parallel()
	outbox := t.TempDir()
	dnsSrv := startDNS(t)
	b := startBelfryWith(t, func(m *Main) { m.cfg.MailDir = outbox; m.cfg.DNSResolver = dnsSrv.addr; m.ChatQueue = 4 })
	ctx := context.Background()
	a, _ := b.client.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Roomy")})
	acct := aws.ToString(a.Account.AccountId)
	alice, aliceTok := b.registeredUser(t, outbox, acct, "alice@roomy.example")
	bob, bobTok := b.registeredUser(t, outbox, acct, "bob@roomy.example")
	carol, carolTok := b.registeredUser(t, outbox, acct, "carol@roomy.example")
	b.claimDomain(t, dnsSrv, acct, "roomy.example")
	r, err := b.client.CreateRoom(ctx, &chime.CreateRoomInput{AccountId: &acct, Name: aws.String("War room")})
	if err != nil {
		t.Fatal(err)
	}
	room := aws.ToString(r.Room.RoomId)
	bobWS := b.dialStream(t, bobTok, "", 0)
	bobWS.expect("Ready")
	for _, id := range []string{alice, bob, carol} {
		if _, err := b.client.CreateRoomMembership(ctx, &chime.CreateRoomMembershipInput{AccountId: &acct, RoomId: &room, MemberId: aws.String(id)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, who := range []string{bob, carol} { // bob joins (his own row), then carol joins; alice joined before him
		if f := bobWS.expect("MemberJoined"); f.MemberId != who || f.RoomId != room {
			t.Fatalf("bob sees %+v, want %s joining", f, who)
		}
	}
	carolWS := b.dialStream(t, carolTok, "", 4096)
	carolWS.expect("Ready")

	// Carol stops reading. Alice posts until carol's queue overflows; bob gets every message meanwhile.
	path := "/client/v1/rooms/" + room + "/messages"
	var posted []string
	for len(posted) < 400 && b.slowClosed(t) == 0 {
		st, out := b.clientCall(t, "POST", path, aliceTok, map[string]string{"Content": strings.Repeat("z", 3000) + " #" + time.Now().String()})
		if st != 201 {
			t.Fatalf("post: %d %v", st, out)
		}
		id := out["Message"].(map[string]any)["MessageId"].(string)
		posted = append(posted, id)
		if f := bobWS.expect("MessagePosted"); f.RoomId != room || f.Message.MessageId != id {
			t.Fatalf("bob got %+v, want message %s", f, id)
		}
	}
	if b.slowClosed(t) != 1 {
		t.Fatalf("carol was not closed after %d messages", len(posted))
	}
	// Carol reads again: what was in flight, then the close code that says to resume from a cursor.
	var got []string
	for {
		rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		_, data, err := carolWS.ws.Read(rctx)
		cancel()
		if err != nil {
			if websocket.CloseStatus(err) != live.CloseSlowReader {
				t.Fatalf("carol's stream ended with %v, want close code %d", err, live.CloseSlowReader)
			}
			break
		}
		var f live.Frame
		_ = json.Unmarshal(data, &f)
		got = append(got, f.Message.MessageId)
		carolWS.last = f.Cursor
	}
	t.Logf("carol was closed after %d messages, %d of them received before the close", len(posted), len(got))
	if len(got) >= len(posted) || len(got) > 0 && got[0] != posted[0] {
		t.Fatalf("carol received %d of %d before the close", len(got), len(posted))
	}
	rest := b.dialStream(t, carolTok, carolWS.last, 0).until("Ready")
	if len(rest)+len(got) != len(posted) {
		t.Fatalf("carol resumed with %d frames; had %d of %d", len(rest), len(got), len(posted))
	}
	for i, f := range rest {
		if f.Message.MessageId != posted[len(got)+i] {
			t.Fatalf("resumed frame %d is %s, want %s", i, f.Message.MessageId, posted[len(got)+i])
		}
	}

	// A redaction through the admin API reaches the members too.
	if _, err := b.client.RedactRoomMessage(ctx, &chime.RedactRoomMessageInput{AccountId: &acct, RoomId: &room, MessageId: aws.String(posted[0])}); err != nil {
		t.Fatal(err)
	}
	if f := bobWS.expect("MessageRedacted"); f.Message.MessageId != posted[0] || f.RoomId != room {
		t.Fatalf("redaction: %+v", f)
	}
	// Deleting the room: members hear it, and a replay from the start no longer holds its messages.
	if _, err := b.client.DeleteRoom(ctx, &chime.DeleteRoomInput{AccountId: &acct, RoomId: &room}); err != nil {
		t.Fatal(err)
	}
	bobWS.expect("RoomDeleted")
	if replay := b.dialStream(t, bobTok, "0", 0).until("Ready"); len(replay) != 1 || replay[0].Type != "RoomDeleted" {
		t.Fatalf("replay after the room's deletion: %+v", replay)
	}
}

// TestBenchChatDeliversEveryMessage runs the chat benchmark's Belfry scenario small: every message
// posted reaches every member's WebSocket (figures are not asserted).
func TestBenchChatDeliversEveryMessage(t *testing.T) {
	t.Parallel()
	b := startBelfry(t)
	ctx := context.Background()
	var trace bytes.Buffer
	o := chatbench.Options{Clients: 12, Group: 4, Rate: 20, Duration: time.Second, Warmup: 500 * time.Millisecond, Senders: 4, Trace: &trace}
	target, err := seedChat(ctx, b.m, b.m.cfg.DatabaseURL, b.keyID, b.secret, o)
	if err != nil {
		t.Fatal(err)
	}
	results, err := chatbench.RunBelfry(ctx, o, target)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 {
		t.Fatalf("want the measured phase and the warm-up: %+v", results)
	}
	for _, res := range results { // every message of each phase is delivered, and counted in its phase
		if res.Sent == 0 || res.SendErrors != 0 || res.Delivered != res.Expected || res.Expected != res.Sent*int64(o.Group) {
			t.Fatalf("result: %+v", res)
		}
	}
	// The trace holds a line per delivery and per send of the measured phase.
	counts := map[string]int64{}
	for _, line := range strings.Split(strings.TrimSpace(trace.String()), "\n") {
		kind, _, _ := strings.Cut(line, ",")
		counts[kind]++
	}
	if m := results[0]; counts["delivery"] != m.Delivered || counts["send"] != m.Sent {
		t.Fatalf("trace: %v, want %d deliveries and %d sends", counts, m.Delivered, m.Sent)
	}
}

// readFrame reads one JSON text frame of a live stream (at most 10 s) and decodes it.
func readFrame[F any](t *testing.T, ws *websocket.Conn) (F, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var f F
	_, data, err := ws.Read(ctx)
	if err != nil {
		t.Fatalf("read a frame: %v", err)
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("frame %s: %v", data, err)
	}
	return f, data
}

// TestRefusedConversationEditsSealNothing: an edit the conversation refuses — of another member's
// message, of a message that is not there, of a redacted one — seals nothing: no message key is
// created for it, as for a non-member's post.
func TestRefusedConversationEditsSealNothing(t *testing.T) {
	t.Parallel()
	outbox := t.TempDir()
	b := startBelfryWith(t, func(m *Main) { m.cfg.MailDir = outbox })
	ctx := context.Background()
	a, _ := b.client.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Editors")})
	acct := aws.ToString(a.Account.AccountId)
	_, aliceTok := b.registeredUser(t, outbox, acct, "alice@edit.example")
	bob, bobTok := b.registeredUser(t, outbox, acct, "bob@edit.example")
	st, out := b.clientCall(t, "POST", "/client/v1/conversations", aliceTok, map[string]any{"MemberIds": []string{bob}})
	if st != 201 {
		t.Fatalf("create: %d %v", st, out)
	}
	msgs := "/client/v1/conversations/" + out["Conversation"].(map[string]any)["ConversationId"].(string) + "/messages"
	var ids []string
	for _, text := range []string{"mine", "to be redacted"} {
		st, out := b.clientCall(t, "POST", msgs, aliceTok, map[string]string{"Content": text})
		if st != 201 {
			t.Fatalf("post: %d %v", st, out)
		}
		ids = append(ids, out["Message"].(map[string]any)["MessageId"].(string))
	}
	conv := strings.TrimSuffix(strings.TrimPrefix(msgs, "/client/v1/conversations/"), "/messages")
	if _, err := b.client.RedactConversationMessage(ctx, &chime.RedactConversationMessageInput{AccountId: &acct, ConversationId: &conv,
		MessageId: &ids[1]}); err != nil {
		t.Fatal(err)
	}
	pool := pgxPool(t, b)
	keyRows := func() (n int64) {
		t.Helper()
		if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM keys.message_keys) + (SELECT count(*) FROM keys.data_keys)
			+ (SELECT count(*) FROM keys.scopes) + (SELECT count(*) FROM keys.keks)`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := keyRows()
	for _, c := range []struct {
		token, id string
		want      int
	}{{bobTok, ids[0], 403}, {aliceTok, uuid.NewString(), 404}, {aliceTok, ids[1], 422}} {
		if st, out := b.clientCall(t, "PUT", msgs+"/"+c.id, c.token, map[string]string{"Content": "rewritten"}); st != c.want {
			t.Fatalf("edit %s: %d %v, want %d", c.id, st, out, c.want)
		}
	}
	if after := keyRows(); after != before {
		t.Fatalf("refused edits created %d keys", after-before)
	}
	if st, out := b.clientCall(t, "PUT", msgs+"/"+ids[0], aliceTok, map[string]string{"Content": "mine, edited"}); st != 200 {
		t.Fatalf("the sender's edit: %d %v", st, out)
	}
}
