package roster_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/roster"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
)

func TestRegistrationThroughTheNewestInviteAndSSO(t *testing.T) {
	t.Parallel()
	renewed := given(alice, roster.UserReinvited{UserID: "1001", InviteExpiresAt: now.Add(48 * time.Hour), At: now})
	register := roster.Register{NetworkID: net, UserID: "1001", AppID: "app-1", DeviceType: "MacOSX", InviteExpiresAt: alice.InviteExpiresAt, Password: pw, Shape: good, Policy: policy}
	ssoSignIn := roster.SignIn{NetworkID: net, UserID: "1001", AppID: "app-1", DeviceType: "iOS", SSO: true, Subject: "sub-1", Policy: sso}
	withSSO := register
	withSSO.Policy = sso
	pwSignIn := roster.SignIn{NetworkID: net, UserID: "1001", AppID: "app-1", DeviceType: "iOS", PasswordOK: true, Checked: pw, Policy: sso}
	run(t, []tcase{
		{"a token of a renewed invitation", renewed, register, nil, nil, roster.ErrInviteExpired, ""},
		{"no password registration with SSO", given(alice), withSSO, nil, nil, roster.ErrSSOOnly, ""},
		{"no password sign-in with SSO", given(alice, aliceOK, laptop), pwSignIn, nil, nil, roster.ErrSSOOnly, ""},
		{"a pending user registers at its first SSO sign-in", given(alice), ssoSignIn, []roster.Event{
			roster.UserRegisteredSSO{UserID: "1001", Subject: "sub-1", At: now},
			roster.DeviceRegistered{UserID: "1001", AppID: "app-1", Type: "iOS", At: now},
			roster.SignedIn{UserID: "1001", AppID: "app-1", At: now}}, nil, nil, ""},
		{"no SSO sign-in without SSO", given(alice), roster.SignIn{NetworkID: net, UserID: "1001", AppID: "app-1", DeviceType: "iOS", SSO: true, Policy: policy}, nil, nil, roster.ErrSSOOnly, ""},
	})
}

func TestCheckSession(t *testing.T) {
	t.Parallel()
	timed := sg.Defaults()
	timed.MaxNonSSOSessionMinutes = 60
	p := roster.Policy{Groups: map[string]sg.Settings{"g1": timed}}
	sess := roster.Session{UserID: "1001", AppID: "app-1", IssuedAt: now}
	later := now.Add(time.Minute)
	for _, tc := range []struct {
		name  string
		state roster.State
		sess  roster.Session
		p     roster.Policy
		at    time.Time
		open  bool
	}{
		{"open", given(alice, aliceOK, laptop), sess, p, later, true},
		{"the group's non-SSO timeout", given(alice, aliceOK, laptop), sess, p, now.Add(time.Hour), false},
		{"suspended", given(alice, aliceOK, laptop, roster.UserSuspended{UserID: "1001", At: later}), sess, p, later, false},
		{"suspended and unsuspended since", given(alice, aliceOK, laptop, roster.UserSuspended{UserID: "1001", At: later}, roster.UserUnsuspended{UserID: "1001", At: later}), sess, p, later, false},
		{"locked out", given(alice, aliceOK, laptop, roster.UserLockedOut{UserID: "1001", Until: later.Add(24 * time.Hour), At: later}), sess, p, later, false},
		{"deleted", given(alice, aliceOK, laptop, roster.UserDeleted{UserID: "1001", At: later}), sess, p, later, false},
		{"device reset", given(alice, aliceOK, laptop, roster.DeviceWasReset{UserID: "1001", AppID: "app-1", At: later}), sess, p, later, false},
		{"device reset and signed in again", given(alice, aliceOK, laptop, roster.DeviceWasReset{UserID: "1001", AppID: "app-1", At: later},
			roster.DeviceRegistered{UserID: "1001", AppID: "app-1", Type: "iOS", At: later}), sess, p, later, false},
		{"the new session of that device", given(alice, aliceOK, laptop, roster.DeviceWasReset{UserID: "1001", AppID: "app-1", At: later},
			roster.DeviceRegistered{UserID: "1001", AppID: "app-1", Type: "iOS", At: later}), roster.Session{UserID: "1001", AppID: "app-1", IssuedAt: later}, p, later, true},
		{"a password session once SSO is on", given(alice, aliceOK, laptop), sess, roster.Policy{Groups: p.Groups, SSO: true}, later, false},
		{"an SSO session has no non-SSO timeout", given(alice, aliceOK, laptop), roster.Session{UserID: "1001", AppID: "app-1", IssuedAt: now, SSO: true},
			roster.Policy{Groups: p.Groups, SSO: true}, now.Add(2 * time.Hour), true},
	} {
		err := roster.CheckSession(tc.state, tc.sess, tc.p, tc.at)
		if tc.open != (err == nil) || err != nil && !errors.Is(err, roster.ErrSessionEnded) {
			t.Errorf("%s: open %v, got %v", tc.name, tc.open, err)
		}
	}
}

// A device's app id and type come from the client: the roster refuses ones that are not text
// (invalid UTF-8, NUL) or that are too long, whichever slice sends them.
func TestDeviceFromTheClientIsText(t *testing.T) {
	t.Parallel()
	signIn := func(app, typ string) roster.SignIn {
		return roster.SignIn{NetworkID: net, UserID: "1001", AppID: app, DeviceType: typ, PasswordOK: true, Checked: pw, Policy: policy}
	}
	active := given(alice, aliceOK, laptop)
	run(t, []tcase{
		{"a NUL in the app id", active, signIn("app\x00-2", "iOS"), nil, nil, wickr.ErrValidation, "appId"},
		{"an app id that is not UTF-8", active, signIn("app-\xff", "iOS"), nil, nil, wickr.ErrValidation, "appId"},
		{"a blank app id", active, signIn("   ", "iOS"), nil, nil, wickr.ErrValidation, "appId"},
		{"a NUL in the type", active, signIn("app-2", "iOS\x00"), nil, nil, wickr.ErrValidation, "type"},
		{"a type of 65 characters", active, signIn("app-2", strings.Repeat("x", 65)), nil, nil, wickr.ErrValidation, "type"},
	})
}

// Every sign-in from a new app id registers a device in the roster block: a user's devices are
// bounded (MaxDevices), a reset device signing in again takes no new place.
func TestDevicesPerUserAreBounded(t *testing.T) {
	t.Parallel()
	events := []roster.Event{alice, aliceOK}
	for i := range roster.MaxDevices {
		events = append(events, roster.DeviceRegistered{UserID: "1001", AppID: fmt.Sprintf("app-%d", i), Type: "iOS", At: now})
	}
	full := given(events...)
	reset := given(append(events, roster.DeviceWasReset{UserID: "1001", AppID: "app-0", At: now})...)
	run(t, []tcase{
		{"one device too many", full, roster.SignIn{NetworkID: net, UserID: "1001", AppID: "app-new", DeviceType: "iOS", PasswordOK: true, Checked: pw, Policy: policy},
			nil, nil, roster.ErrTooManyDevices, ""},
		{"a known device signs in", full, roster.SignIn{NetworkID: net, UserID: "1001", AppID: "app-1", DeviceType: "iOS", PasswordOK: true, Checked: pw, Policy: policy},
			[]roster.Event{roster.SignedIn{UserID: "1001", AppID: "app-1", At: now}}, nil, nil, ""},
		{"a reset device signs in again", reset, roster.SignIn{NetworkID: net, UserID: "1001", AppID: "app-0", DeviceType: "iOS", PasswordOK: true, Checked: pw, Policy: policy},
			[]roster.Event{roster.DeviceRegistered{UserID: "1001", AppID: "app-0", Type: "iOS", At: now}, roster.SignedIn{UserID: "1001", AppID: "app-0", At: now}}, nil, nil, ""},
	})
}
