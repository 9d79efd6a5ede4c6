// Package roster models the users of one block of RosterBlockSize user ids of a Wickr network (stream
// "wickr.roster-<networkId>-<block>"; see package wickr for why users are grouped so): their
// lifecycle, devices, failed sign-ins and lockout.
//
// Invariants:
//   - Pending → Active (registration through the invite, before it expires) → Suspended ⇄ Active;
//     any → Deleted, which is final: a deleted user takes no command and its id is never reused.
//     Re-inviting is for pending users and renews the invite's expiry.
//   - A username (the e-mail address, the registration identifier) is set at creation and never
//     changes (guide §21.5); its uniqueness is the directory's (package directory), claimed first.
//   - A user belongs to exactly one security group of the network (Policy.Groups); users of a deleted
//     group move to the default group (MoveGroup).
//   - Batches hold 1–50 items; each item is decided alone and a refused item is reported with the
//     field and reason (ItemFailure); with SSO on, bulk delete and bulk suspend (more than one user)
//     are refused (guide §14.3).
//   - Sign-in: a pending, suspended or deleted user cannot sign in; lockoutThreshold consecutive
//     failures lock the account for 24 hours (it unlocks by itself at the first sign-in after that,
//     by an admin's unsuspend, or by a password reset; until then the admin sees the user suspended: SuspendedAt);
//     forceDeviceLockout failures reset the device. A successful sign-in
//     registers an unknown or reset device; a user holds at most MaxDevices (reset ones included), and
//     a device's app id and type are text (UTF-8, no NUL, not blank, bounded). A password is set at registration, through the newest
//     invitation before it expires, or by a password reset, through the newest reset link before it
//     expires (reset.go); either way it is checked against the group's requirements and sealed under
//     the user's key. A network with SSO signs in through its identity provider only (a pending user
//     registers at its first SSO sign-in); one without, by password only.
//   - Sessions (CheckSession): a session of a device ends when the user is deleted, suspended or
//     locked out (even once that is over), when the device is reset (by an admin, the forceDeviceLockout
//     failures or a password reset; even once it signed in again:
//     the new sign-in opens a new session), after the group's maxNonSsoSessionMinutes for a password
//     session, and for every password session once the network has SSO.
//   - The outcome of SignIn is in its events: SignInFailed (and UserLockedOut) mean refused. A
//     password sign-in succeeds only on a check of the user's current hash (SignIn.Checked): one
//     checked against a hash a reset replaced since fails.
//   - Evolve updates the maps of a state in place: the command path serializes every use of a stream.
package roster

import (
	"fmt"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
)

// Stream prefix, statuses (model UserStatus) and limits.
const (
	StreamPrefix     = "wickr.roster-"
	StatusPending    = 1
	StatusActive     = 2
	MaxBatch         = 50
	MaxNameLength    = 256
	DeviceActive     = "Active"
	DeviceReset      = "Reset"
	InviteTTL        = 7 * 24 * time.Hour
	MaxInviteTTLDays = 365
)

// StreamName is the roster stream that holds a user.
func StreamName(networkID, userID string) string {
	return StreamPrefix + networkID + "-" + wickr.RosterBlock(userID)
}

// Sentinels.
var (
	ErrNotFound      = &domain.Error{Kind: domain.KindNotFound, Msg: "user not found"}
	ErrState         = &domain.Error{Kind: domain.KindInvalid, Msg: "not allowed in the user's status"}
	ErrSuspended     = &domain.Error{Kind: domain.KindForbidden, Msg: "account suspended"}
	ErrLocked        = &domain.Error{Kind: domain.KindForbidden, Msg: "account locked after failed sign-ins"}
	ErrNotRegistered = &domain.Error{Kind: domain.KindForbidden, Msg: "the user has not registered"}
	ErrInviteExpired = &domain.Error{Kind: domain.KindForbidden, Msg: "the invitation expired"}
	ErrSSOOnly       = &domain.Error{Kind: domain.KindForbidden, Msg: "wrong sign-in method for the network"}
	ErrSessionEnded  = &domain.Error{Kind: domain.KindForbidden, Msg: "the session ended; sign in again"}
)

// Policy is what the network says of its groups and SSO, loaded by the caller from the network stream.
type Policy struct {
	Groups  map[string]sg.Settings
	SSO     bool
	Preview bool // a preview network: invite codes (inviteCode, inviteCodeTtl, codeValidation) are allowed
	// DefaultGroup is the network's default group, whose settings apply to a user whose group was
	// deleted and who has not been moved to it yet.
	DefaultGroup string
}

// Settings are the settings that apply to a user of group id (see DefaultGroup).
func (p Policy) Settings(id string) sg.Settings {
	if s, ok := p.Groups[id]; ok {
		return s
	}
	return p.Groups[p.DefaultGroup]
}

// Device is a device a user signed in from.
type Device struct {
	AppID, Type, Status string
	Created, LastLogin  time.Time
}

// User is one user of the block.
type User struct {
	ID, Username, FirstName, LastName, GroupID string
	Status                                     int
	Suspended, Deleted, CodeValidation         bool
	InviteCode                                 string
	InviteExpiresAt, LastLogin, LockedUntil    time.Time
	// RevokedAt is the last suspension, lockout or deletion: sessions issued before it are over.
	RevokedAt time.Time
	// DeletedBy is the X-Client-Token of the request that deleted the user ("" for none).
	DeletedBy string
	// ResetExpiresAt is the expiry of the user's current password-reset link (zero: none, or it was
	// used, or a suspension voided it): the only link that resets (see reset.go).
	ResetExpiresAt    time.Time
	Failures          int
	Password          domain.Sealed
	Devices           map[string]*Device
	Created, Modified time.Time
}

// Locked reports whether a lockout is in force at now.
func (u *User) Locked(now time.Time) bool { return now.Before(u.LockedUntil) }

// SuspendedAt reports whether the user is suspended at now as the admin sees it (SuspendedAt).
func (u *User) SuspendedAt(now time.Time) bool { return SuspendedAt(u.Suspended, u.LockedUntil, now) }

// SuspendedAt reports whether a user suspended by an admin (suspended) or locked out until
// lockedUntil is suspended at now: a lockout after failed sign-ins is an account suspension (guide
// §21.3, "Account suspended": multiple failed login attempts or admin action), which the admin lifts
// with Unsuspend (§21.7) and which lifts by itself at lockedUntil.
func SuspendedAt(suspended bool, lockedUntil, now time.Time) bool {
	return suspended || now.Before(lockedUntil)
}

// State is one roster block.
type State struct {
	NetworkID string
	Users     map[string]*User
}

// Initial is an empty block.
func Initial() State { return State{} }

// User returns a user that exists and is not deleted.
func (s State) User(id string) (*User, error) {
	u, ok := s.Users[id]
	if !ok || u.Deleted {
		return nil, domain.Wrapf(ErrNotFound, "User %s not found", id)
	}
	return u, nil
}

// Command is the sealed set of roster commands.
type Command interface{ network() string }

// ItemFailure is a refused item of a batch: its id (user id or app id), the field and the reason.
type ItemFailure struct {
	ID, Field, Reason string
	Err               error
}

func failure(id string, err error) ItemFailure {
	if r := wickr.Reasons(err); len(r) > 0 {
		return ItemFailure{ID: id, Field: r[0].Field, Reason: r[0].Reason, Err: err}
	}
	return ItemFailure{ID: id, Reason: err.Error(), Err: err}
}

// Decide applies a command; a batch command fails on its first refused item (DecideBatch reports
// each one instead).
func Decide(s State, c Command, now time.Time) ([]Event, error) {
	evs, failed, err := DecideBatch(s, c, now)
	if err == nil && len(failed) > 0 {
		return nil, failed[0].Err
	}
	return evs, err
}

// DecideBatch applies a command and returns the events of its accepted items and its refused items;
// err is a refusal of the whole request.
func DecideBatch(s State, c Command, now time.Time) ([]Event, []ItemFailure, error) {
	now = now.UTC()
	if s.NetworkID != "" && s.NetworkID != c.network() {
		return nil, nil, domain.Wrapf(ErrNotFound, "the roster belongs to network %s, not %s", s.NetworkID, c.network())
	}
	switch c := c.(type) {
	case CreateUsers:
		return decideCreate(s, c, now)
	case DeleteUsers:
		return decideDelete(s, c, now)
	case ToggleSuspend:
		return decideSuspend(s, c, now)
	case Reinvite:
		return decideReinvite(s, c, now)
	case ResetDevices:
		return decideResetDevices(s, c, now)
	case UpdateUser:
		evs, err := decideUpdate(s, c, now)
		return evs, nil, err
	case Register:
		evs, err := decideRegister(s, c, now)
		return evs, nil, err
	case SignIn:
		evs, err := decideSignIn(s, c, now)
		return evs, nil, err
	case RequestPasswordReset:
		evs, err := decideRequestReset(s, c, now)
		return evs, nil, err
	case ResetPassword:
		evs, err := decideResetPassword(s, c, now)
		return evs, nil, err
	case MoveGroup:
		return decideMove(s, c, now), nil, nil
	}
	return nil, nil, fmt.Errorf("roster: unknown command %T", c)
}

func batchSize(field string, n int) error {
	if n < 1 || n > MaxBatch {
		return wickr.Invalid(field, "must hold 1 to %d items, got %d", MaxBatch, n)
	}
	return nil
}

// uniqueIDs drops repeated ids of a batch, reporting each repeat.
func uniqueIDs(field string, ids []string, failed *[]ItemFailure) []string {
	seen := map[string]bool{}
	var out []string
	for i, id := range ids {
		if seen[id] {
			*failed = append(*failed, failure(id, wickr.Invalid(fmt.Sprintf("%s[%d]", field, i), "%s appears twice in the batch", id)))
			continue
		}
		seen[id] = true
		out = append(out, id)
	}
	return out
}

// Evolve folds an event.
func Evolve(s State, e Event) State {
	if s.Users == nil {
		s.Users = map[string]*User{}
	}
	evolveUsers(&s, e)
	return s
}
