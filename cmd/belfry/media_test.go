package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/coder/websocket"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/api/chime/media"
	"github.com/belfry/belfry/domain/chime/meeting"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/infra/sfu/sfuclient"
)

// signalMsg is a signalling message as a client sees it.
type signalMsg struct {
	Type, SDP, MeetingID, AttendeeID, Code, Message, Reason, Action, By string
	CallID, ParticipantID, Role                                         string // Wickr calls
	Video                                                               *bool
	AttendeeIDs                                                         []string
	Candidate                                                           json.RawMessage
	MessageID, UserID, Content                                          string // meeting chat
}

// dialSignal opens the meeting's signalling WebSocket the way a browser does: the session token as
// the second subprotocol.
func (r *running) dialSignal(ctx context.Context, meetingID, token string) (*websocket.Conn, *http.Response, error) {
	url := "ws" + strings.TrimPrefix(r.url, "http") + "/client/v1/meetings/" + meetingID + "/signal"
	return websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{media.Protocol, "bearer." + token}})
}

// attendee is a pion client joined to a meeting through the signalling WebSocket.
type attendee struct {
	id     string
	c      *sfuclient.Client
	ws     *websocket.Conn
	send   func(m any)
	joined time.Time
	mu     sync.Mutex
	errs   []signalMsg
	notes  []signalMsg // moderation messages
	chats  []signalMsg // meeting chat pushed
	bye    chan string
	first  signalMsg // the joined message
}

func (r *running) join(t *testing.T, meetingID, token string) *attendee {
	t.Helper()
	return r.joinVia(t, meetingID, func(ctx context.Context) (*websocket.Conn, *http.Response, error) {
		return r.dialSignal(ctx, meetingID, token)
	})
}

// joinVia joins the meeting through the WebSocket dial opens, the client shaped by opts (at most one).
func (r *running) joinVia(t *testing.T, meetingID string, dial func(context.Context) (*websocket.Conn, *http.Response, error), opts ...sfuclient.Options) *attendee {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	a := &attendee{joined: time.Now(), bye: make(chan string, 1)}
	ws, resp, err := dial(ctx)
	if err != nil {
		t.Fatalf("dial: %v %v", err, resp)
	}
	if resp.Header.Get("Sec-WebSocket-Protocol") != media.Protocol {
		t.Fatalf("subprotocol: %q", resp.Header.Get("Sec-WebSocket-Protocol"))
	}
	a.ws = ws
	var wmu sync.Mutex
	send := func(m any) {
		b, _ := json.Marshal(m)
		wmu.Lock()
		defer wmu.Unlock()
		_ = ws.Write(ctx, websocket.MessageText, b)
	}
	a.send = send
	var o sfuclient.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	a.c, err = sfuclient.NewWith(func(c []byte) { send(map[string]any{"type": "candidate", "candidate": json.RawMessage(c)}) }, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.c.Close(); _ = ws.CloseNow() })
	first := readSignal(t, ctx, ws)
	if first.Type != "joined" || first.MeetingID != meetingID || first.AttendeeID+first.ParticipantID == "" {
		t.Fatalf("first message: %+v", first)
	}
	a.id, a.first = first.AttendeeID+first.ParticipantID, first
	go a.c.Send(ctx, 10*time.Millisecond, 1000)
	go func() {
		for {
			_, b, err := ws.Read(ctx)
			if err != nil {
				return
			}
			var m signalMsg
			_ = json.Unmarshal(b, &m)
			switch m.Type {
			case "offer":
				ans, err := a.c.Answer(m.SDP)
				if err == nil {
					send(map[string]string{"type": "answer", "sdp": ans})
				}
			case "candidate":
				_ = a.c.AddCandidate(m.Candidate)
			case "error":
				a.mu.Lock()
				a.errs = append(a.errs, m)
				a.mu.Unlock()
			case "moderation":
				a.mu.Lock()
				a.notes = append(a.notes, m)
				a.mu.Unlock()
			case "chat":
				a.mu.Lock()
				a.chats = append(a.chats, m)
				a.mu.Unlock()
			case "bye":
				a.bye <- m.Reason
			}
		}
	}()
	return a
}

func readSignal(t *testing.T, ctx context.Context, ws *websocket.Conn) signalMsg {
	t.Helper()
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, b, err := ws.Read(rctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var m signalMsg
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not JSON: %s", b)
	}
	return m
}

func until(t *testing.T, what string, ok func() bool) {
	t.Helper()
	untilWithin(t, 20*time.Second, what, ok)
}

// untilWithin is until with a deadline of its own (a ramp a loaded machine slows, not a timing
// assertion).
func untilWithin(t *testing.T, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// meetingEvents reads a meeting's stream through EventStore-Client-Go: the event types in order.
func (r *running) meetingEvents(t *testing.T, id string) []meeting.Event {
	t.Helper()
	return streamEvents(t, r, meeting.StreamName(id), meeting.Decode)
}

// streamEvents reads one stream through EventStore-Client-Go and decodes its events in order.
func streamEvents[E any](t *testing.T, r *running, stream string, decode func(string, []byte) (E, error)) []E {
	t.Helper()
	client, err := eventstore.Connect(r.m.EmbeddedLogURL())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	return readStreamEvents(t, client, stream, decode)
}

// readStreamEvents reads one stream through client and decodes its events in order.
func readStreamEvents[E any](t *testing.T, client *esdb.Client, stream string, decode func(string, []byte) (E, error)) []E {
	t.Helper()
	rs, err := client.ReadStream(context.Background(), stream, esdb.ReadStreamOptions{From: esdb.Start{}}, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []E
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		e, err := decode(ev.Event.EventType, ev.Event.Data)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
}

func countEvents[T meeting.Event](evs []meeting.Event, keep func(T) bool) int {
	n := 0
	for _, e := range evs {
		if x, ok := e.(T); ok && keep(x) {
			n++
		}
	}
	return n
}

// meetingWith starts Belfry, registers alice (the organiser) and bob in one account and a stranger
// in another, and schedules alice's meeting.
func meetingWith(t *testing.T, adjust func(*Main)) (b *running, id, aliceTok, bobTok, strangerTok string) {
	t.Helper()
	outbox := t.TempDir()
	b = startBelfryWith(t, func(m *Main) {
		m.cfg.MailDir = outbox
		if adjust != nil {
			adjust(m)
		}
	})
	ctx := context.Background()
	a, _ := b.client.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Media Corp")})
	acct := aws.ToString(a.Account.AccountId)
	_, aliceTok = b.registeredUser(t, outbox, acct, "alice@media.example")
	_, bobTok = b.registeredUser(t, outbox, acct, "bob@media.example")
	o, _ := b.client.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Other Corp")})
	_, strangerTok = b.registeredUser(t, outbox, aws.ToString(o.Account.AccountId), "eve@other.example")
	st, out := b.clientCall(t, "POST", "/client/v1/meetings", aliceTok, map[string]string{"Title": "Standup", "StartsAt": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	if st != 201 {
		t.Fatalf("schedule: %d %v", st, out)
	}
	return b, out["Meeting"].(map[string]any)["MeetingId"].(string), aliceTok, bobTok, strangerTok
}

// TestMeetingMedia: two pion clients join one meeting through the signalling WebSocket and each
// receives the other's video (the packet count grows); the roster is recorded as events; refused:
// no or a bad session, a stranger, an unknown meeting, a plain GET, a malformed SDP answer (the
// session goes on); the last one out ends the meeting.
func TestMeetingMedia(t *testing.T) {
	t.Parallel()
	b, id, aliceTok, bobTok, strangerTok := meetingWith(t, func(m *Main) { m.cfg.Media.Loopback = true })
	ctx := context.Background()

	for _, tc := range []struct {
		meeting, token string
		want           int
	}{
		{id, "", 401}, {id, "not-a-session", 401}, {id, strangerTok, 404}, {"no-such-meeting", aliceTok, 404},
	} {
		_, resp, err := b.dialSignal(ctx, tc.meeting, tc.token)
		if err == nil || resp == nil || resp.StatusCode != tc.want {
			t.Fatalf("dial %s with %q: %v %v, want %d", tc.meeting, tc.token, err, resp, tc.want)
		}
	}
	if st, _ := b.clientCall(t, "GET", "/client/v1/meetings/"+id+"/signal", aliceTok, nil); st != 400 {
		t.Fatalf("a plain GET: %d", st)
	}
	badSimulcast := "ws" + strings.TrimPrefix(b.url, "http") + "/client/v1/meetings/" + id + "/signal?simulcast=yes"
	if _, resp, err := websocket.Dial(ctx, badSimulcast, &websocket.DialOptions{Subprotocols: []string{media.Protocol, "bearer." + aliceTok}}); err == nil ||
		resp == nil || resp.StatusCode != 400 {
		t.Fatalf("simulcast=yes: %v %v, want 400", err, resp)
	} else if body, _ := io.ReadAll(resp.Body); !strings.Contains(string(body), "simulcast") {
		t.Fatalf("simulcast=yes: the message does not name the parameter: %s", body)
	}

	alice := b.join(t, id, aliceTok)
	bob := b.join(t, id, bobTok)
	until(t, "video both ways", func() bool { return alice.c.Received(bob.id, "video") > 0 && bob.c.Received(alice.id, "video") > 0 })
	t.Logf("join time (WebSocket dial → first packet from the other): alice %v, bob %v",
		alice.c.FirstPacket().Sub(alice.joined).Round(time.Millisecond), bob.c.FirstPacket().Sub(bob.joined).Round(time.Millisecond))
	n := bob.c.Received(alice.id, "video")
	until(t, "the count to grow", func() bool { return bob.c.Received(alice.id, "video") > n+30 && alice.c.Received(bob.id, "audio") > 0 })
	if st, out := b.clientCall(t, "GET", "/client/v1/meetings/"+id, bobTok, nil); st != 200 || out["Meeting"].(map[string]any)["Status"] != "Started" {
		t.Fatalf("the joined meeting: %d %v", st, out)
	}

	// A malformed answer: a clear error, and the session stays.
	ws, _, err := b.dialSignal(ctx, id, bobTok)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	if m := readSignal(t, ctx, ws); m.Type != "joined" {
		t.Fatalf("joined: %+v", m)
	}
	_ = ws.Write(ctx, websocket.MessageText, []byte(`{"type":"answer","sdp":"v=0\r\nnot an SDP answer"}`))
	_ = ws.Write(ctx, websocket.MessageText, []byte(`not JSON`))
	var codes []string
	for len(codes) < 2 {
		if m := readSignal(t, ctx, ws); m.Type == "error" {
			codes = append(codes, m.Code)
			if m.Code == "InvalidSDP" && !strings.Contains(m.Message, "answer") {
				t.Fatalf("unclear error: %+v", m)
			}
		}
	}
	if codes[0] != "InvalidSDP" || codes[1] != "BadMessage" {
		t.Fatalf("errors: %v", codes)
	}
	_ = ws.Write(ctx, websocket.MessageText, []byte(`{"type":"leave"}`))
	for m := readSignal(t, ctx, ws); m.Type != "bye"; m = readSignal(t, ctx, ws) {
	}

	// Everyone leaves: the meeting ends.
	_ = alice.ws.Write(ctx, websocket.MessageText, []byte(`{"type":"leave"}`))
	if r := <-alice.bye; r != meeting.LeftHungUp {
		t.Fatalf("alice's bye: %q", r)
	}
	_ = bob.ws.Close(websocket.StatusNormalClosure, "")
	until(t, "the meeting to end", func() bool {
		_, out := b.clientCall(t, "GET", "/client/v1/meetings/"+id, aliceTok, nil)
		return out["Meeting"].(map[string]any)["Status"] == "Ended"
	})
	evs := b.meetingEvents(t, id)
	joined := countEvents(evs, func(meeting.AttendeeJoined) bool { return true })
	left := countEvents(evs, func(meeting.AttendeeLeft) bool { return true })
	videos := countEvents(evs, func(e meeting.MediaStarted) bool { return e.Kind == meeting.MediaVideo })
	ended := countEvents(evs, func(e meeting.Ended) bool { return e.Reason == meeting.EndReasonAllLeft })
	if joined != 3 || left != 3 || videos != 2 || ended != 1 {
		t.Fatalf("roster events: joined %d left %d video %d ended %d: %v", joined, left, videos, ended, evs)
	}
	if _, resp, err := b.dialSignal(ctx, id, aliceTok); err == nil || resp.StatusCode != 409 {
		t.Fatalf("joining an ended meeting: %v %v", err, resp)
	}
}

// TestMeetingAttendeeLimit: guide §18.1 — 250 attendees (25 users, 10 devices each) join one
// meeting through the signalling WebSocket; the 251st is refused before the upgrade with 400
// ResourceLimitExceeded. One user holds at most MaxAttendeesPerUser of them: its 11th connection is
// refused alike while another user still joins, and it joins again once one of its devices left.
// (The attendees never connect media nor answer the SFU's offers: they get longer than the default
// 30 s to do so, as joining 250 takes longer than that on a loaded machine; they answer the
// server's pings.)
func TestMeetingAttendeeLimit(t *testing.T) {
	t.Parallel()
	b, id, aliceTok, bobTok, _ := meetingWith(t, func(m *Main) { m.cfg.Media.ConnectWithin, m.cfg.Media.AnswerWithin = 10*time.Minute, 10*time.Minute })
	ctx := context.Background()
	perUser, fill := meeting.MaxAttendeesPerUser, meeting.MaxAttendees/meeting.MaxAttendeesPerUser
	// fill+1 users: the first fill of them fill the meeting, perUser devices each; the last is the 251st.
	users := append([]string{aliceTok, bobTok}, b.accountUsers(t, aliceTok, fill-1)...)
	start := time.Now()
	held := map[string][]*websocket.Conn{}
	dial := func(tok string) {
		t.Helper()
		ws, _, err := b.dialSignal(ctx, id, tok)
		if err != nil {
			t.Fatalf("attendee %d: %v", len(held[tok])+1, err)
		}
		t.Cleanup(func() { _ = ws.CloseNow() })
		drain(ws)
		held[tok] = append(held[tok], ws)
	}
	for range perUser {
		dial(aliceTok)
	}
	refusedNaming(t, b, id, aliceTok, fmt.Sprintf("%d attendees", perUser)) // alice's 11th device
	dial(bobTok)                                                            // while bob still joins
	_ = held[aliceTok][0].Close(websocket.StatusNormalClosure, "")
	held[aliceTok] = held[aliceTok][1:]
	until(t, "alice's device leaving", func() bool {
		return countEvents(b.meetingEvents(t, id), func(meeting.AttendeeLeft) bool { return true }) == 1
	})
	dial(aliceTok) // her place is free again

	for _, tok := range users[:fill] {
		for len(held[tok]) < perUser {
			dial(tok)
		}
	}
	t.Logf("%d attendees of %d users joined in %v", meeting.MaxAttendees, fill, time.Since(start).Round(time.Millisecond))
	refusedNaming(t, b, id, users[fill], fmt.Sprint(meeting.MaxAttendees)) // the 251st
	evs := b.meetingEvents(t, id)
	joined := countEvents(evs, func(meeting.AttendeeJoined) bool { return true })
	left := countEvents(evs, func(meeting.AttendeeLeft) bool { return true })
	if joined != meeting.MaxAttendees+1 || left != 1 {
		t.Fatalf("%d joined and %d left events, want %d and 1", joined, left, meeting.MaxAttendees+1)
	}
}

// drain reads (and drops) what the server sends on ws until it closes, so that its pings are
// answered: a signalling client that never reads answers none, and the server lets it go after 20 s
// (holding hundreds of connections takes longer than that on a loaded machine).
func drain(ws *websocket.Conn) {
	go func() {
		for {
			if _, _, err := ws.Read(context.Background()); err != nil {
				return
			}
		}
	}()
}

// refusedNaming checks that tok's connection to meeting id is refused before the upgrade with 400
// ResourceLimitExceeded, its body naming bound.
func refusedNaming(t *testing.T, b *running, id, tok, bound string) {
	t.Helper()
	_, resp, err := b.dialSignal(context.Background(), id, tok)
	if err == nil || resp == nil || resp.StatusCode != 400 {
		t.Fatalf("a connection beyond %s: %v %v, want 400", bound, err, resp)
	}
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), "ResourceLimitExceeded") || !strings.Contains(string(body), bound) {
		t.Fatalf("a connection beyond %s: the answer: %s", bound, body)
	}
}

// accountUsers makes n more users of the account of the session tok and returns a session token
// for each, cheaply: CreateUser through the SDK and a session opened straight in its table, with
// none of an invitation's mail, registration or sign-in (bcrypt) work (cmd/belfry/benchchat.go).
func (r *running) accountUsers(t *testing.T, tok string, n int) []string {
	t.Helper()
	ctx := context.Background()
	_, me := r.clientCall(t, "GET", "/client/v1/me", tok, nil)
	acct := me["User"].(map[string]any)["AccountId"].(string)
	users, err := createUsers(ctx, r.client, acct, n)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, r.m.cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	toks, err := openSessions(ctx, pool, acct, users)
	if err != nil {
		t.Fatal(err)
	}
	return toks
}

// TestMeetingsEndWhenBelfryStops: a clean stop says bye (ServiceRestart) to every attendee and
// records them leaving and the meeting ending; an attendee a crashed run left in a roster is removed
// by the next run's sweeps and its meeting ends. No meeting stays live.
func TestMeetingsEndWhenBelfryStops(t *testing.T) {
	t.Parallel()
	var cfg Config
	b, id, aliceTok, bobTok, _ := meetingWith(t, func(m *Main) {
		m.cfg.Media.Loopback = true
		cfg = m.cfg
	})
	alice := b.join(t, id, aliceTok)
	bob := b.join(t, id, bobTok)
	until(t, "video both ways", func() bool { return alice.c.Received(bob.id, "video") > 0 && bob.c.Received(alice.id, "video") > 0 })
	if err := b.m.Close(); err != nil {
		t.Fatal(err)
	}
	for _, a := range []*attendee{alice, bob} {
		select {
		case r := <-a.bye:
			if r != meeting.LeftServiceRestart {
				t.Fatalf("bye: %q", r)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no bye at the stop")
		}
	}

	m := NewMain(cfg)
	m.Out, m.SweepEvery = io.Discard, 50*time.Millisecond
	if err := m.Run(context.Background()); err != nil {
		_ = m.Close()
		t.Fatal(err)
	}
	defer func() { _ = m.Close() }()
	b2 := &running{m: m, url: "http://" + m.HTTPAddr()}
	evs := b2.meetingEvents(t, id)
	left := countEvents(evs, func(e meeting.AttendeeLeft) bool { return e.Reason == meeting.LeftServiceRestart })
	ended := countEvents(evs, func(e meeting.Ended) bool { return e.Reason == meeting.EndReasonServiceRestart })
	if left != 2 || ended != 1 {
		t.Fatalf("after a clean stop: %d left, %d ended: %v", left, ended, evs)
	}

	// A crashed run's leftover: a meeting started with an attendee who joined before this run.
	st, out := b2.clientCall(t, "POST", "/client/v1/meetings", aliceTok, map[string]string{"Title": "Crashed", "StartsAt": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	if st != 201 {
		t.Fatalf("schedule: %d %v", st, out)
	}
	crashed := out["Meeting"].(map[string]any)["MeetingId"].(string)
	if st, _ := b2.clientCall(t, "POST", "/client/v1/meetings/"+crashed+"/start", aliceTok, nil); st != 200 {
		t.Fatalf("start: %d", st)
	}
	client, err := eventstore.Connect(m.EmbeddedLogURL())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ghost, _ := json.Marshal(meeting.AttendeeJoined{AttendeeID: "ghost", UserID: "u", At: time.Now().Add(-time.Hour).UTC()})
	if _, err := client.AppendToStream(context.Background(), meeting.StreamName(crashed), esdb.AppendToStreamOptions{},
		esdb.EventData{EventType: meeting.TypeAttendeeJoined, ContentType: esdb.ContentTypeJson, Data: ghost}); err != nil {
		t.Fatal(err)
	}
	until(t, "the sweep to end the crashed meeting", func() bool {
		_, out := b2.clientCall(t, "GET", "/client/v1/meetings/"+crashed, aliceTok, nil)
		return out["Meeting"].(map[string]any)["Status"] == "Ended"
	})
	evs = b2.meetingEvents(t, crashed)
	if last, ok := evs[len(evs)-1].(meeting.Ended); !ok || last.Reason != meeting.EndReasonServiceRestart ||
		countEvents(evs, func(e meeting.AttendeeLeft) bool {
			return e.AttendeeID == "ghost" && e.Reason == meeting.LeftServiceRestart
		}) != 1 {
		t.Fatalf("the crashed meeting: %v", evs)
	}
}
