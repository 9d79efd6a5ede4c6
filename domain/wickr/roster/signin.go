package roster

import (
	"bytes"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
)

// Unlock and reset reasons.
const (
	UnlockAutomatic = "auto24h"
	UnlockByAdmin   = "admin"
	ResetByAdmin    = "admin"
	ResetByLockout  = "forceDeviceLockout"
	MaxAppID        = 256
	MaxDeviceType   = 64
	// MaxDevices bounds the devices a user holds (active or reset): each sign-in from a new app id
	// registers one in the roster block, which its users share.
	MaxDevices = 100
)

// ErrTooManyDevices refuses a sign-in from a new device of a user that holds MaxDevices.
var ErrTooManyDevices = &domain.Error{Kind: domain.KindLimitExceeded, Msg: "too many devices"}

// PasswordShape is what the caller, which holds a new password in clear, reports of it: its length
// and how many characters of each class it has. Only the sealed hash enters events.
type PasswordShape struct{ Length, Lowercase, Uppercase, Numbers, Symbols int }

// Register completes a pending user's registration through its invite: the password (sealed hash and
// shape) and the first device. InviteExpiresAt is the expiry of the invitation the user's token was
// issued for (the caller checked the token's signature): a token of an invitation renewed since
// (BatchReinviteUser) is refused.
type Register struct {
	NetworkID, UserID, AppID, DeviceType string
	InviteExpiresAt                      time.Time
	Password                             domain.Sealed
	Shape                                PasswordShape
	Policy                               Policy
}

// SignIn is a sign-in attempt from a device; PasswordOK is the caller's check of the password
// against Checked, the user's sealed hash as the caller read it. A check against any other hash than
// the user's current one (the password was reset since the caller read it) is no check: the attempt
// fails, so that the old password opens no session once a reset is recorded. With SSO the caller
// verified the user at the network's identity provider instead (Subject is the provider's subject):
// no password is involved, and a pending user registers.
type SignIn struct {
	NetworkID, UserID, AppID, DeviceType string
	PasswordOK, SSO                      bool
	Checked                              domain.Sealed
	Subject                              string
	Policy                               Policy
}

func (c Register) network() string { return c.NetworkID }
func (c SignIn) network() string   { return c.NetworkID }

// CheckPassword checks a password's shape against a group's requirements (guide §21.6).
func CheckPassword(field string, p PasswordShape, r sg.PasswordRequirements) error {
	switch {
	case p.Length < r.MinLength:
		return wickr.Invalid(field, "must be at least %d characters", r.MinLength)
	case p.Lowercase < r.Lowercase:
		return wickr.Invalid(field, "must hold at least %d lowercase letters", r.Lowercase)
	case p.Uppercase < r.Uppercase:
		return wickr.Invalid(field, "must hold at least %d uppercase letters", r.Uppercase)
	case p.Numbers < r.Numbers:
		return wickr.Invalid(field, "must hold at least %d digits", r.Numbers)
	case p.Symbols < r.Symbols:
		return wickr.Invalid(field, "must hold at least %d special characters", r.Symbols)
	}
	return nil
}

// validDevice checks a device's app id and type as the client sent them: text (UTF-8, no NUL), not
// blank, bounded.
func validDevice(app, typ string) error {
	if !deviceText(app, MaxAppID) {
		return wickr.Invalid("appId", "must be 1 to %d characters of text without NUL", MaxAppID)
	}
	if !deviceText(typ, MaxDeviceType) {
		return wickr.Invalid("type", "the device's operating system is required: 1 to %d characters of text without NUL", MaxDeviceType)
	}
	return nil
}

// passwordChecked reports whether c carries a successful check of u's current password (not of one a
// reset replaced since the caller read it).
func passwordChecked(u *User, c SignIn) bool {
	return c.PasswordOK && !u.Password.IsZero() && c.Checked.KeyID == u.Password.KeyID && bytes.Equal(c.Checked.Data, u.Password.Data)
}

func deviceText(v string, max int) bool {
	return strings.TrimSpace(v) != "" && utf8.ValidString(v) && strings.IndexByte(v, 0) < 0 && utf8.RuneCountInString(v) <= max
}

func decideRegister(s State, c Register, now time.Time) ([]Event, error) {
	u, err := s.User(c.UserID)
	if err != nil {
		return nil, err
	}
	switch {
	case c.Policy.SSO:
		return nil, domain.Wrapf(ErrSSOOnly, "the network signs its users in through SSO: register with the company id")
	case u.Status != StatusPending:
		return nil, domain.Wrapf(ErrState, "user %s has already registered", u.ID)
	case !now.Before(u.InviteExpiresAt):
		return nil, domain.Wrapf(ErrInviteExpired, "the invitation of user %s expired at %s; ask for a new one", u.ID, u.InviteExpiresAt.Format(time.RFC3339))
	case !c.InviteExpiresAt.Equal(u.InviteExpiresAt):
		return nil, domain.Wrapf(ErrInviteExpired, "the invitation of user %s was renewed: use the newest invitation", u.ID)
	}
	if err := validDevice(c.AppID, c.DeviceType); err != nil {
		return nil, err
	}
	if err := CheckPassword("password", c.Shape, c.Policy.Settings(u.GroupID).PasswordRequirements); err != nil {
		return nil, err
	}
	if err := wickr.CheckSealed(c.NetworkID, wickr.UserSubject(u.ID), "password", c.Password); err != nil {
		return nil, err
	}
	return []Event{UserRegistered{UserID: u.ID, Password: c.Password, At: now},
		DeviceRegistered{UserID: u.ID, AppID: c.AppID, Type: c.DeviceType, At: now}}, nil
}

func decideSignIn(s State, c SignIn, now time.Time) ([]Event, error) {
	u, err := s.User(c.UserID)
	if err != nil {
		return nil, err
	}
	if err := validDevice(c.AppID, c.DeviceType); err != nil {
		return nil, err
	}
	var evs []Event
	switch {
	case c.SSO && !c.Policy.SSO:
		return nil, domain.Wrapf(ErrSSOOnly, "the network has no SSO configuration: sign in with the password")
	case !c.SSO && c.Policy.SSO:
		return nil, domain.Wrapf(ErrSSOOnly, "the network signs its users in through SSO: sign in with the company id")
	case c.SSO && u.Status == StatusPending:
		evs = append(evs, UserRegisteredSSO{UserID: u.ID, Subject: c.Subject, At: now})
	case u.Status != StatusActive:
		return nil, domain.Wrapf(ErrNotRegistered, "user %s has not registered: use the invitation", u.ID)
	}
	switch {
	case u.Suspended:
		return nil, domain.Wrapf(ErrSuspended, "the account of user %s is suspended", u.ID)
	case u.Locked(now):
		return nil, domain.Wrapf(ErrLocked, "the account is locked after failed sign-ins until %s", u.LockedUntil.Format(time.RFC3339))
	}
	failures := u.Failures
	if !u.LockedUntil.IsZero() {
		evs, failures = append(evs, UserUnlocked{UserID: u.ID, Reason: UnlockAutomatic, At: now}), 0
	}
	settings := c.Policy.Settings(u.GroupID)
	if !c.SSO && !passwordChecked(u, c) {
		n := failures + 1
		evs = append(evs, SignInFailed{UserID: u.ID, AppID: c.AppID, Failures: n, At: now})
		if settings.ForceDeviceLockout > 0 && n == settings.ForceDeviceLockout {
			if d, ok := u.Devices[c.AppID]; ok && d.Status == DeviceActive {
				evs = append(evs, DeviceWasReset{UserID: u.ID, AppID: c.AppID, Reason: ResetByLockout, At: now})
			}
		}
		if settings.LockoutThreshold > 0 && n >= settings.LockoutThreshold {
			evs = append(evs, UserLockedOut{UserID: u.ID, Until: now.Add(sg.LockoutDuration), At: now})
		}
		return evs, nil
	}
	if d, ok := u.Devices[c.AppID]; !ok && len(u.Devices) >= MaxDevices {
		return nil, domain.Wrapf(ErrTooManyDevices, "user %s holds %d devices, the most it may (reset ones included): sign in from one of them", u.ID, MaxDevices)
	} else if !ok || d.Status != DeviceActive {
		evs = append(evs, DeviceRegistered{UserID: u.ID, AppID: c.AppID, Type: c.DeviceType, At: now})
	}
	return append(evs, SignedIn{UserID: u.ID, AppID: c.AppID, At: now}), nil
}
