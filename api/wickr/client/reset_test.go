package client

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry/api/chime/clientapi"
	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr/roster"
	"github.com/belfry/belfry/projections/wickrusers"
)

// macKeys makes the index macs under a key per name (as infra/datakeys does).
type macKeys struct{ Keys }

func (macKeys) Index(_ context.Context, name string, value []byte) (string, error) {
	m := hmac.New(sha256.New, []byte("key of "+name))
	m.Write(value)
	return hex.EncodeToString(m.Sum(nil)), nil
}

// TestResetTokensAreNotInvitationTokens: a reset token checks under the reset key only, so no
// invitation token resets a password and no reset token registers.
func TestResetTokensAreNotInvitationTokens(t *testing.T) {
	ctx := context.Background()
	expires := time.Date(2026, 12, 2, 9, 0, 0, 123, time.UTC)
	tok, err := makeToken(ctx, macKeys{}, resetKey, "12345678", "1001", expires)
	if err != nil {
		t.Fatal(err)
	}
	link, err := parseToken(ctx, macKeys{}, resetKey, tok, roster.InvalidResetLink())
	if err != nil || link.networkID != "12345678" || link.userID != "1001" || !link.expires.Equal(expires) {
		t.Fatalf("the reset token: %+v %v", link, err)
	}
	if _, err := parseToken(ctx, macKeys{}, inviteKey, tok, ErrBadInvite); !errors.Is(err, ErrBadInvite) {
		t.Fatalf("a reset token as an invitation: %v", err)
	}
	inv, _ := makeToken(ctx, macKeys{}, inviteKey, "12345678", "1001", expires)
	if _, err := parseToken(ctx, macKeys{}, resetKey, inv, roster.InvalidResetLink()); !errors.Is(err, roster.ErrResetLink) {
		t.Fatalf("an invitation token as a reset token: %v", err)
	}
}

// TestResetRequestsAreThrottled: every request counts, per address and per source, whoever the
// address is; past the limit the request is refused with a wait.
func TestResetRequestsAreThrottled(t *testing.T) {
	l := newResetLimits(clientapi.SignInLimits{})
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for i := range clientapi.DefaultSignInLimits.Failures {
		if err := l.admit("alice@example.com", "192.0.2.1", now); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
	}
	err := l.admit("alice@example.com", "192.0.2.2", now)
	if !errors.Is(err, ErrResetThrottled) || domain.RetryAfterOf(err) <= 0 {
		t.Fatalf("past the limit for the address: %v", err)
	}
	if err := l.admit("nobody@example.com", "192.0.2.3", now); err != nil {
		t.Fatalf("another address from another source: %v", err)
	}
	for i := range clientapi.DefaultSignInLimits.FailuresPerIP {
		_ = l.admit("x"+string(rune('a'+i))+"@example.com", "198.51.100.7", now)
	}
	if err := l.admit("new@example.com", "198.51.100.7", now); !errors.Is(err, ErrResetThrottled) {
		t.Fatalf("past the limit for the source: %v", err)
	}
}

// fakeUsers is the users read model: the users of each username.
type fakeUsers map[string][]wickrusers.User

func (f fakeUsers) ByUsername(_ context.Context, username, _ string) ([]wickrusers.User, error) {
	return f[username], nil
}

// slowRoster decides roster commands on fixed states, each taking delay (an append to the log).
type slowRoster struct {
	*fakeRepo[roster.State, roster.Command, roster.Event]
	delay    time.Duration
	mu       sync.Mutex
	executed []roster.Event
}

func (r *slowRoster) Execute(_ context.Context, stream string, c roster.Command) (usecase.Decided[roster.State, roster.Event], error) {
	time.Sleep(r.delay)
	st, _, _ := r.read(stream)
	evs, err := roster.Decide(st, c, r.now)
	r.mu.Lock()
	r.executed = append(r.executed, evs...)
	r.mu.Unlock()
	return usecase.Decided[roster.State, roster.Event]{State: st, Events: evs}, err
}

// TestResetRequestTimingTellsNothing: a request for an active user's address, whose link the roster
// records (which takes time), answers as soon as one for an address no user has: the time of the
// answer does not tell whether the address is a user's.
func TestResetRequestTimingTellsNothing(t *testing.T) {
	f := newSweepFixture(t)
	f.network("12345678", 0, nil)
	f.user("12345678", "1001", func(u *roster.User) { u.Status = roster.StatusActive })
	slow := &slowRoster{fakeRepo: f.rosterRepo, delay: 80 * time.Millisecond}
	f.svc.d.Rosters.Repo = slow
	f.svc.d.Users = fakeUsers{"1001@corp.example": {{NetworkID: "12345678", UserID: "1001", Username: "1001@corp.example"}}}
	timed := func(email, ip string) time.Duration {
		start := time.Now()
		if err := PasswordResets(f.svc).Request(context.Background(), email, "", ip); err != nil {
			t.Fatalf("request for %s: %v", email, err)
		}
		return time.Since(start)
	}
	known, unknown := timed("1001@corp.example", "192.0.2.1"), timed("nobody@corp.example", "192.0.2.2")
	if len(slow.executed) != 1 {
		t.Fatalf("the active user's request is recorded: %#v", slow.executed)
	}
	if d := known - unknown; d < -30*time.Millisecond || d > 30*time.Millisecond {
		t.Fatalf("an active user's address answers in %s, an unknown one in %s", known, unknown)
	}
}
