package media_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/api/chime/media"
	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/meeting"
	"github.com/belfry/belfry/projections/chimeaccounts"
	"github.com/belfry/belfry/projections/chimemeetings"
)

// repo runs meeting commands on states in memory, with the domain's Decide and Evolve.
type repo struct {
	mu     sync.Mutex
	states map[string]meeting.State
	events map[string][]meeting.Event
}

func (r *repo) Execute(_ context.Context, stream string, cmd meeting.Command) (usecase.Decided[meeting.State, meeting.Event], error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.states[stream]
	evs, err := meeting.Decide(s, cmd, time.Now())
	if err != nil {
		return usecase.Decided[meeting.State, meeting.Event]{}, err
	}
	for _, e := range evs {
		s = meeting.Evolve(s, e)
	}
	r.states[stream] = s
	r.events[stream] = append(r.events[stream], evs...)
	return usecase.Decided[meeting.State, meeting.Event]{State: s, Events: evs}, nil
}

func (r *repo) ExecuteFunc(_ context.Context, stream string, decide func(meeting.State, time.Time) ([]meeting.Event, error)) (usecase.Decided[meeting.State, meeting.Event], error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.states[stream]
	evs, err := decide(s, time.Now())
	if err != nil {
		return usecase.Decided[meeting.State, meeting.Event]{}, err
	}
	for _, e := range evs {
		s = meeting.Evolve(s, e)
	}
	r.states[stream] = s
	r.events[stream] = append(r.events[stream], evs...)
	return usecase.Decided[meeting.State, meeting.Event]{State: s, Events: evs}, nil
}

// recorded returns the events recorded on meeting id.
func (r *repo) recorded(id string) []meeting.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]meeting.Event(nil), r.events[meeting.StreamName(id)]...)
}

// store is the meetings read model of the repo's meetings.
type store struct{ r *repo }

func (s store) Get(_ context.Context, accountID, id string) (chimemeetings.Meeting, error) {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	m, ok := s.r.states[meeting.StreamName(id)]
	if !ok || m.AccountID != accountID {
		return chimemeetings.Meeting{}, domain.Wrapf(meeting.ErrNotFound, "meeting %s not found", id)
	}
	return chimemeetings.Meeting{MeetingID: id, AccountID: m.AccountID, OrganizerID: m.OrganizerID, Title: m.Title, Status: m.Status}, nil
}

func (store) List(context.Context, string, string) ([]chimemeetings.Meeting, error) { return nil, nil }
func (store) Live(context.Context) ([]chimemeetings.LiveMeeting, error)             { return nil, nil }

// users are the signed-in users by token; a revoked token's session has ended.
type users struct {
	mu      sync.Mutex
	byTok   map[string]chimeaccounts.User
	revoked map[string]bool
}

func (u *users) Authenticate(_ context.Context, tok string) (chimeaccounts.User, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	x, ok := u.byTok[tok]
	if !ok || u.revoked[tok] {
		return chimeaccounts.User{}, domain.Errorf(domain.KindForbidden, "the session was revoked; sign in again")
	}
	return x, nil
}

func (u *users) revoke(tok string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.revoked[tok] = true
}

func (u *users) GetUserAnyTenant(_ context.Context, accountID, userID string) (chimeaccounts.User, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, x := range u.byTok {
		if x.UserID == userID && x.AccountID == accountID {
			return x, nil
		}
	}
	return chimeaccounts.User{}, chimeaccounts.ErrUserNotFound
}

// sfu is an SFU whose participants carry no media: Remove and Leave close them at once.
type sfu struct{}

func (sfu) Join(_, _ string, p media.Peer, _ bool) (media.Participant, error) {
	p.Offer("v=0\r\n")
	return &part{peer: p}, nil
}

type part struct {
	peer media.Peer
	once sync.Once
}

func (x *part) Answer(string) error       { return nil }
func (x *part) AddCandidate([]byte) error { return nil }
func (x *part) Leave()                    { x.Remove(meeting.LeftHungUp) }
func (x *part) Remove(reason string)      { x.once.Do(func() { x.peer.Closed(reason) }) }
func (x *part) SetAudioMuted(bool)        {}

// world is the media slice over the fakes, served over HTTP: alice organises meeting id, bob is in
// her account.
type world struct {
	t       *testing.T
	url, id string
	repo    *repo
	users   *users
}

func newWorld(t *testing.T, adjust func(*media.Deps)) *world {
	t.Helper()
	w := &world{t: t, id: "8a9d4d43-6f7e-4f0e-9c53-1f1e5c8e0a01", repo: &repo{states: map[string]meeting.State{}, events: map[string][]meeting.Event{}},
		users: &users{revoked: map[string]bool{}, byTok: map[string]chimeaccounts.User{
			"alice-token": {UserID: "alice", AccountID: "acct", Email: "alice@example.com", LicenseType: "Pro"},
			"bob-token":   {UserID: "bob", AccountID: "acct", Email: "bob@example.com", LicenseType: "Pro"},
		}}}
	w.repo.states[meeting.StreamName(w.id)] = meeting.Evolve(meeting.Initial(), meeting.Scheduled{AccountID: "acct", OrganizerID: "alice",
		Title: "Standup", StartsAt: time.Now().Add(time.Hour), At: time.Now()})
	d := media.Deps{Meetings: w.repo, Store: store{w.repo}, Directory: w.users, SFU: sfu{}}
	if adjust != nil {
		adjust(&d)
	}
	svc := media.New(d)
	e := echo.New()
	for _, r := range svc.ClientRoutes(w.users) {
		e.Add(r.Method, "/client/v1"+r.Path, r.Handler)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	w.url = "ws" + strings.TrimPrefix(srv.URL, "http")
	return w
}

// client is one signalling connection.
type client struct {
	t  *testing.T
	ws *websocket.Conn
}

func (w *world) dial(tok string) *client {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, w.url+"/client/v1/meetings/"+w.id+"/signal", &websocket.DialOptions{Subprotocols: []string{media.Protocol, "bearer." + tok}})
	if err != nil {
		w.t.Fatalf("dial: %v", err)
	}
	w.t.Cleanup(func() { _ = ws.CloseNow() })
	return &client{t: w.t, ws: ws}
}

func (c *client) send(m map[string]any) {
	c.t.Helper()
	b, _ := json.Marshal(m)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// msg is a signalling message as a client reads it.
type msg struct{ Type, Code, Message, Reason, Action, AttendeeID string }

// read reads the next message; err is the socket's end.
func (c *client) read(within time.Duration) (msg, error) {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	_, b, err := c.ws.Read(ctx)
	if err != nil {
		return msg{}, err
	}
	var m msg
	if err := json.Unmarshal(b, &m); err != nil {
		c.t.Fatalf("not JSON: %s", b)
	}
	return m, nil
}

// until reads messages until one satisfies ok (or the socket ends: the error).
func (c *client) until(within time.Duration, ok func(msg) bool) (msg, error) {
	deadline := time.Now().Add(within)
	for {
		m, err := c.read(time.Until(deadline))
		if err != nil || ok(m) {
			return m, err
		}
	}
}
