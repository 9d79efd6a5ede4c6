package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr/guest"
	"github.com/belfry/belfry/domain/wickr/network"
	"github.com/belfry/belfry/domain/wickr/roster"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
)

// errDown is the log not answering.
var errDown = errors.New("the log does not answer")

// fakeRepo is a repository over fixed states; a stream in down fails; calls counts the reads.
type fakeRepo[S, C, E any] struct {
	now    time.Time
	states map[string]S
	down   map[string]bool
	mu     sync.Mutex
	calls  int
}

func (r *fakeRepo[S, C, E]) read(stream string) (S, bool, error) {
	r.mu.Lock()
	r.calls++
	r.mu.Unlock()
	st, ok := r.states[stream]
	if r.down[stream] {
		return st, false, fmt.Errorf("reading %s: %w", stream, errDown)
	}
	return st, ok, nil
}

func (r *fakeRepo[S, C, E]) Execute(context.Context, string, C) (usecase.Decided[S, E], error) {
	panic("a sweep decides no command")
}

func (r *fakeRepo[S, C, E]) ExecuteFunc(_ context.Context, stream string, decide func(S, time.Time) ([]E, error)) (usecase.Decided[S, E], error) {
	st, _, err := r.read(stream)
	if err == nil {
		_, err = decide(st, r.now)
	}
	return usecase.Decided[S, E]{State: st}, err
}

func (r *fakeRepo[S, C, E]) Load(_ context.Context, stream string) (S, int64, error) {
	st, ok, err := r.read(stream)
	if err == nil && !ok {
		return st, -1, nil
	}
	return st, 0, err
}

func (r *fakeRepo[S, C, E]) Peek(context.Context, string) (S, error) { panic("not used") }

func (r *fakeRepo[S, C, E]) Inspect(context.Context, string, bool, func(S) error) error {
	panic("not used")
}

// fakeSessions is the session table in memory.
type fakeSessions struct {
	m      map[string]Session
	closed []string
}

func (f *fakeSessions) Open(_ context.Context, hash string, s Session, _ int) error {
	f.m[hash] = s
	return nil
}

func (f *fakeSessions) Lookup(_ context.Context, hash string) (Session, error) {
	s, ok := f.m[hash]
	if !ok {
		return Session{}, &domain.Error{Kind: domain.KindNotFound, Msg: "no session"}
	}
	return s, nil
}

func (f *fakeSessions) Refreshed(context.Context, string, time.Time, domain.Sealed) error {
	panic("a sweep renews no session")
}

func (f *fakeSessions) RefreshFailed(context.Context, string, time.Time) (time.Time, error) {
	panic("a sweep renews no session")
}

func (f *fakeSessions) Close(_ context.Context, hash string) error {
	delete(f.m, hash)
	f.closed = append(f.closed, hash)
	return nil
}

func (f *fakeSessions) After(_ context.Context, after string, limit int) ([]StoredSession, error) {
	var out []StoredSession
	for h, s := range f.m {
		if h > after {
			out = append(out, StoredSession{TokenHash: h, Session: s})
		}
	}
	slices.SortFunc(out, func(a, b StoredSession) int { return strings.Compare(a.TokenHash, b.TokenHash) })
	return out[:min(limit, len(out))], nil
}

// noOutbound fails the test on any request to an identity provider.
type noOutbound struct{ t *testing.T }

func (n noOutbound) RoundTrip(r *http.Request) (*http.Response, error) {
	n.t.Errorf("a sweep called out: %s", r.URL)
	return nil, errors.New("no outbound call")
}

// sweepFixture is a slice over fixed networks, rosters and guests, and the sessions opened on them
// at t0; the clock is an hour later.
type sweepFixture struct {
	svc        *Service
	sessions   *fakeSessions
	netRepo    *fakeRepo[network.State, network.Command, network.Event]
	rosterRepo *fakeRepo[roster.State, roster.Command, roster.Event]
	guestRepo  *fakeRepo[guest.State, guest.Command, guest.Event]
}

var t0 = time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)

func newSweepFixture(t *testing.T) *sweepFixture {
	now := t0.Add(time.Hour)
	f := &sweepFixture{sessions: &fakeSessions{m: map[string]Session{}},
		netRepo:    &fakeRepo[network.State, network.Command, network.Event]{now: now, states: map[string]network.State{}, down: map[string]bool{}},
		rosterRepo: &fakeRepo[roster.State, roster.Command, roster.Event]{now: now, states: map[string]roster.State{}, down: map[string]bool{}},
		guestRepo:  &fakeRepo[guest.State, guest.Command, guest.Event]{now: now, states: map[string]guest.State{}, down: map[string]bool{}}}
	f.svc = New(Deps{Networks: usecase.Networks{Repo: f.netRepo}, Rosters: usecase.Rosters{Repo: f.rosterRepo},
		Guests: usecase.Guests{Repo: f.guestRepo}, Sessions: f.sessions, Now: func() time.Time { return now },
		IdP: &http.Client{Transport: noOutbound{t}}})
	return f
}

// network adds a live network whose default group "g" has a non-SSO timeout of timeout minutes.
func (f *sweepFixture) network(id string, timeout int, oidc *network.OIDCConfig) {
	g := sg.Defaults()
	g.MaxNonSSOSessionMinutes = timeout
	f.netRepo.states[network.StreamName(id)] = network.State{ID: id, Status: network.StatusActive, DefaultGroupID: "g",
		Groups: map[string]*network.Group{"g": {ID: "g", IsDefault: true, Settings: g}}, OIDC: oidc}
}

// user adds a user of a network with an active device "phone" (and whatever edit changes).
func (f *sweepFixture) user(networkID, userID string, edit func(*roster.User)) {
	stream := roster.StreamName(networkID, userID)
	st := f.rosterRepo.states[stream]
	if st.Users == nil {
		st = roster.State{NetworkID: networkID, Users: map[string]*roster.User{}}
	}
	u := &roster.User{ID: userID, Username: userID + "@corp.example", GroupID: "g",
		Devices: map[string]*roster.Device{"phone": {AppID: "phone", Status: roster.DeviceActive, Created: t0.Add(-time.Minute)}}}
	if edit != nil {
		edit(u)
	}
	st.Users[userID] = u
	f.rosterRepo.states[stream] = st
}

// open stores a session of a user's phone issued at t0.
func (f *sweepFixture) open(hash, networkID, userID string, sso bool) {
	f.sessions.m[hash] = Session{Session: roster.Session{UserID: userID, AppID: "phone", IssuedAt: t0, SSO: sso}, NetworkID: networkID,
		ExpiresAt: t0, Refresh: domain.Sealed{KeyID: "k", Data: []byte("sealed")}}
}

// TestSweepSessionsDeletesOnlyWhatIsOver: the sweep deletes the sessions the roster (or the guest
// account) says are over, across pages; it keeps the open ones, calls no identity provider for an
// SSO session due for renewal, and deletes nothing whose check failed.
func TestSweepSessionsDeletesOnlyWhatIsOver(t *testing.T) {
	f := newSweepFixture(t)
	f.network("n1", 0, nil)
	f.network("timeout", 30, nil)
	f.network("sso", 0, &network.OIDCConfig{Issuer: "https://idp.example", ClientID: "c", SSOTokenBufferMinutes: 5})
	f.network("down", 0, nil)
	f.netRepo.down[network.StreamName("down")] = true
	f.network("rosterdown", 0, nil)
	f.netRepo.states[network.StreamName("gone")] = network.State{ID: "gone", Status: network.StatusDeleted}
	f.user("n1", "alice", nil)
	f.user("n1", "reset", func(u *roster.User) { u.Devices["phone"].Status = "Reset" })
	f.user("n1", "deleted", func(u *roster.User) { u.Deleted = true })
	f.user("n1", "suspended", func(u *roster.User) { u.Suspended = true })
	f.user("timeout", "slow", nil)
	f.user("sso", "carol", nil)
	f.user("rosterdown", "dan", nil)
	f.rosterRepo.down[roster.StreamName("rosterdown", "dan")] = true
	f.guestRepo.states[guest.StreamPrefix+"g-live"] = guest.State{UsernameHash: "g-live", Live: true}
	f.guestRepo.states[guest.StreamPrefix+"g-deleted"] = guest.State{UsernameHash: "g-deleted"}
	f.guestRepo.down[guest.StreamPrefix+"g-down"] = true

	for i := range 2*sweepPage + 7 { // three pages
		f.open(fmt.Sprintf("live-%04d", i), "n1", "alice", false)
	}
	f.open("over-reset", "n1", "reset", false)
	f.open("over-deleted", "n1", "deleted", false)
	f.open("over-suspended", "n1", "suspended", false)
	f.open("over-no-user", "n1", "nobody", false)
	f.open("over-timeout", "timeout", "slow", false)
	f.open("over-network", "gone", "eve", false)
	f.open("keep-sso", "sso", "carol", true)
	f.open("keep-down", "down", "frank", false)
	f.open("keep-rosterdown", "rosterdown", "dan", false)
	for _, g := range []string{"g-live", "g-deleted", "g-down", "g-never"} {
		f.sessions.m["guest-"+g] = Session{Session: roster.Session{AppID: "phone", IssuedAt: t0}, GuestHash: g}
	}

	checked, removed, err := f.svc.SweepSessions(context.Background())
	if !errors.Is(err, errDown) {
		t.Fatalf("the first failed check is answered: %v", err)
	}
	wantRemoved := []string{"guest-g-deleted", "guest-g-never", "over-deleted", "over-network", "over-no-user", "over-reset", "over-suspended", "over-timeout"}
	slices.Sort(f.sessions.closed)
	if !slices.Equal(f.sessions.closed, wantRemoved) || removed != len(wantRemoved) {
		t.Fatalf("removed %d: %v, want %v", removed, f.sessions.closed, wantRemoved)
	}
	if total := 2*sweepPage + 7 + 9 + 4; checked != total-3 {
		t.Fatalf("checked %d, want every session but the 3 whose check failed (%d)", checked, total-3)
	}
	for _, h := range []string{"live-0000", fmt.Sprintf("live-%04d", 2*sweepPage+6), "keep-sso", "keep-down", "keep-rosterdown", "guest-g-live", "guest-g-down"} {
		if _, ok := f.sessions.m[h]; !ok {
			t.Errorf("%s was deleted", h)
		}
	}
}

// TestSweepSessionsStopsWhenTheLogIsDown: checks failing in a row end the sweep before it reaches
// the rest, and nothing is deleted.
func TestSweepSessionsStopsWhenTheLogIsDown(t *testing.T) {
	f := newSweepFixture(t)
	f.network("down", 0, nil)
	f.netRepo.down[network.StreamName("down")] = true
	for i := range 3 * sweepGiveUp {
		f.open(fmt.Sprintf("a-%02d", i), "down", "u", false)
	}
	f.open("z-over", "gone", "u", false) // after them in token hash order
	checked, removed, err := f.svc.SweepSessions(context.Background())
	if !errors.Is(err, errDown) || checked != 0 || removed != 0 || len(f.sessions.closed) != 0 {
		t.Fatalf("checked %d, removed %d (%v), %v", checked, removed, f.sessions.closed, err)
	}
	if f.netRepo.calls != sweepGiveUp {
		t.Fatalf("%d checks, want the sweep to stop after %d failures in a row", f.netRepo.calls, sweepGiveUp)
	}
}
