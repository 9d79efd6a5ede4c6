// Package calls is the slice of Wickr calls on the end users' client API (guide §0.1, §3.3 Calling,
// §16): a member of a conversation joins its live call, or starts one, over the signalling WebSocket
// GET /client/v1/wickr/conversations/{conversationId}/call/signal (or joins a known call with GET
// /client/v1/wickr/calls/{callId}/signal), with the protocol of api/mediasignal (belfry-signal-v1,
// the bearer token as a second subprotocol). The SFU (infra/sfu) forwards the participants' media
// and the call aggregate (domain/wickr/call) records its life.
//
// Invariants:
//   - Only members of the conversation take part; a starter's security group must enable audio calls
//     (canStart11Call); video and screen share are forwarded only for a participant whose group enables
//     them (canVideoCall), otherwise refused with an error message (audio-only); a participant whose
//     group forces TCP calling (forceTcpCall) is offered ICE candidates over TCP only; at most 70
//     participants (call.MaxParticipants).
//   - A broadcast (a presentation of up to 500, call.MaxBroadcastParticipants) is started with the
//     query parameter broadcast=true on the conversation's signal route (only "true" or "false",
//     400 naming it otherwise; not on the call's route, which joins a known call; refused 400 in a
//     direct message). The choice is the starter's: a caller that finds a live call joins it as it
//     is. The starter presents; every other participant is a viewer, joined to the SFU receive-only
//     (its "joined" message: role "viewer", video false): nothing it sends is forwarded. When the
//     presenter leaves, the broadcast ends and its viewers are taken out (bye PresenterLeft).
//   - A conversation has at most one live call in this process: a second caller joins it.
//   - The grants are the caller's group at sign-in (the session's group) read from the network's
//     current settings at admission.
//   - Guests take part audio-only and cannot start a call (they have no security group); a guest
//     that a network of one of the conversation's users blocked joins no call (§15.4), and a caller
//     whom the conversation's policy no longer lets reach its members (a federation or guest
//     federation turned off: Deps.Reach) joins none either — a call is refused what a message is.
//   - Path ids are text of at most 64 bytes without NUL (400 naming the parameter otherwise).
//   - A participant whose session ends (signed out, revoked, its user suspended or deleted) is taken
//     out of the call within Deps.SessionRecheck: an error Unauthorized, then bye Disconnected, and
//     the socket closes with mediasignal.CloseSessionEnded (4401). So is one whose caller is no longer
//     a member of the conversation (removed from it, or left it): an error NotFound, as to any
//     non-member, then bye Disconnected and a normal close.
//   - A call this process does not carry cannot still be going: the calls a previous run left live (it
//     crashed) are ended by EndInterrupted, their participants leaving as ServiceRestart at the last
//     instant that run was known to carry them; the calls of this run are never touched.
package calls

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/chime/clientapi"
	"github.com/belfry/belfry/api/mediasignal"
	"github.com/belfry/belfry/api/wickr/messaging"
	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/api/wickr/wickrproto"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/call"
	"github.com/belfry/belfry/domain/wickr/conversation"
	"github.com/belfry/belfry/domain/wickr/network"
	"github.com/belfry/belfry/projections/wickrconversations"
)

// Calls runs call commands (the event store's repository).
type Calls interface {
	Execute(ctx context.Context, stream string, cmd call.Command) (usecase.Decided[call.State, call.Event], error)
}

// Sessions checks a bearer session token of the Wickr client API.
type Sessions interface {
	Authenticate(ctx context.Context, token string) (messaging.Caller, error)
}

// Store reads conversations and their members (wickrconversations.Store implements it).
type Store interface {
	Conversation(ctx context.Context, id string) (wickrconversations.Conversation, error)
	IsMember(ctx context.Context, id, key string) (bool, error)
	Members(ctx context.Context, id string) ([]wickrconversations.Member, error)
}

// Reacher checks that a caller still reaches every live member of a conversation (federation,
// guest federation, blocked guests).
type Reacher interface {
	CheckReach(ctx context.Context, me messaging.Caller, convID string) error
}

// SFU forwards the participants' media.
type SFU interface {
	Join(roomID, participantID string, p mediasignal.Peer, o JoinOptions) (mediasignal.Participant, error)
}

// JoinOptions are a participant's transport in the SFU: TCPOnly offers it TCP candidates only
// (forceTcpCall); ReceiveOnly (a broadcast's viewer) takes nothing it sends.
type JoinOptions struct{ TCPOnly, ReceiveOnly bool }

// Networks reads a network's state under its stream's lock (the event store's repository): Evolve
// changes a state's groups and blocked guests in place, so fn reads them there and keeps nothing of
// them. latest false answers from the cached state when there is one (no I/O).
type Networks interface {
	Inspect(ctx context.Context, stream string, latest bool, fn func(network.State) error) error
}

// Live lists up to limit calls not ended that started before before (the wickranalytics read model).
type Live interface {
	LiveCalls(ctx context.Context, before time.Time, limit int) ([]string, error)
}

// Deps are the slice's collaborators.
type Deps struct {
	Calls    Calls
	Live     Live
	Networks Networks
	Sessions Sessions
	Store    Store
	SFU      SFU
	// Reach, when set, refuses a caller whom the conversation's policy no longer lets reach one of
	// its members (messaging.Service implements it): a call is refused what a message is.
	Reach Reacher
	// SessionRecheck is how often a signalling session checks its caller's session again (default
	// 30 s): one that ended (signed out, revoked, suspended) is taken out of the call.
	SessionRecheck time.Duration
	Logger         *slog.Logger
}

// Service runs the call use cases.
type Service struct {
	d Deps

	// convs orders the admissions and leavings of one conversation's calls (a call started once, a
	// leaving that ends it seen by the next admission); those of other conversations do not wait on
	// them, nor on their writes to the event store.
	convs keyedMutex

	mu     sync.Mutex        // guards the two maps alone, never held across a write
	byConv map[string]string // conversation → its live call in this process
	convOf map[string]string // call → conversation
	// parts are the SFU participants of this process's calls (call → participant id), taken out
	// when a broadcast's presenter leaves.
	parts map[string]map[string]mediasignal.Participant

	drain mediasignal.Drain // the signalling sessions running (WaitSessions)
}

// WaitSessions waits, at most timeout, until every signalling session has ended and recorded its
// participant's leaving: call it after the SFU closed, before the event store does.
func (s *Service) WaitSessions(timeout time.Duration) bool { return s.drain.Wait(timeout) }

// New returns the slice.
func New(d Deps) *Service {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.SessionRecheck <= 0 {
		d.SessionRecheck = 30 * time.Second
	}
	return &Service{d: d, byConv: map[string]string{}, convOf: map[string]string{}, parts: map[string]map[string]mediasignal.Participant{}}
}

// ErrNotMember refuses a caller who is not a member of the conversation (as if it did not exist).
var ErrNotMember = &domain.Error{Kind: domain.KindNotFound, Msg: "no such conversation for the caller"}

// maxID bounds a conversation's or call's id in a path (the messaging slice's bound).
const maxID = 64

// checkID refuses a path id that is empty, over maxID bytes, not UTF-8 or holding a NUL, naming it.
func checkID(field, v string) error {
	if v == "" || len(v) > maxID || !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
		return wickr.Invalid(field, "must be an id of 1 to %d bytes of text without NUL characters", maxID)
	}
	return nil
}

// Routes are the slice's routes on the client API (under /client/v1).
func (s *Service) Routes() []clientapi.Route {
	return []clientapi.Route{
		{Method: http.MethodGet, Path: "/wickr/conversations/:conversationId/call/signal", Handler: func(c echo.Context) error {
			if err := checkID("conversationId", c.Param("conversationId")); err != nil {
				return fail(c, err)
			}
			broadcast, err := broadcastParam(c)
			if err != nil {
				return fail(c, err)
			}
			return s.signal(c, func(ctx context.Context, me messaging.Caller) (admitted, error) {
				return s.admit(ctx, me, c.Param("conversationId"), "", broadcast)
			})
		}},
		{Method: http.MethodGet, Path: "/wickr/calls/:callId/signal", Handler: func(c echo.Context) error {
			if err := checkID("callId", c.Param("callId")); err != nil {
				return fail(c, err)
			}
			if c.QueryParams().Has("broadcast") {
				return fail(c, wickr.Invalid("broadcast", "is chosen when starting a call (the conversation's signal route): this route joins a known call"))
			}
			return s.signal(c, func(ctx context.Context, me messaging.Caller) (admitted, error) {
				s.mu.Lock()
				conv, ok := s.convOf[c.Param("callId")]
				s.mu.Unlock()
				if !ok {
					return admitted{}, domain.Wrapf(call.ErrNotFound, "no live call %s", c.Param("callId"))
				}
				return s.admit(ctx, me, conv, c.Param("callId"), false)
			})
		}},
	}
}

// broadcastParam reads the query parameter broadcast: absent or "false" a conference call, "true" a
// broadcast; anything else (or a repeated parameter) is refused naming it.
func broadcastParam(c echo.Context) (bool, error) {
	v, ok := c.QueryParams()["broadcast"]
	switch {
	case !ok:
		return false, nil
	case len(v) == 1 && v[0] == "true":
		return true, nil
	case len(v) == 1 && v[0] == "false":
		return false, nil
	}
	return false, wickr.Invalid("broadcast", "must be true or false, given once")
}

// fail answers an error in the client API's shape (wickrproto.ClientError).
func fail(c echo.Context, err error) error { return wickrproto.ClientError(c, err) }

// admitted is a participant recorded in a call; viewer: a viewer of a broadcast.
type admitted struct {
	convID, callID, participantID string
	grant                         call.Grant
	viewer                        bool
}

// grant is what the caller's security group allows in calls (a guest: audio only).
func (s *Service) grant(ctx context.Context, me messaging.Caller) (call.Grant, error) {
	if me.GuestHash != "" {
		return call.Grant{Audio: true}, nil
	}
	var grant call.Grant
	err := s.d.Networks.Inspect(ctx, network.StreamName(me.NetworkID), false, func(st network.State) error {
		if g := st.Groups[me.GroupID]; g != nil {
			c := g.Settings.Calling
			grant = call.Grant{Audio: c.CanStart11Call, Video: c.CanStart11Call && c.CanVideoCall, TCPOnly: c.ForceTCPCall}
		}
		return nil
	})
	return grant, err
}

// notBlocked refuses a guest that a network of one of the conversation's users blocked (guide
// §15.4: a blocked guest communicates with no one in the network; its posts are refused alike).
func (s *Service) notBlocked(ctx context.Context, me messaging.Caller, convID string) error {
	if me.GuestHash == "" {
		return nil
	}
	members, err := s.d.Store.Members(ctx, convID)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, m := range members {
		if m.GuestHash != "" || seen[m.NetworkID] {
			continue
		}
		seen[m.NetworkID] = true
		blocked := false
		err := s.d.Networks.Inspect(ctx, network.StreamName(m.NetworkID), false, func(st network.State) error {
			_, blocked = st.BlockedGuests[me.GuestHash]
			return nil
		})
		if domain.KindOf(err) == domain.KindNotFound {
			continue // no network: none of its users is reached
		}
		if err != nil {
			return err
		}
		if blocked {
			return domain.Wrapf(conversation.ErrBlockedGuest, "network %s blocked the guest user %s: it joins none of the calls of its users", m.NetworkID, me.GuestHash)
		}
	}
	return nil
}

// admit checks that me is a member of the conversation and records it in the conversation's live
// call (want "": any), starting one when there is none (a broadcast if broadcast).
func (s *Service) admit(ctx context.Context, me messaging.Caller, convID, want string, broadcast bool) (admitted, error) {
	member := me.Participant()
	conv, err := s.d.Store.Conversation(ctx, convID)
	if err != nil {
		return admitted{}, err
	}
	if ok, err := s.d.Store.IsMember(ctx, convID, member.Key()); err != nil {
		return admitted{}, err
	} else if !ok {
		return admitted{}, domain.Wrapf(ErrNotMember, "the caller is not a member of conversation %s", convID)
	}
	if err := s.notBlocked(ctx, me, convID); err != nil {
		return admitted{}, err
	}
	if s.d.Reach != nil {
		if err := s.d.Reach.CheckReach(ctx, me, convID); err != nil {
			return admitted{}, err
		}
	}
	g, err := s.grant(ctx, me)
	if err != nil {
		return admitted{}, err
	}
	a := admitted{convID: convID, participantID: uuid.NewString(), grant: g}
	defer s.convs.lock(convID)()
	s.mu.Lock()
	id, live := s.byConv[convID]
	s.mu.Unlock()
	if live {
		if want != "" && want != id {
			return a, domain.Wrapf(call.ErrNotFound, "no live call %s", want)
		}
		a.callID = id
		d, err := s.d.Calls.Execute(ctx, call.StreamName(id), call.Join{ParticipantID: a.participantID, Member: member, Grant: g})
		if err != nil {
			return a, err
		}
		a.viewer = d.State.Viewer(a.participantID)
		return a, nil
	}
	if want != "" {
		return a, domain.Wrapf(call.ErrNotFound, "no live call %s", want)
	}
	if me.GuestHash != "" {
		g.Audio = false // a guest has no group that enables starting calls
	}
	a.callID = uuid.NewString()
	if _, err := s.d.Calls.Execute(ctx, call.StreamName(a.callID), call.Start{CallID: a.callID, ConversationID: convID, ConversationKind: conv.Kind,
		NetworkID: me.NetworkID, ParticipantID: a.participantID, Member: member, Grant: g, Broadcast: broadcast}); err != nil {
		return a, err
	}
	s.mu.Lock()
	s.byConv[convID], s.convOf[a.callID] = a.callID, convID
	s.mu.Unlock()
	return a, nil
}

// sweepBatch bounds the calls one EndInterrupted run ends; the next run takes the rest.
const sweepBatch = 1000

// EndInterrupted ends the calls a previous run of the service left live (started before startedAt,
// this process's start; at most sweepBatch per run): their participants who joined before startedAt
// leave as ServiceRestart at lastAlive — the last instant that run was known to carry them (zero:
// unknown, then now) — and the call ends (call.Interrupt). Run it periodically: the read model may
// still be catching up when the process starts. It is idempotent (an ended call changes no more) and
// safe against a racing run (each call's command is appended at its expected revision). It returns
// how many calls it changed.
func (s *Service) EndInterrupted(ctx context.Context, startedAt, lastAlive time.Time) (int, error) {
	ids, err := s.d.Live.LiveCalls(ctx, startedAt, sweepBatch)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		d, err := s.d.Calls.Execute(ctx, call.StreamName(id), call.Interrupt{Before: startedAt, At: lastAlive})
		if errors.Is(err, call.ErrNotFound) {
			continue // its stream is gone: nothing left to end
		}
		if err != nil {
			return n, err
		}
		if len(d.Events) > 0 {
			n++
		}
	}
	return n, nil
}

// leave records that a participant left; when that ends the call, the conversation has no live call.
func (s *Service) leave(callID, participantID, reason string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.mu.Lock()
	conv := s.convOf[callID]
	s.mu.Unlock()
	defer s.convs.lock(conv)()
	d, err := s.d.Calls.Execute(ctx, call.StreamName(callID), call.Leave{ParticipantID: participantID, Reason: reason})
	if err != nil {
		s.d.Logger.Warn("recording a call participant's leaving failed", "call", callID, "participant", participantID, "err", err)
		return
	}
	s.mu.Lock()
	delete(s.parts[callID], participantID)
	var out []mediasignal.Participant // viewers a presenter's leaving took out of the call
	for _, e := range d.Events {
		if l, ok := e.(call.ParticipantLeft); ok && l.Reason == call.LeftPresenterLeft {
			if p := s.parts[callID][l.ParticipantID]; p != nil {
				out = append(out, p)
			}
		}
	}
	if !d.State.Live() {
		if s.byConv[conv] == callID {
			delete(s.byConv, conv)
		}
		delete(s.convOf, callID)
		delete(s.parts, callID)
	}
	s.mu.Unlock()
	for _, p := range out {
		go p.Remove(call.LeftPresenterLeft) // its session's Left finds it out already
	}
}

// joined records a participant's SFU side in its call (taken out if a broadcast's presenter leaves);
// false when the call ended since the participant was admitted (its leaving is recorded already).
func (s *Service) joined(callID, participantID string, p mediasignal.Participant) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, live := s.convOf[callID]; !live {
		return false
	}
	if s.parts[callID] == nil {
		s.parts[callID] = map[string]mediasignal.Participant{}
	}
	s.parts[callID][participantID] = p
	return true
}

// keyedMutex is a mutex per key, held only while someone holds or waits for it.
type keyedMutex struct {
	mu   sync.Mutex
	keys map[string]*keyLock
}

type keyLock struct {
	sync.Mutex
	users int // holding or waiting
}

// lock locks key's mutex and returns its unlock.
func (k *keyedMutex) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.keys == nil {
		k.keys = map[string]*keyLock{}
	}
	l := k.keys[key]
	if l == nil {
		l = &keyLock{}
		k.keys[key] = l
	}
	l.users++
	k.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		k.mu.Lock()
		if l.users--; l.users == 0 {
			delete(k.keys, key)
		}
		k.mu.Unlock()
	}
}

// signal authenticates, admits and runs the participant's signalling session.
func (s *Service) signal(c echo.Context, admit func(context.Context, messaging.Caller) (admitted, error)) error {
	r := c.Request()
	tok := mediasignal.Bearer(r)
	if tok == "" || len(tok) > 512 {
		return clientapi.Unauthorized(c, "a session token is required: the subprotocol bearer.<token> or an Authorization: Bearer header")
	}
	me, err := s.d.Sessions.Authenticate(r.Context(), tok)
	if err != nil {
		return clientapi.Unauthorized(c, awsproto.ToWire(err).Msg)
	}
	if err := mediasignal.CheckUpgrade(r); err != nil {
		return awsproto.ClientError(c, err)
	}
	a, err := admit(r.Context(), me)
	if err != nil {
		return awsproto.ClientError(c, err)
	}
	ws, err := mediasignal.Accept(c.Response(), r)
	if err != nil {
		s.leave(a.callID, a.participantID, call.LeftDisconnected)
		return nil
	}
	p := &participant{svc: s, callID: a.callID, id: a.participantID, grant: a.grant, viewer: a.viewer}
	sig := mediasignal.NewSession(ws, p, func(msg string, args ...any) {
		s.d.Logger.Warn(msg, append(args, "call", a.callID, "participant", a.participantID)...)
	})
	sig.CheckSession(s.d.SessionRecheck, func(ctx context.Context) error {
		me, err := s.d.Sessions.Authenticate(ctx, tok)
		if domain.KindOf(err) != 0 { // a refusal, not a failure to check
			return fmt.Errorf("%w: %w", mediasignal.ErrSessionEnded, err)
		}
		if err != nil {
			return err
		}
		return s.stillMember(ctx, me, a.convID)
	})
	video, role := a.grant.Video && !a.viewer, ""
	if a.viewer {
		role = RoleViewer
	}
	s.drain.Run(sig, mediasignal.Message{Type: "joined", CallID: a.callID, ParticipantID: a.participantID, Video: &video, TCPOnly: a.grant.TCPOnly, Role: role})
	return nil
}

// stillMember refuses (mediasignal.ErrRefused) a caller no longer a member of the conversation.
func (s *Service) stillMember(ctx context.Context, me messaging.Caller, convID string) error {
	ok, err := s.d.Store.IsMember(ctx, convID, me.Participant().Key())
	if err != nil || ok {
		return err
	}
	return fmt.Errorf("%w: %w", mediasignal.ErrRefused, domain.Wrapf(ErrNotMember, "the caller is no longer a member of conversation %s", convID))
}

// RoleViewer is the role a broadcast's viewer is told in its "joined" message.
const RoleViewer = "viewer"

// participant is one participant's side of its signalling session (mediasignal.Room).
type participant struct {
	svc        *Service
	callID, id string
	grant      call.Grant
	viewer     bool
}

// Join implements mediasignal.Room: a forceTcpCall participant gets TCP candidates only, a
// broadcast's viewer joins receive-only. A call that ended since the admission (a broadcast whose
// presenter left, taking its viewers out) takes the new SFU participant out at once.
func (p *participant) Join(peer mediasignal.Peer) (mediasignal.Participant, error) {
	part, err := p.svc.d.SFU.Join(p.callID, p.id, peer, JoinOptions{TCPOnly: p.grant.TCPOnly, ReceiveOnly: p.viewer})
	if err == nil && !p.svc.joined(p.callID, p.id, part) {
		reason := call.LeftDisconnected
		if p.viewer {
			reason = call.LeftPresenterLeft // the only way a call ends with a participant just admitted
		}
		go part.Remove(reason) // its session's Left finds it out already
	}
	return part, err
}

// MediaStarted implements mediasignal.Room: video and screen share need the video grant.
func (p *participant) MediaStarted(kind string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := p.svc.d.Calls.Execute(ctx, call.StreamName(p.callID), call.SetMedia{ParticipantID: p.id, Kind: kind, On: true})
	return err
}

// MediaStopped implements mediasignal.Room.
func (p *participant) MediaStopped(kind string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = p.svc.d.Calls.Execute(ctx, call.StreamName(p.callID), call.SetMedia{ParticipantID: p.id, Kind: kind, On: false})
}

// Left implements mediasignal.Room.
func (p *participant) Left(reason string) { p.svc.leave(p.callID, p.id, reason) }

// Handle implements mediasignal.Room: calls have no messages of their own.
func (p *participant) Handle(*mediasignal.Session, mediasignal.Message) bool { return false }

// Types implements mediasignal.Room.
func (p *participant) Types() string { return "" }
