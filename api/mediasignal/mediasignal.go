// Package mediasignal is the signalling WebSocket shared by the live-media slices (Chime meetings in
// api/chime/media, Wickr calls in api/wickr/calls): the subprotocol belfry-signal-v1 with the bearer
// token as a second subprotocol, JSON messages of at most 64 KiB, the SFU's offers answered by the
// client, trickle ICE both ways, pings, and a bye with the reason when the participant is out.
//
// A slice authenticates and admits the caller, then Accepts the socket and Runs a Session over a Room
// (its side: joining the SFU, admitting media, recording the leaving, its own message types).
//
// Invariants:
//   - A session's outgoing queue is bounded (OutboxLen messages): a client that cannot keep up is
//     disconnected (ReasonDisconnected), never buffered without end.
//   - Room.Left is called exactly once per session, before the bye is sent, whatever ends it (the
//     client's leave or close, a failed ping, the SFU closing the transport, a refused join, the
//     caller's session ending).
//   - A session given a check of its caller's session (CheckSession) runs it while the participant
//     is in: once the caller's session ended (signed out, revoked) the client gets an error
//     Unauthorized, the participant is out (ReasonDisconnected) and the socket closes with
//     CloseSessionEnded. One whose check refuses the caller while its session goes on (ErrRefused: no
//     longer a member of the conversation) gets that error, and the participant is out
//     (ReasonDisconnected) with a normal close.
package mediasignal

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/domain"
)

// Protocol is the signalling subprotocol; a bearer token rides as a second one, "bearer.<token>".
const Protocol = "belfry-signal-v1"

// Bounds of one signalling session.
const (
	MaxMessage  = 64 << 10 // bytes of one message
	OutboxLen   = 256      // messages queued for a client
	writeWithin = 10 * time.Second
	pingEvery   = 20 * time.Second // a client that does not answer a ping within writeWithin is gone
)

// Reasons a session ends for on its own (the SFU's and the rooms' reasons have the same spelling).
const (
	ReasonDisconnected   = "Disconnected"
	ReasonServiceRestart = "ServiceRestart"
)

// CloseSessionEnded is the close code of a socket whose caller's session ended (signed out, revoked,
// its user suspended or removed): sign in again (api/livehub's code).
const CloseSessionEnded = 4401

// ErrSessionEnded is what a session check returns (wrapped) once the caller's session ended; any
// other error of the check is taken as passing (logged, checked again later).
var ErrSessionEnded = errors.New("mediasignal: the caller's session ended")

// ErrRefused is what a session check returns, wrapping a domain error that says why, once the
// caller's session goes on but the caller may no longer take part (no longer a member of the
// conversation): the client gets that error and the participant is out (ReasonDisconnected).
var ErrRefused = errors.New("mediasignal: the caller may no longer take part")

// ErrStopping is what a Room's Join returns (wrapped) when the media service is stopping: the
// participant is then out as ReasonServiceRestart, as those already in are, not Disconnected.
var ErrStopping = errors.New("mediasignal: the media service is stopping")

// Message is every signalling message, both ways; each slice documents the members it uses.
type Message struct {
	Type          string          `json:"type"`
	SDP           string          `json:"sdp,omitempty"`
	Candidate     json.RawMessage `json:"candidate,omitempty"`
	MeetingID     string          `json:"meetingId,omitempty"`
	CallID        string          `json:"callId,omitempty"`
	AttendeeID    string          `json:"attendeeId,omitempty"`
	ParticipantID string          `json:"participantId,omitempty"`
	Video         *bool           `json:"video,omitempty"`
	TCPOnly       bool            `json:"tcpOnly,omitempty"`
	Code          string          `json:"code,omitempty"`
	Message       string          `json:"message,omitempty"`
	Reason        string          `json:"reason,omitempty"`
	Role          string          `json:"role,omitempty"` // "viewer": a Wickr broadcast's viewer joined (api/wickr/calls)
	// Moderation (api/chime/media).
	Action      string   `json:"action,omitempty"`
	AttendeeIDs []string `json:"attendeeIds,omitempty"`
	By          string   `json:"by,omitempty"`
	// Meeting chat (api/chime/media).
	MessageID string     `json:"messageId,omitempty"`
	UserID    string     `json:"userId,omitempty"`
	Content   string     `json:"content,omitempty"`
	SentAt    *time.Time `json:"sentAt,omitempty"`
}

// Bearer is the session token of a signalling request: the Authorization header, else the
// "bearer.<token>" subprotocol; "" when there is none or it is over MaxToken bytes. It is never
// read from the query string (URLs end up in logs).
func Bearer(r *http.Request) string {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		tok = Subprotocol(r, "bearer.")
	}
	if len(tok) > MaxToken {
		return "" // no session token is that long: refused as missing, never looked up
	}
	return tok
}

// MaxToken bounds a bearer token (Belfry's session tokens are far shorter).
const MaxToken = 512

// Subprotocol is the value of the request's subprotocol with prefix ("" when none).
func Subprotocol(r *http.Request, prefix string) string {
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(h, ",") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(p), prefix); ok {
				return v
			}
		}
	}
	return ""
}

// CheckUpgrade refuses a request that is not a valid WebSocket handshake (400): a GET over HTTP/1.1
// with Connection: Upgrade, Upgrade: websocket, Sec-WebSocket-Version 13 and one Sec-WebSocket-Key
// of 16 bytes in base64. It checks all that Accept does of the request, so that a slice that admits
// the caller between the two (recording a join, starting a meeting or a call) never admits one
// whose upgrade then fails.
func CheckUpgrade(r *http.Request) error {
	if !headerHas(r.Header, "Upgrade", "websocket") || !headerHas(r.Header, "Connection", "upgrade") {
		return awsproto.BadRequest("this is a WebSocket endpoint: send an Upgrade: websocket request with the subprotocol " + Protocol)
	}
	if r.Method != http.MethodGet || !r.ProtoAtLeast(1, 1) {
		return awsproto.BadRequest("a WebSocket handshake is a GET over HTTP/1.1 or later")
	}
	if v := r.Header.Get("Sec-WebSocket-Version"); v != "13" {
		return awsproto.BadRequest("Sec-WebSocket-Version must be 13, got " + strconv.Quote(v))
	}
	keys := r.Header.Values("Sec-WebSocket-Key")
	if len(keys) != 1 {
		return awsproto.BadRequest("a WebSocket handshake carries exactly one Sec-WebSocket-Key")
	}
	if k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(keys[0])); err != nil || len(k) != 16 {
		return awsproto.BadRequest("Sec-WebSocket-Key must be 16 bytes in base64")
	}
	return nil
}

// headerHas says whether one of the comma-separated tokens of header name is token (any case).
func headerHas(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// Accept upgrades the request to a signalling WebSocket. No origin check: the session token is not
// ambient (no cookie), so another site's page cannot use the caller's session.
func Accept(w http.ResponseWriter, r *http.Request) (*websocket.Conn, error) {
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{Protocol}, InsecureSkipVerify: true})
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(MaxMessage)
	return ws, nil
}

// Participant is one participant's handle in the SFU.
type Participant interface {
	Answer(sdp string) error
	AddCandidate(candidateJSON []byte) error
	Leave()
	// Remove closes the participant's transport for reason (Peer.Closed(reason) follows).
	Remove(reason string)
	// SetAudioMuted stops or resumes forwarding the participant's audio.
	SetAudioMuted(muted bool)
}

// Peer is what the SFU calls back (the infra/sfu Peer contract); a Session implements it.
type Peer interface {
	Offer(sdp string)
	Candidate(candidateJSON []byte)
	MediaStarted(kind string) error
	MediaStopped(kind string)
	Closed(reason string)
}

// Room is the slice's side of one session.
type Room interface {
	// Join takes the session's participant into the SFU.
	Join(peer Peer) (Participant, error)
	// MediaStarted records (or refuses, with an error) a kind of media the participant publishes.
	MediaStarted(kind string) error
	// MediaStopped records that a kind of media stopped.
	MediaStopped(kind string)
	// Left records that the participant is out for reason; called once.
	Left(reason string)
	// Handle handles a message of the slice's own types; false: an unknown type.
	Handle(s *Session, m Message) bool
	// Types lists the message types the client may send, for the error about an unknown one.
	Types() string
}

// Session is one participant's signalling connection; it is the SFU's Peer for that participant.
type Session struct {
	ws   *websocket.Conn
	room Room
	log  func(msg string, args ...any)

	partMu sync.Mutex
	part   Participant // nil until the SFU took the participant
	muted  bool        // audio muted (applied to part once it exists)

	out       chan Message
	done      chan struct{} // closed when the participant is out
	closeOnce sync.Once
	reason    string

	checkEvery time.Duration
	check      func(ctx context.Context) error // the caller's session (CheckSession); nil: none
	ended      atomic.Bool                     // the caller's session ended: close with CloseSessionEnded
	overflowed atomic.Bool                     // a send found the outbox full: the session is closing
}

// NewSession returns the session of an accepted socket; warn logs what goes wrong.
func NewSession(ws *websocket.Conn, room Room, warn func(msg string, args ...any)) *Session {
	return &Session{ws: ws, room: room, log: warn, out: make(chan Message, OutboxLen), done: make(chan struct{})}
}

// CheckSession makes Run check the caller's session every every while the participant is in (call
// it before Run): once check returns ErrSessionEnded the participant is out (see the package
// comment); ErrRefused takes it out too, telling the client why.
func (x *Session) CheckSession(every time.Duration, check func(ctx context.Context) error) {
	x.checkEvery, x.check = every, check
}

// Run sends hello, joins the SFU and handles the client's messages until the participant is out.
func (x *Session) Run(hello Message) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wrote := make(chan struct{})
	go func() { x.write(ctx); close(wrote) }()
	go x.ping(ctx)
	if x.check != nil && x.checkEvery > 0 {
		go x.watchSession(ctx)
	}
	x.Send(hello)
	p, err := x.room.Join(x)
	if err != nil {
		x.log("the SFU refused a participant", "err", err)
		reason := ReasonDisconnected
		if errors.Is(err, ErrStopping) {
			reason = ReasonServiceRestart
		}
		x.Fail("JoinFailed", "the media server refused the participant: "+err.Error())
		x.Closed(reason)
		<-wrote
		return
	}
	x.partMu.Lock()
	x.part = p
	p.SetAudioMuted(x.muted)
	x.partMu.Unlock()
	select {
	case <-x.done: // out before the SFU took it
		p.Remove(x.reason)
	default:
	}
	x.read(ctx, p)
	p.Leave()
	<-wrote
}

// read handles the client's messages until the socket or the participant closes.
func (x *Session) read(ctx context.Context, p Participant) {
	for {
		select {
		case <-x.done:
			return
		default:
		}
		typ, data, err := x.ws.Read(ctx)
		if err != nil {
			return
		}
		var m Message
		if typ != websocket.MessageText || json.Unmarshal(data, &m) != nil {
			x.Fail("BadMessage", "every message is a JSON object with a type")
			continue
		}
		switch m.Type {
		case "answer":
			if err := p.Answer(m.SDP); err != nil {
				x.Fail("InvalidSDP", "the answer was refused: "+err.Error())
			}
		case "candidate":
			if err := p.AddCandidate(m.Candidate); err != nil {
				x.Fail("InvalidCandidate", err.Error())
			}
		case "leave":
			return
		default:
			if !x.room.Handle(x, m) {
				x.Fail("BadMessage", "unknown message type "+strings.TrimSpace(m.Type)+"; expected answer, candidate, leave"+x.room.Types())
			}
		}
	}
}

// write sends the queued messages; after the participant is out it sends the rest and the bye, then
// closes the socket.
func (x *Session) write(ctx context.Context) {
	for {
		select {
		case m := <-x.out:
			if x.writeOne(ctx, m) != nil {
				x.Close(ReasonDisconnected)
			}
		case <-x.done:
			for len(x.out) > 0 {
				_ = x.writeOne(ctx, <-x.out)
			}
			_ = x.writeOne(ctx, Message{Type: "bye", Reason: x.reason})
			status := websocket.StatusNormalClosure
			switch {
			case x.ended.Load():
				status = CloseSessionEnded
			case x.reason == ReasonServiceRestart:
				status = websocket.StatusGoingAway
			}
			_ = x.ws.Close(status, x.reason)
			return
		}
	}
}

// ping checks that the client is still there; a silent one is disconnected.
func (x *Session) ping(ctx context.Context) {
	x.every(ctx, pingEvery, func(ctx context.Context) bool {
		if err := x.ws.Ping(ctx); err != nil {
			x.Close(ReasonDisconnected)
			return false
		}
		return true
	})
}

// every runs step every d (with a writeWithin bound) while the participant is in, until ctx ends or
// step answers false.
func (x *Session) every(ctx context.Context, d time.Duration, step func(ctx context.Context) bool) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-x.done:
			return
		case <-t.C:
		}
		sctx, cancel := context.WithTimeout(ctx, writeWithin)
		more := step(sctx)
		cancel()
		if !more {
			return
		}
	}
}

// watchSession checks the caller's session every checkEvery; one that ended, or a caller refused,
// takes the participant out.
func (x *Session) watchSession(ctx context.Context) {
	x.every(ctx, x.checkEvery, func(cctx context.Context) bool {
		err := x.check(cctx)
		switch {
		case errors.Is(err, ErrSessionEnded):
			x.ended.Store(true)
			x.Fail("Unauthorized", "your session ended (signed out or revoked): sign in again")
			x.Close(ReasonDisconnected)
			return false
		case errors.Is(err, ErrRefused):
			x.FailWith(err)
			x.Close(ReasonDisconnected)
			return false
		}
		if err != nil && ctx.Err() == nil {
			x.log("checking the caller's session failed; checking again later", "err", err)
		}
		return true
	})
}

func (x *Session) writeOne(ctx context.Context, m Message) error {
	b, _ := json.Marshal(m)
	wctx, cancel := context.WithTimeout(ctx, writeWithin)
	defer cancel()
	return x.ws.Write(wctx, websocket.MessageText, b)
}

// Send queues a message; a client whose queue is full is too slow and is disconnected.
func (x *Session) Send(m Message) {
	select {
	case <-x.done:
	case x.out <- m:
	default:
		if x.overflowed.CompareAndSwap(false, true) { // one close, however many sends find it full
			go x.Close(ReasonDisconnected)
		}
	}
}

// Fail sends an error message; the session goes on.
func (x *Session) Fail(code, msg string) { x.Send(Message{Type: "error", Code: code, Message: msg}) }

// FailWith sends err as an error message in the wire's code and text.
func (x *Session) FailWith(err error) {
	w := awsproto.ToWire(err)
	x.Fail(w.Code, w.Msg)
}

// Close takes the participant out for reason: its transport closes (the SFU calls Closed).
func (x *Session) Close(reason string) {
	x.partMu.Lock()
	p := x.part
	x.partMu.Unlock()
	if p != nil {
		p.Remove(reason)
		return
	}
	x.Closed(reason)
}

// SetMuted stops or resumes forwarding the participant's audio.
func (x *Session) SetMuted(on bool) {
	x.partMu.Lock()
	defer x.partMu.Unlock()
	x.muted = on
	if x.part != nil {
		x.part.SetAudioMuted(on)
	}
}

// Offer implements Peer.
func (x *Session) Offer(sdp string) { x.Send(Message{Type: "offer", SDP: sdp}) }

// Candidate implements Peer.
func (x *Session) Candidate(b []byte) { x.Send(Message{Type: "candidate", Candidate: b}) }

// MediaStarted implements Peer: the room records it or refuses it; a refusal is told to the client
// (ResourceLimitExceeded for a limit, MediaRefused otherwise) and the media is not forwarded.
func (x *Session) MediaStarted(kind string) error {
	err := x.room.MediaStarted(kind)
	if err != nil {
		code := "MediaRefused"
		if domain.KindOf(err) == domain.KindLimitExceeded {
			code = "ResourceLimitExceeded"
		}
		x.Fail(code, "your "+kind+" is not forwarded: "+awsproto.ToWire(err).Msg)
	}
	return err
}

// MediaStopped implements Peer.
func (x *Session) MediaStopped(kind string) { x.room.MediaStopped(kind) }

// Closed implements Peer: the room records the leaving, then the socket says bye and closes.
func (x *Session) Closed(reason string) {
	x.closeOnce.Do(func() {
		x.room.Left(reason)
		x.reason = reason
		close(x.done)
	})
}

// Drain counts a service's running sessions, so that a stopping service waits until each has taken
// its participant out and recorded it (Room.Left) before what records it closes. A session whose join
// the stopping SFU refused is in no SFU's roster, so closing the SFU does not wait for it.
type Drain struct{ wg sync.WaitGroup }

// Run runs x (Session.Run), counted until it returns.
func (d *Drain) Run(x *Session, hello Message) {
	d.wg.Add(1)
	defer d.wg.Done()
	x.Run(hello)
}

// Wait waits, at most timeout, until no session runs; false means some still did.
func (d *Drain) Wait(timeout time.Duration) bool {
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(timeout):
		return false
	}
}
