package roster_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/roster"
)

// TestPasswordResetRequest: only an active user of a network without SSO that is not suspended gets
// a link (guide §21.6), valid 24 hours; a locked-out user does (the reset unlocks it).
func TestPasswordResetRequest(t *testing.T) {
	t.Parallel()
	request := func(p roster.Policy) roster.RequestPasswordReset {
		return roster.RequestPasswordReset{NetworkID: net, UserID: "1001", Policy: p}
	}
	link := []roster.Event{roster.PasswordResetRequested{UserID: "1001", ExpiresAt: now.Add(24 * time.Hour), At: now}}
	run(t, []tcase{
		{"an active user gets a link valid 24 hours", given(alice, aliceOK, laptop), request(policy), link, nil, nil, ""},
		{"a locked-out user too", given(alice, aliceOK, roster.UserLockedOut{UserID: "1001", Until: now.Add(time.Hour)}), request(policy), link, nil, nil, ""},
		{"a newer request gives a new link", given(alice, aliceOK, roster.PasswordResetRequested{UserID: "1001", ExpiresAt: now.Add(time.Hour)}), request(policy), link, nil, nil, ""},
		{"an SSO user resets at the identity provider", given(alice, aliceOK), request(sso), nil, nil, roster.ErrSSOOnly, ""},
		{"a pending user registers instead", given(alice), request(policy), nil, nil, roster.ErrNotRegistered, ""},
		{"a suspended user gets none", given(alice, aliceOK, roster.UserSuspended{UserID: "1001"}), request(policy), nil, nil, roster.ErrSuspended, ""},
		{"a deleted user gets none", given(alice, aliceOK, roster.UserDeleted{UserID: "1001"}), request(policy), nil, nil, roster.ErrNotFound, ""},
	})
	if _, err := roster.Decide(given(alice, aliceOK), request(sso), now); err == nil || !strings.Contains(err.Error(), "identity provider") {
		t.Fatalf("the SSO refusal says where to reset: %v", err)
	}
}

// TestResetPassword: the current link, before it expires and once, sets a new password meeting the
// group's rules; the reset is a full account reset (every active device reset, the lockout and the
// failed sign-ins cleared).
func TestResetPassword(t *testing.T) {
	t.Parallel()
	expires := now.Add(time.Hour)
	requested := roster.PasswordResetRequested{UserID: "1001", ExpiresAt: expires, At: now.Add(-23 * time.Hour)}
	phone := roster.DeviceRegistered{UserID: "1001", AppID: "app-2", Type: "iOS", At: now}
	old := roster.DeviceRegistered{UserID: "1001", AppID: "app-3", Type: "Linux", At: now}
	wasReset := roster.DeviceWasReset{UserID: "1001", AppID: "app-3", Reason: roster.ResetByAdmin, At: now}
	failed := roster.SignInFailed{UserID: "1001", AppID: "app-1", Failures: 3}
	lockout := roster.UserLockedOut{UserID: "1001", Until: now.Add(time.Hour)}
	pw2 := domain.Sealed{KeyID: pw.KeyID, Data: []byte{3, 4}}
	reset := func(link time.Time, shape roster.PasswordShape, p roster.Policy) roster.ResetPassword {
		return roster.ResetPassword{NetworkID: net, UserID: "1001", LinkExpiresAt: link, Password: pw2, Shape: shape, Policy: p}
	}
	ready := given(alice, aliceOK, laptop, phone, old, wasReset, failed, lockout, requested)
	run(t, []tcase{
		{"a full account reset", ready, reset(expires, good, policy), []roster.Event{
			roster.PasswordReset{UserID: "1001", Password: pw2, At: now},
			roster.DeviceWasReset{UserID: "1001", AppID: "app-1", Reason: roster.ResetByPassword, At: now},
			roster.DeviceWasReset{UserID: "1001", AppID: "app-2", Reason: roster.ResetByPassword, At: now},
			roster.UserUnlocked{UserID: "1001", Reason: roster.ResetByPassword, At: now}}, nil, nil, ""},
		{"the group's password rules", ready, reset(expires, roster.PasswordShape{Length: 12, Lowercase: 12}, policy), nil, nil, wickr.ErrValidation, "Password"},
		{"a password in clear", ready, roster.ResetPassword{NetworkID: net, UserID: "1001", LinkExpiresAt: expires, Password: domain.Sealed{Data: []byte("pw")},
			Shape: good, Policy: policy}, nil, nil, wickr.ErrUnsealed, "Password"},
		{"a link replaced by a newer request", given(alice, aliceOK, requested, roster.PasswordResetRequested{UserID: "1001", ExpiresAt: expires.Add(time.Minute)}),
			reset(expires, good, policy), nil, nil, roster.ErrResetLink, ""},
		{"an expired link", given(alice, aliceOK, roster.PasswordResetRequested{UserID: "1001", ExpiresAt: now}), reset(now, good, policy), nil, nil, roster.ErrResetLink, ""},
		{"a used link", given(alice, aliceOK, requested, roster.PasswordReset{UserID: "1001", Password: pw2}), reset(expires, good, policy), nil, nil, roster.ErrResetLink, ""},
		{"no link was asked for", given(alice, aliceOK), reset(time.Time{}, good, policy), nil, nil, roster.ErrResetLink, ""},
		{"a deleted user's link", given(alice, aliceOK, requested, roster.UserDeleted{UserID: "1001"}), reset(expires, good, policy), nil, nil, roster.ErrResetLink, ""},
		{"the network turned SSO on since", given(alice, aliceOK, requested), reset(expires, good, sso), nil, nil, roster.ErrSSOOnly, ""},
		{"suspended since", given(alice, aliceOK, requested, roster.UserSuspended{UserID: "1001"}), reset(expires, good, policy), nil, nil, roster.ErrResetLink, ""},
		{"suspended and unsuspended since: the suspension voided the link", given(alice, aliceOK, requested, roster.UserSuspended{UserID: "1001"},
			roster.UserUnsuspended{UserID: "1001"}), reset(expires, good, policy), nil, nil, roster.ErrResetLink, ""},
	})
}

// TestPasswordResetFolds: given a reset, the new password holds, the link is spent, the lockout and
// failures are gone and every session of the user has ended.
func TestPasswordResetFolds(t *testing.T) {
	t.Parallel()
	expires := now.Add(time.Hour)
	pw2 := domain.Sealed{KeyID: pw.KeyID, Data: []byte{3, 4}}
	earlier := now.Add(-time.Minute)
	s := given(alice, aliceOK, roster.DeviceRegistered{UserID: "1001", AppID: "app-1", Type: "MacOSX", At: earlier},
		roster.SignInFailed{UserID: "1001", Failures: 3}, roster.UserLockedOut{UserID: "1001", Until: now.Add(time.Hour), At: earlier},
		roster.PasswordResetRequested{UserID: "1001", ExpiresAt: expires, At: earlier})
	if u := s.Users["1001"]; !u.ResetExpiresAt.Equal(expires) {
		t.Fatalf("given a request, the link's expiry is the user's: %v", u.ResetExpiresAt)
	}
	evs, err := roster.Decide(s, roster.ResetPassword{NetworkID: net, UserID: "1001", LinkExpiresAt: expires, Password: pw2, Shape: good, Policy: policy}, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		s = roster.Evolve(s, e)
	}
	u := s.Users["1001"]
	if !u.ResetExpiresAt.IsZero() || !u.LockedUntil.IsZero() || u.Failures != 0 || string(u.Password.Data) != string(pw2.Data) {
		t.Fatalf("after the reset: %+v", u)
	}
	later := roster.Session{UserID: "1001", AppID: "app-1", IssuedAt: now}
	if err := roster.CheckSession(s, later, policy, now.Add(time.Second)); !errors.Is(err, roster.ErrSessionEnded) {
		t.Fatalf("a session of a device the reset reset must end: %v", err)
	}
	signIn := func(checked domain.Sealed) []roster.Event {
		evs, err := roster.Decide(s, roster.SignIn{NetworkID: net, UserID: "1001", AppID: "app-1", DeviceType: "iOS", PasswordOK: true, Checked: checked, Policy: policy}, now)
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	if evs := signIn(pw2); len(evs) == 0 || !isSignedIn(evs[len(evs)-1]) {
		t.Fatalf("then the user signs in with the new password (unlocked): %#v", evs)
	}
	if evs := signIn(pw); len(evs) != 1 || isSignedIn(evs[0]) {
		t.Fatalf("a check of the old password, made before the reset and decided after, must fail: %#v", evs)
	}
}

func isSignedIn(e roster.Event) bool { _, ok := e.(roster.SignedIn); return ok }
