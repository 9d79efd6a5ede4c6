package roster

import (
	"slices"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
)

// Password reset (guide §21.6): a user who forgot its password asks for a reset link from the login
// screen (RequestPasswordReset) and sets a new password through it (ResetPassword).
//
// Invariants:
//   - Only an active user of a network without SSO that is not suspended gets a link (an SSO user
//     resets at the identity provider); a lockout does not stop it, since the reset unlocks.
//   - A link is valid PasswordResetTTL (24 hours) from its request; a newer request replaces it
//     (User.ResetExpiresAt is the current link's expiry, the link names it), and a reset spends it:
//     a link resets at most once, and only the newest one does. A suspension voids it, even once it
//     is over (as it ends the sessions issued before it): an unsuspended user asks for a new link.
//   - A reset is a full account reset: the new password meets the group's requirements and only its
//     sealed hash is recorded; the failed sign-ins are cleared, a lockout ends (UserUnlocked), every
//     active device is reset (DeviceWasReset), so every session of the user ends (CheckSession). The
//     user's removal from its rooms follows PasswordReset outside the roster (a side effect).

// Password reset constants.
const (
	// PasswordResetTTL is how long a reset link is valid (guide §21.6: the link expires after 24 hours).
	PasswordResetTTL = 24 * time.Hour
	// ResetByPassword is the reason of the device resets and the unlock of a password reset.
	ResetByPassword = "passwordReset"
)

// ErrResetLink refuses a reset through a link that is not the user's current one: unknown, expired,
// replaced by a newer request or already used. It does not say which.
var ErrResetLink = &domain.Error{Kind: domain.KindForbidden, Msg: "the password reset link is not valid"}

// RequestPasswordReset asks for a reset link for a user ("Forgot password").
type RequestPasswordReset struct {
	NetworkID, UserID string
	Policy            Policy
}

// ResetPassword sets a new password through a reset link. LinkExpiresAt is the expiry the link's
// token names (the caller checked its mac); Password is the new password's sealed hash and Shape what
// the caller reports of it.
type ResetPassword struct {
	NetworkID, UserID string
	LinkExpiresAt     time.Time
	Password          domain.Sealed
	Shape             PasswordShape
	Policy            Policy
}

func (c RequestPasswordReset) network() string { return c.NetworkID }
func (c ResetPassword) network() string        { return c.NetworkID }

// InvalidResetLink is the one refusal of a link that is not the user's current one.
func InvalidResetLink() error {
	return domain.Wrapf(ErrResetLink, "the password reset link is not valid: it expired, was used, or a newer request replaced it; ask for a new one")
}

func decideRequestReset(s State, c RequestPasswordReset, now time.Time) ([]Event, error) {
	u, err := s.User(c.UserID)
	if err != nil {
		return nil, err
	}
	if err := resettable(u, c.Policy); err != nil {
		return nil, err
	}
	return []Event{PasswordResetRequested{UserID: u.ID, ExpiresAt: now.Add(PasswordResetTTL), At: now}}, nil
}

func decideResetPassword(s State, c ResetPassword, now time.Time) ([]Event, error) {
	u, err := s.User(c.UserID)
	if err != nil || u.ResetExpiresAt.IsZero() || !c.LinkExpiresAt.Equal(u.ResetExpiresAt) || !now.Before(u.ResetExpiresAt) {
		return nil, InvalidResetLink()
	}
	if err := resettable(u, c.Policy); err != nil {
		return nil, err
	}
	if err := CheckPassword("Password", c.Shape, c.Policy.Settings(u.GroupID).PasswordRequirements); err != nil {
		return nil, err
	}
	if err := wickr.CheckSealed(c.NetworkID, wickr.UserSubject(u.ID), "Password", c.Password); err != nil {
		return nil, err
	}
	evs := []Event{PasswordReset{UserID: u.ID, Password: c.Password, At: now}}
	for _, app := range u.activeDevices() {
		evs = append(evs, DeviceWasReset{UserID: u.ID, AppID: app, Reason: ResetByPassword, At: now})
	}
	if !u.LockedUntil.IsZero() {
		evs = append(evs, UserUnlocked{UserID: u.ID, Reason: ResetByPassword, At: now})
	}
	return evs, nil
}

// resettable refuses a reset (its request or its link) for a user of a network with SSO, one that has
// not registered, or one suspended.
func resettable(u *User, p Policy) error {
	switch {
	case p.SSO:
		return domain.Wrapf(ErrSSOOnly, "the network signs its users in through SSO: reset the password at the identity provider")
	case u.Status != StatusActive:
		return domain.Wrapf(ErrNotRegistered, "user %s has not registered: use the invitation", u.ID)
	case u.Suspended:
		return domain.Wrapf(ErrSuspended, "the account of user %s is suspended", u.ID)
	}
	return nil
}

// activeDevices are the app ids of the user's active devices, sorted (a decision lists them in a
// stable order).
func (u *User) activeDevices() []string {
	var out []string
	for id, d := range u.Devices {
		if d.Status == DeviceActive {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}
