package media

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/chime/clientapi"
	"github.com/belfry/belfry/api/mediasignal"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/meeting"
	"github.com/belfry/belfry/projections/chimeaccounts"
	"github.com/belfry/belfry/projections/chimemeetings"
)

// Protocol is the signalling subprotocol (api/mediasignal).
const Protocol = mediasignal.Protocol

// CloseSessionEnded is the close code of a signalling socket whose caller's session ended.
const CloseSessionEnded = mediasignal.CloseSessionEnded

// message is every signalling message, both ways (see the package comment).
type message = mediasignal.Message

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
		code = mediasignal.Subprotocol(r, "moderator.")
	}
	return Entry{Passcode: code, Source: c.RealIP()}
}

// byPIN admits the caller to the meeting of the PIN in the "pin.<PIN>" subprotocol or the
// Belfry-Meeting-PIN header.
func (s *Service) byPIN(c echo.Context, u chimeaccounts.User) (chimemeetings.Meeting, string, error) {
	r := c.Request()
	pin := r.Header.Get("Belfry-Meeting-PIN")
	if pin == "" {
		pin = mediasignal.Subprotocol(r, "pin.")
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
	tok := mediasignal.Bearer(r)
	if tok == "" {
		return clientapi.Unauthorized(c, "a session token is required: the subprotocol bearer.<token> or an Authorization: Bearer header")
	}
	u, err := auth.Authenticate(r.Context(), tok)
	if err != nil {
		return clientapi.Unauthorized(c, awsproto.ToWire(err).Msg)
	}
	if err := mediasignal.CheckUpgrade(r); err != nil {
		return awsproto.ClientError(c, err)
	}
	simulcast, err := simulcastParam(r)
	if err != nil {
		return awsproto.ClientError(c, err)
	}
	m, attendee, err := admit(c, u)
	if err != nil {
		return awsproto.ClientError(c, err)
	}
	ws, err := mediasignal.Accept(c.Response(), r)
	if err != nil {
		s.Leave(m.AccountID, m.MeetingID, attendee, meeting.LeftDisconnected)
		return nil
	}
	x := &session{svc: s, user: u, accountID: m.AccountID, meetingID: m.MeetingID, attendeeID: attendee, simulcast: simulcast}
	x.sig = mediasignal.NewSession(ws, x, func(msg string, args ...any) {
		s.d.Logger.Warn(msg, append(args, "meeting", m.MeetingID, "attendee", attendee)...)
	})
	x.sig.CheckSession(s.d.SessionRecheck, func(ctx context.Context) error {
		_, err := auth.Authenticate(ctx, tok)
		if domain.KindOf(err) != 0 { // a refusal, not a failure to check
			return fmt.Errorf("%w: %w", mediasignal.ErrSessionEnded, err)
		}
		return err
	})
	s.live.add(x)
	s.drain.Run(x.sig, message{Type: "joined", MeetingID: m.MeetingID, AttendeeID: attendee})
	return nil
}

// session is one attendee's signalling session (the meeting's mediasignal.Room).
type session struct {
	svc  *Service
	sig  *mediasignal.Session
	user chimeaccounts.User
	// accountID is the meeting's account (a PIN admits users of other accounts).
	accountID, meetingID, attendeeID string
	// simulcast: the attendee asked to send its camera in simulcast layers (?simulcast=1).
	simulcast bool
}

// simulcastParam reads the signalling request's simulcast query parameter: "1" asks the SFU's first
// offer for the camera's simulcast layers, "0" or none does not.
func simulcastParam(r *http.Request) (bool, error) {
	switch v := r.URL.Query().Get("simulcast"); v {
	case "", "0":
		return false, nil
	case "1":
		return true, nil
	default:
		return false, awsproto.BadRequest("simulcast must be 0 or 1")
	}
}

// Join implements mediasignal.Room.
func (x *session) Join(p mediasignal.Peer) (mediasignal.Participant, error) {
	return x.svc.d.SFU.Join(x.meetingID, x.attendeeID, p, x.simulcast)
}

// Handle implements mediasignal.Room: the moderation messages.
func (x *session) Handle(_ *mediasignal.Session, m message) bool {
	cmd := moderationCommand(m, x.accountID, x.attendeeID)
	if cmd == nil {
		return false
	}
	x.moderate(cmd)
	return true
}

// Types implements mediasignal.Room.
func (x *session) Types() string {
	return ", unmute, or a moderator's mute, muteAll, remove, lock, unlock, record, stopRecording, end"
}

// MediaStarted implements mediasignal.Room: the roster records it, or refuses a video beyond the tiles.
func (x *session) MediaStarted(kind string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return x.svc.SetMedia(ctx, x.accountID, x.meetingID, x.attendeeID, kind, true)
}

// MediaStopped implements mediasignal.Room.
func (x *session) MediaStopped(kind string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := x.svc.SetMedia(ctx, x.accountID, x.meetingID, x.attendeeID, kind, false); err != nil && !errors.Is(err, meeting.ErrNotAttendee) {
		x.svc.d.Logger.Warn("recording stopped media failed", "meeting", x.meetingID, "attendee", x.attendeeID, "err", err)
	}
}

// Left implements mediasignal.Room: the attendee's leaving is recorded.
func (x *session) Left(reason string) {
	x.svc.live.remove(x)
	x.svc.Leave(x.accountID, x.meetingID, x.attendeeID, reason)
}

// The session's messages, queue and transport (mediasignal.Session).
func (x *session) send(m message)            { x.sig.Send(m) }
func (x *session) fail(code, msg string)     { x.sig.Fail(code, msg) }
func (x *session) closeParticipant(r string) { x.sig.Close(r) }
func (x *session) setMuted(on bool)          { x.sig.SetMuted(on) }
