package media

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/chime/clientapi"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/meeting"
	"github.com/belfry/belfry/projections/chimeaccounts"
	"github.com/belfry/belfry/projections/chimemeetings"
)

// Protocol is the signalling subprotocol; a bearer token rides as a second one, "bearer.<token>".
const Protocol = "belfry-signal-v1"

// Bounds of one signalling session.
const (
	maxMessage  = 64 << 10 // bytes of one message
	outboxLen   = 256      // messages queued for a client
	writeWithin = 10 * time.Second
	pingEvery   = 20 * time.Second // a client that does not answer a ping within writeWithin is gone
)

// meetPage is the web client: sign in, join a meeting, see and hear the others.
//
//go:embed meet.html
var meetPage []byte

// ClientRoutes are the slice's routes on the client API (under /client/v1): the signalling
// WebSocket and the web client's page (open to anyone; it signs in through /sessions).
func (s *Service) ClientRoutes(auth clientapi.Authenticator) []clientapi.Route {
	return []clientapi.Route{
		{Method: http.MethodGet, Path: "/meetings/:id/signal", Handler: func(c echo.Context) error { return s.signal(c, auth, s.byID) }},
		{Method: http.MethodGet, Path: "/meetings/by-pin/signal", Handler: func(c echo.Context) error { return s.signal(c, auth, s.byPIN) }},
		{Method: http.MethodGet, Path: "/meet", Handler: func(c echo.Context) error {
			c.Response().Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; media-src 'self' blob: mediastream:")
			return c.HTMLBlob(http.StatusOK, meetPage)
		}},
	}
}

// message is every signalling message, both ways (see the package comment).
type message struct {
	Type       string          `json:"type"`
	SDP        string          `json:"sdp,omitempty"`
	Candidate  json.RawMessage `json:"candidate,omitempty"`
	MeetingID  string          `json:"meetingId,omitempty"`
	AttendeeID string          `json:"attendeeId,omitempty"`
	Code       string          `json:"code,omitempty"`
	Message    string          `json:"message,omitempty"`
	Reason     string          `json:"reason,omitempty"`
	// Moderation (moderation.go).
	Action      string   `json:"action,omitempty"`
	AttendeeIDs []string `json:"attendeeIds,omitempty"`
	By          string   `json:"by,omitempty"`
}

// bearer is the session token of a signalling request: the Authorization header, else the
// "bearer.<token>" subprotocol.
func bearer(r *http.Request) string {
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return tok
	}
	return subprotocol(r, "bearer.")
}

// subprotocol is the value of the request's subprotocol with prefix ("" when none).
func subprotocol(r *http.Request, prefix string) string {
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(h, ",") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(p), prefix); ok {
				return v
			}
		}
	}
	return ""
}

// admitter admits a signed-in caller to the meeting the request names.
type admitter func(c echo.Context, u chimeaccounts.User) (chimemeetings.Meeting, string, error)

func (s *Service) byID(c echo.Context, u chimeaccounts.User) (chimemeetings.Meeting, string, error) {
	return s.AdmitByID(c.Request().Context(), u, c.Param("id"), entry(c))
}

// entry is the request's moderator passcode (the "moderator.<passcode>" subprotocol or a
// Belfry-Moderator-Passcode header) and source address.
func entry(c echo.Context) Entry {
	r := c.Request()
	code := r.Header.Get("Belfry-Moderator-Passcode")
	if code == "" {
		code = subprotocol(r, "moderator.")
	}
	return Entry{Passcode: code, Source: c.RealIP()}
}

// byPIN admits the caller to the meeting of the PIN in the "pin.<PIN>" subprotocol or the
// Belfry-Meeting-PIN header.
func (s *Service) byPIN(c echo.Context, u chimeaccounts.User) (chimemeetings.Meeting, string, error) {
	r := c.Request()
	pin := r.Header.Get("Belfry-Meeting-PIN")
	if pin == "" {
		pin = subprotocol(r, "pin.")
	}
	if pin == "" {
		return chimemeetings.Meeting{}, "", awsproto.BadRequest("PIN is required: the subprotocol pin.<PIN> or a Belfry-Meeting-PIN header")
	}
	m, err := s.ResolvePIN(r.Context(), u, pin, c.RealIP())
	if err != nil {
		return m, "", err
	}
	id, err := s.Admit(r.Context(), u, m, entry(c))
	return m, id, err
}

// signal admits the caller to the meeting, upgrades to a WebSocket and runs the session.
func (s *Service) signal(c echo.Context, auth clientapi.Authenticator, admit admitter) error {
	r := c.Request()
	tok := bearer(r)
	if tok == "" {
		return clientapi.Unauthorized(c, "a session token is required: the subprotocol bearer.<token> or an Authorization: Bearer header")
	}
	u, err := auth.Authenticate(r.Context(), tok)
	if err != nil {
		return clientapi.Unauthorized(c, awsproto.ToWire(err).Msg)
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		return awsproto.ClientError(c, awsproto.BadRequest("this is a WebSocket endpoint: send an Upgrade: websocket request with the subprotocol "+Protocol))
	}
	m, attendee, err := admit(c, u)
	if err != nil {
		return awsproto.ClientError(c, err)
	}
	// No origin check: the session token is not ambient (no cookie), so another site's page cannot
	// use the caller's session.
	ws, err := websocket.Accept(c.Response(), r, &websocket.AcceptOptions{Subprotocols: []string{Protocol}, InsecureSkipVerify: true})
	if err != nil {
		s.Leave(m.AccountID, m.MeetingID, attendee, meeting.LeftDisconnected)
		return nil
	}
	ws.SetReadLimit(maxMessage)
	sess := &session{svc: s, ws: ws, user: u, accountID: m.AccountID, meetingID: m.MeetingID, attendeeID: attendee,
		out: make(chan message, outboxLen), done: make(chan struct{})}
	sess.run()
	return nil
}

// session is one attendee's signalling connection; it is the SFU's Peer for that attendee.
type session struct {
	svc  *Service
	ws   *websocket.Conn
	user chimeaccounts.User
	// accountID is the meeting's account (a PIN admits users of other accounts).
	accountID, meetingID, attendeeID string

	partMu sync.Mutex
	part   Participant // nil until the SFU took the attendee
	muted  bool        // a moderator muted the attendee (applied to part once it exists)

	out       chan message
	done      chan struct{} // closed when the participant is out
	closeOnce sync.Once
	reason    string
}

func (x *session) run() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wrote := make(chan struct{})
	go func() { x.write(ctx); close(wrote) }()
	go x.ping(ctx)
	x.send(message{Type: "joined", MeetingID: x.meetingID, AttendeeID: x.attendeeID})
	x.svc.live.add(x)
	p, err := x.svc.d.SFU.Join(x.meetingID, x.attendeeID, x)
	if err != nil {
		x.svc.d.Logger.Warn("the SFU refused an attendee", "meeting", x.meetingID, "err", err)
		x.Closed(meeting.LeftDisconnected)
		<-wrote
		return
	}
	x.partMu.Lock()
	x.part = p
	p.SetAudioMuted(x.muted)
	x.partMu.Unlock()
	select {
	case <-x.done: // removed or ended before the SFU took it
		p.Remove(x.reason)
	default:
	}
	x.read(ctx, p)
	p.Leave()
	<-wrote
}

// read handles the client's messages until the socket or the participant closes.
func (x *session) read(ctx context.Context, p Participant) {
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
		var m message
		if typ != websocket.MessageText || json.Unmarshal(data, &m) != nil {
			x.fail("BadMessage", "every message is a JSON object with a type")
			continue
		}
		switch m.Type {
		case "answer":
			if err := p.Answer(m.SDP); err != nil {
				x.fail("InvalidSDP", "the answer was refused: "+err.Error())
			}
		case "candidate":
			if err := p.AddCandidate(m.Candidate); err != nil {
				x.fail("InvalidCandidate", err.Error())
			}
		case "leave":
			return
		default:
			if cmd := moderationCommand(m, x.accountID, x.attendeeID); cmd != nil {
				x.moderate(cmd)
				continue
			}
			x.fail("BadMessage", "unknown message type "+strings.TrimSpace(m.Type)+
				"; expected answer, candidate, leave, unmute, or a moderator's mute, muteAll, remove, lock, unlock, end")
		}
	}
}

// write sends the queued messages; after the participant is out it sends the rest and the bye, then
// closes the socket.
func (x *session) write(ctx context.Context) {
	for {
		select {
		case m := <-x.out:
			if x.writeOne(ctx, m) != nil {
				x.closeParticipant(meeting.LeftDisconnected)
			}
		case <-x.done:
			for len(x.out) > 0 {
				_ = x.writeOne(ctx, <-x.out)
			}
			_ = x.writeOne(ctx, message{Type: "bye", Reason: x.reason})
			status := websocket.StatusNormalClosure
			if x.reason == meeting.LeftServiceRestart {
				status = websocket.StatusGoingAway
			}
			_ = x.ws.Close(status, x.reason)
			return
		}
	}
}

// ping checks that the client is still there; a silent one is disconnected.
func (x *session) ping(ctx context.Context) {
	t := time.NewTicker(pingEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-x.done:
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, writeWithin)
		err := x.ws.Ping(pctx)
		cancel()
		if err != nil {
			x.closeParticipant(meeting.LeftDisconnected)
			return
		}
	}
}

func (x *session) writeOne(ctx context.Context, m message) error {
	b, _ := json.Marshal(m)
	wctx, cancel := context.WithTimeout(ctx, writeWithin)
	defer cancel()
	return x.ws.Write(wctx, websocket.MessageText, b)
}

// send queues a message; a client whose queue is full is too slow and is disconnected.
func (x *session) send(m message) {
	select {
	case <-x.done:
	case x.out <- m:
	default:
		go x.closeParticipant(meeting.LeftDisconnected)
	}
}

func (x *session) fail(code, msg string) { x.send(message{Type: "error", Code: code, Message: msg}) }

// closeParticipant takes the attendee out for reason: its transport closes (the SFU calls Closed).
func (x *session) closeParticipant(reason string) {
	x.partMu.Lock()
	p := x.part
	x.partMu.Unlock()
	if p != nil {
		p.Remove(reason)
		return
	}
	x.Closed(reason)
}

// setMuted applies a moderator's mute (or the attendee's unmute) to the attendee's transport.
func (x *session) setMuted(on bool) {
	x.partMu.Lock()
	defer x.partMu.Unlock()
	x.muted = on
	if x.part != nil {
		x.part.SetAudioMuted(on)
	}
}

// Offer implements Peer.
func (x *session) Offer(sdp string) { x.send(message{Type: "offer", SDP: sdp}) }

// Candidate implements Peer.
func (x *session) Candidate(b []byte) { x.send(message{Type: "candidate", Candidate: b}) }

// MediaStarted implements Peer: the roster records it, or refuses a video beyond the tiles.
func (x *session) MediaStarted(kind string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := x.svc.SetMedia(ctx, x.accountID, x.meetingID, x.attendeeID, kind, true)
	if err != nil {
		code := "MediaRefused"
		if domain.KindOf(err) == domain.KindLimitExceeded {
			code = "ResourceLimitExceeded"
		}
		x.fail(code, "your "+kind+" is not forwarded: "+awsproto.ToWire(err).Msg)
	}
	return err
}

// MediaStopped implements Peer.
func (x *session) MediaStopped(kind string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := x.svc.SetMedia(ctx, x.accountID, x.meetingID, x.attendeeID, kind, false); err != nil && !errors.Is(err, meeting.ErrNotAttendee) {
		x.svc.d.Logger.Warn("recording stopped media failed", "meeting", x.meetingID, "attendee", x.attendeeID, "err", err)
	}
}

// Closed implements Peer: the attendee's leaving is recorded, then the socket says bye and closes.
func (x *session) Closed(reason string) {
	x.closeOnce.Do(func() {
		x.svc.live.remove(x)
		x.svc.Leave(x.accountID, x.meetingID, x.attendeeID, reason)
		x.reason = reason
		close(x.done)
	})
}
