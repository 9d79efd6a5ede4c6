package roster

import (
	"time"

	"github.com/belfry/belfry/domain"
)

// Event is the sealed set of roster events.
type Event interface {
	EventType() string
	isRosterEvent()
}

// Stable event type names. Never rename one: stored events carry them.
const (
	TypeUserInvited      = "wickr.roster.user_invited.v1"
	TypeUsersInvited     = "wickr.roster.users_invited.v1"
	TypeUserReinvited    = "wickr.roster.user_reinvited.v1"
	TypeUserRegistered   = "wickr.roster.user_registered.v1"
	TypeUserUpdated      = "wickr.roster.user_updated.v1"
	TypeUserMoved        = "wickr.roster.user_moved.v1"
	TypeUserSuspended    = "wickr.roster.user_suspended.v1"
	TypeUserUnsuspended  = "wickr.roster.user_unsuspended.v1"
	TypeUserDeleted      = "wickr.roster.user_deleted.v1"
	TypeDeviceRegistered = "wickr.roster.device_registered.v1"
	TypeDeviceWasReset   = "wickr.roster.device_reset.v1"
	TypeSignedIn         = "wickr.roster.signed_in.v1"
	TypeSignInFailed     = "wickr.roster.sign_in_failed.v1"
	TypeUserLockedOut    = "wickr.roster.user_locked_out.v1"
	TypeUserUnlocked     = "wickr.roster.user_unlocked.v1"
	// TypeUserRegisteredSSO is a registration through the identity provider.
	TypeUserRegisteredSSO = "wickr.roster.user_registered_sso.v1"
	// TypePasswordResetRequested and TypePasswordReset are a password reset's (guide §21.6).
	TypePasswordResetRequested = "wickr.roster.password_reset_requested.v1"
	TypePasswordReset          = "wickr.roster.password_reset.v1"
)

// UserInvited records a new pending user and its invitation.
type UserInvited struct {
	NetworkID       string    `json:"networkId"`
	UserID          string    `json:"userId"`
	Username        string    `json:"username"`
	FirstName       string    `json:"firstName,omitempty"`
	LastName        string    `json:"lastName,omitempty"`
	GroupID         string    `json:"groupId"`
	InviteCode      string    `json:"inviteCode,omitempty"`
	CodeValidation  bool      `json:"codeValidation,omitempty"`
	InviteExpiresAt time.Time `json:"inviteExpiresAt"`
	At              time.Time `json:"at"`
}

// EventType implements Event.
func (UserInvited) EventType() string { return TypeUserInvited }
func (UserInvited) isRosterEvent()    {}

// UsersInvited records the new pending users of one BatchCreateUser request (one event per batch:
// what is decided now; the stored UserInvited events of earlier versions, one per user, still fold).
// UserIDs[i] is the id of Users[i]; the ids are a top-level member so that the resource history
// indexes every user of the batch.
type UsersInvited struct {
	NetworkID string    `json:"networkId"`
	UserIDs   []string  `json:"userIds"`
	Users     []Invitee `json:"users"`
	At        time.Time `json:"at"`
}

// Invitee is one user of UsersInvited, without its id (UsersInvited.UserIDs holds it).
type Invitee struct {
	Username        string    `json:"username"`
	FirstName       string    `json:"firstName,omitempty"`
	LastName        string    `json:"lastName,omitempty"`
	GroupID         string    `json:"groupId"`
	InviteCode      string    `json:"inviteCode,omitempty"`
	CodeValidation  bool      `json:"codeValidation,omitempty"`
	InviteExpiresAt time.Time `json:"inviteExpiresAt"`
}

// EventType implements Event.
func (UsersInvited) EventType() string { return TypeUsersInvited }
func (UsersInvited) isRosterEvent()    {}

// Each is the batch as one UserInvited per user, in order (a stored event whose two lists differ in
// length pairs them up to the shorter).
func (e UsersInvited) Each() []UserInvited {
	out := make([]UserInvited, min(len(e.UserIDs), len(e.Users)))
	for i := range out {
		u := e.Users[i]
		out[i] = UserInvited{NetworkID: e.NetworkID, UserID: e.UserIDs[i], Username: u.Username, FirstName: u.FirstName, LastName: u.LastName,
			GroupID: u.GroupID, InviteCode: u.InviteCode, CodeValidation: u.CodeValidation, InviteExpiresAt: u.InviteExpiresAt, At: e.At}
	}
	return out
}

// invite adds one user to the batch.
func (e *UsersInvited) invite(u UserInvited) {
	e.UserIDs = append(e.UserIDs, u.UserID)
	e.Users = append(e.Users, Invitee{Username: u.Username, FirstName: u.FirstName, LastName: u.LastName, GroupID: u.GroupID,
		InviteCode: u.InviteCode, CodeValidation: u.CodeValidation, InviteExpiresAt: u.InviteExpiresAt})
}

// UserReinvited records a renewed invitation.
type UserReinvited struct {
	UserID          string    `json:"userId"`
	InviteExpiresAt time.Time `json:"inviteExpiresAt"`
	At              time.Time `json:"at"`
}

// EventType implements Event.
func (UserReinvited) EventType() string { return TypeUserReinvited }
func (UserReinvited) isRosterEvent()    {}

// UserRegistered records a registration (pending → active) with the sealed password hash.
type UserRegistered struct {
	UserID   string        `json:"userId"`
	Password domain.Sealed `json:"password"`
	At       time.Time     `json:"at"`
}

// EventType implements Event.
func (UserRegistered) EventType() string { return TypeUserRegistered }
func (UserRegistered) isRosterEvent()    {}

// UserUpdated records a user's names, group and invite code after an update.
type UserUpdated struct {
	UserID          string    `json:"userId"`
	FirstName       string    `json:"firstName,omitempty"`
	LastName        string    `json:"lastName,omitempty"`
	GroupID         string    `json:"groupId"`
	InviteCode      string    `json:"inviteCode,omitempty"`
	CodeValidation  bool      `json:"codeValidation,omitempty"`
	InviteExpiresAt time.Time `json:"inviteExpiresAt,omitzero"`
	At              time.Time `json:"at"`
}

// EventType implements Event.
func (UserUpdated) EventType() string { return TypeUserUpdated }
func (UserUpdated) isRosterEvent()    {}

// UserMoved records a user moved to the default group after its group's deletion.
type UserMoved struct {
	UserID  string    `json:"userId"`
	GroupID string    `json:"groupId"`
	At      time.Time `json:"at"`
}

// EventType implements Event.
func (UserMoved) EventType() string { return TypeUserMoved }
func (UserMoved) isRosterEvent()    {}

// UserSuspended records an admin's suspension: the user's sessions end at once.
type UserSuspended struct {
	UserID string    `json:"userId"`
	At     time.Time `json:"at"`
}

// EventType implements Event.
func (UserSuspended) EventType() string { return TypeUserSuspended }
func (UserSuspended) isRosterEvent()    {}

// UserUnsuspended records the end of a suspension.
type UserUnsuspended struct {
	UserID string    `json:"userId"`
	At     time.Time `json:"at"`
}

// EventType implements Event.
func (UserUnsuspended) EventType() string { return TypeUserUnsuspended }
func (UserUnsuspended) isRosterEvent()    {}

// UserDeleted records a deletion (final): the user's sessions end, its username may be released.
// ClientToken is the X-Client-Token of the request that deleted the user, if it had one: a retry of
// that request answers as it did.
type UserDeleted struct {
	UserID      string    `json:"userId"`
	ClientToken string    `json:"clientToken,omitempty"`
	At          time.Time `json:"at"`
}

// EventType implements Event.
func (UserDeleted) EventType() string { return TypeUserDeleted }
func (UserDeleted) isRosterEvent()    {}

// DeviceRegistered records a device the user signed in from (again, after a reset).
type DeviceRegistered struct {
	UserID string    `json:"userId"`
	AppID  string    `json:"appId"`
	Type   string    `json:"type"`
	At     time.Time `json:"at"`
}

// EventType implements Event.
func (DeviceRegistered) EventType() string { return TypeDeviceRegistered }
func (DeviceRegistered) isRosterEvent()    {}

// DeviceWasReset records a device reset: it must sign in again.
type DeviceWasReset struct {
	UserID string    `json:"userId"`
	AppID  string    `json:"appId"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// EventType implements Event.
func (DeviceWasReset) EventType() string { return TypeDeviceWasReset }
func (DeviceWasReset) isRosterEvent()    {}

// SignedIn records a successful sign-in.
type SignedIn struct {
	UserID string    `json:"userId"`
	AppID  string    `json:"appId"`
	At     time.Time `json:"at"`
}

// EventType implements Event.
func (SignedIn) EventType() string { return TypeSignedIn }
func (SignedIn) isRosterEvent()    {}

// SignInFailed records a failed sign-in and the count of consecutive failures.
type SignInFailed struct {
	UserID   string    `json:"userId"`
	AppID    string    `json:"appId"`
	Failures int       `json:"failures"`
	At       time.Time `json:"at"`
}

// EventType implements Event.
func (SignInFailed) EventType() string { return TypeSignInFailed }
func (SignInFailed) isRosterEvent()    {}

// UserLockedOut records a lockout until Until (24 hours): sessions end.
type UserLockedOut struct {
	UserID string    `json:"userId"`
	Until  time.Time `json:"until"`
	At     time.Time `json:"at"`
}

// EventType implements Event.
func (UserLockedOut) EventType() string { return TypeUserLockedOut }
func (UserLockedOut) isRosterEvent()    {}

// UserUnlocked records the end of a lockout (by itself after 24 hours, or by an admin).
type UserUnlocked struct {
	UserID string    `json:"userId"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// EventType implements Event.
func (UserUnlocked) EventType() string { return TypeUserUnlocked }
func (UserUnlocked) isRosterEvent()    {}

// Events is the roster event table: every stored event type, listed once. Decode and the list of
// event-type names come from it.
var Events = domain.NewRegistry("roster",
	domain.Register[UserInvited, Event](TypeUserInvited),
	domain.Register[UsersInvited, Event](TypeUsersInvited),
	domain.Register[UserReinvited, Event](TypeUserReinvited),
	domain.Register[UserRegistered, Event](TypeUserRegistered),
	domain.Register[UserUpdated, Event](TypeUserUpdated),
	domain.Register[UserMoved, Event](TypeUserMoved),
	domain.Register[UserSuspended, Event](TypeUserSuspended),
	domain.Register[UserUnsuspended, Event](TypeUserUnsuspended),
	domain.Register[UserDeleted, Event](TypeUserDeleted),
	domain.Register[DeviceRegistered, Event](TypeDeviceRegistered),
	domain.Register[DeviceWasReset, Event](TypeDeviceWasReset),
	domain.Register[SignedIn, Event](TypeSignedIn),
	domain.Register[SignInFailed, Event](TypeSignInFailed),
	domain.Register[UserLockedOut, Event](TypeUserLockedOut),
	domain.Register[UserUnlocked, Event](TypeUserUnlocked),
	domain.Register[UserRegisteredSSO, Event](TypeUserRegisteredSSO),
	domain.Register[PasswordResetRequested, Event](TypePasswordResetRequested),
	domain.Register[PasswordReset, Event](TypePasswordReset),
)

// Decode turns a stored event back into an Event (Events.Decode).
func Decode(eventType string, data []byte) (Event, error) { return Events.Decode(eventType, data) }

// UserRegisteredSSO records a registration (pending → active) at a first sign-in through the
// network's identity provider: no password, the provider's subject.
type UserRegisteredSSO struct {
	UserID  string    `json:"userId"`
	Subject string    `json:"subject"`
	At      time.Time `json:"at"`
}

// EventType implements Event.
func (UserRegisteredSSO) EventType() string { return TypeUserRegisteredSSO }
func (UserRegisteredSSO) isRosterEvent()    {}

// PasswordResetRequested records a password reset asked from the client's login screen: the link
// mailed for it is valid until ExpiresAt and replaces any earlier one. Its token is a mac the client
// slice derives from the network, the user and ExpiresAt under an installation key: neither the
// token nor its mac is stored.
type PasswordResetRequested struct {
	UserID    string    `json:"userId"`
	ExpiresAt time.Time `json:"expiresAt"`
	At        time.Time `json:"at"`
}

// EventType implements Event.
func (PasswordResetRequested) EventType() string { return TypePasswordResetRequested }
func (PasswordResetRequested) isRosterEvent()    {}

// PasswordReset records a password reset through the current link: the new password's sealed
// hash; the failed sign-ins are cleared and the link is spent. The same decision records the reset
// of each active device and the end of a lockout (DeviceWasReset, UserUnlocked, reason
// passwordReset); the user's removal from its rooms is this event's side effect.
type PasswordReset struct {
	UserID   string        `json:"userId"`
	Password domain.Sealed `json:"password"`
	At       time.Time     `json:"at"`
}

// EventType implements Event.
func (PasswordReset) EventType() string { return TypePasswordReset }
func (PasswordReset) isRosterEvent()    {}
