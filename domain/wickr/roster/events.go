package roster

import (
	"fmt"
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
)

// EventTypes lists every event type of the package once.
var EventTypes = []string{TypeUserInvited, TypeUserReinvited, TypeUserRegistered, TypeUserUpdated, TypeUserMoved, TypeUserSuspended, TypeUserUnsuspended, TypeUserDeleted, TypeDeviceRegistered, TypeDeviceWasReset, TypeSignedIn, TypeSignInFailed, TypeUserLockedOut, TypeUserUnlocked}

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
type UserDeleted struct {
	UserID string    `json:"userId"`
	At     time.Time `json:"at"`
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

// Decode turns a stored event back into an Event.
func Decode(eventType string, data []byte) (Event, error) {
	switch eventType {
	case TypeUserInvited:
		return domain.DecodeAs[UserInvited](eventType, data)
	case TypeUserReinvited:
		return domain.DecodeAs[UserReinvited](eventType, data)
	case TypeUserRegistered:
		return domain.DecodeAs[UserRegistered](eventType, data)
	case TypeUserUpdated:
		return domain.DecodeAs[UserUpdated](eventType, data)
	case TypeUserMoved:
		return domain.DecodeAs[UserMoved](eventType, data)
	case TypeUserSuspended:
		return domain.DecodeAs[UserSuspended](eventType, data)
	case TypeUserUnsuspended:
		return domain.DecodeAs[UserUnsuspended](eventType, data)
	case TypeUserDeleted:
		return domain.DecodeAs[UserDeleted](eventType, data)
	case TypeDeviceRegistered:
		return domain.DecodeAs[DeviceRegistered](eventType, data)
	case TypeDeviceWasReset:
		return domain.DecodeAs[DeviceWasReset](eventType, data)
	case TypeSignedIn:
		return domain.DecodeAs[SignedIn](eventType, data)
	case TypeSignInFailed:
		return domain.DecodeAs[SignInFailed](eventType, data)
	case TypeUserLockedOut:
		return domain.DecodeAs[UserLockedOut](eventType, data)
	case TypeUserUnlocked:
		return domain.DecodeAs[UserUnlocked](eventType, data)
	}
	return nil, fmt.Errorf("roster: unknown event type %q", eventType)
}
