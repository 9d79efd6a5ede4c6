package account

import (
	"time"

	"github.com/belfry/belfry/domain"
)

// Event is the sealed set of account events.
//
//sumtype:decl
type Event interface {
	EventType() string
	isAccountEvent()
}

// Stable event type names. Never rename one: stored events carry them.
const (
	TypeCreated               = "chime.account.created.v1"
	TypeRenamed               = "chime.account.renamed.v1"
	TypeDefaultLicenseChanged = "chime.account.default_license_changed.v1"
	TypeSettingsUpdated       = "chime.account.settings_updated.v1"
	TypeDeleted               = "chime.account.deleted.v1"
	TypeUserAdded             = "chime.account.user_added.v1"
	TypeUserUpdated           = "chime.account.user_updated.v1"
	TypeUserSuspended         = "chime.account.user_suspended.v1"
	TypeUserUnsuspended       = "chime.account.user_unsuspended.v1"
	TypeUserRemoved           = "chime.account.user_removed.v1"
	TypeUserLoggedOut         = "chime.account.user_logged_out.v1"
	TypePersonalPINReset      = "chime.account.personal_pin_reset.v1"
	TypeUserSettingsUpdated   = "chime.account.user_settings_updated.v1"
	StreamPrefix              = "chime.account-"
)

// StreamName is the stream of one account.
func StreamName(id string) string { return StreamPrefix + id }

// Created records a new account.
type Created struct {
	AccountID         string    `json:"accountId"`
	AwsAccountID      string    `json:"awsAccountId"`
	Name              string    `json:"name"`
	AccountType       string    `json:"accountType"`
	DefaultLicense    string    `json:"defaultLicense"`
	SupportedLicenses []string  `json:"supportedLicenses"`
	CreatedAt         time.Time `json:"createdAt"`
}

// Renamed records a new account name.
type Renamed struct {
	Name string `json:"name"`
}

// DefaultLicenseChanged records a new default licence for new users.
type DefaultLicenseChanged struct {
	DefaultLicense string `json:"defaultLicense"`
}

// SettingsUpdated records the account's meeting policies after an update.
type SettingsUpdated struct {
	DisableRemoteControl bool `json:"disableRemoteControl"`
	EnableDialOut        bool `json:"enableDialOut"`
}

// Deleted records the deletion of the account.
type Deleted struct {
	DeletedAt time.Time `json:"deletedAt"`
}

// UserAdded records a new user of the account. Membership lives on the account stream: it is the
// boundary that keeps e-mail addresses unique within the account and guards account deletion.
type UserAdded struct {
	UserID      string `json:"userId"`
	Email       string `json:"email"`
	Username    string `json:"username,omitempty"`
	UserType    string `json:"userType"`
	LicenseType string `json:"licenseType"`
	// PIN is the personal meeting PIN sealed under the user's key (invited users get theirs at
	// registration).
	PIN domain.Sealed `json:"sealedPin,omitzero"`
	// LegacyPIN is the plain PIN of events stored before PINs were sealed: decoded (upcast) so old
	// logs still replay, never written by Decide.
	LegacyPIN string    `json:"personalPin,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

// UserUpdated records a user's licence, type and Alexa for Business metadata after an update.
type UserUpdated struct {
	UserID      string         `json:"userId"`
	LicenseType string         `json:"licenseType"`
	UserType    string         `json:"userType"`
	Alexa       *AlexaMetadata `json:"alexa,omitempty"`
}

// AlexaMetadata is the Alexa for Business link of a shared device.
type AlexaMetadata struct {
	Enabled bool   `json:"enabled"`
	RoomARN string `json:"roomArn,omitempty"`
}

// UserSuspended records that an Enterprise user may no longer sign in.
type UserSuspended struct {
	UserID string `json:"userId"`
}

// UserUnsuspended records that a suspended user may sign in again, back in the registration status
// the suspension interrupted.
type UserUnsuspended struct {
	UserID       string `json:"userId"`
	Registration string `json:"registration"`
}

// UserRemoved records that a user left a Team account (detached; the e-mail is free again).
type UserRemoved struct {
	UserID string `json:"userId"`
}

// UserLoggedOut records a forced logout: every session of the user issued before At is revoked.
type UserLoggedOut struct {
	UserID string    `json:"userId"`
	At     time.Time `json:"at"`
}

// UserSettingsUpdated records a user's telephony permissions (Business Calling and SMS).
type UserSettingsUpdated struct {
	UserID          string `json:"userId"`
	InboundCalling  bool   `json:"inboundCalling"`
	OutboundCalling bool   `json:"outboundCalling"`
	SMS             bool   `json:"sms"`
}

// PersonalPINReset records a user's new personal meeting PIN, sealed under the user's key.
type PersonalPINReset struct {
	UserID string        `json:"userId"`
	PIN    domain.Sealed `json:"sealedPin,omitzero"`
	// LegacyPIN is the plain PIN of events stored before PINs were sealed (decoded, never written).
	LegacyPIN string `json:"pin,omitempty"`
}

func (Created) EventType() string               { return TypeCreated }
func (Renamed) EventType() string               { return TypeRenamed }
func (DefaultLicenseChanged) EventType() string { return TypeDefaultLicenseChanged }
func (SettingsUpdated) EventType() string       { return TypeSettingsUpdated }
func (Deleted) EventType() string               { return TypeDeleted }
func (UserAdded) EventType() string             { return TypeUserAdded }
func (UserUpdated) EventType() string           { return TypeUserUpdated }
func (UserSuspended) EventType() string         { return TypeUserSuspended }
func (UserUnsuspended) EventType() string       { return TypeUserUnsuspended }
func (UserRemoved) EventType() string           { return TypeUserRemoved }
func (UserLoggedOut) EventType() string         { return TypeUserLoggedOut }
func (PersonalPINReset) EventType() string      { return TypePersonalPINReset }
func (UserSettingsUpdated) EventType() string   { return TypeUserSettingsUpdated }

func (Created) isAccountEvent()               {}
func (Renamed) isAccountEvent()               {}
func (DefaultLicenseChanged) isAccountEvent() {}
func (SettingsUpdated) isAccountEvent()       {}
func (Deleted) isAccountEvent()               {}
func (UserAdded) isAccountEvent()             {}
func (UserUpdated) isAccountEvent()           {}
func (UserSuspended) isAccountEvent()         {}
func (UserUnsuspended) isAccountEvent()       {}
func (UserRemoved) isAccountEvent()           {}
func (UserLoggedOut) isAccountEvent()         {}
func (PersonalPINReset) isAccountEvent()      {}
func (UserSettingsUpdated) isAccountEvent()   {}

// Events is the account's event table: every stored event type, listed once. Decode, the list of
// event-type names and the golden-file tests (testdata/golden) come from it; a type with an EventType
// method that is missing here fails the package's tests.
var Events = domain.NewRegistry("account",
	domain.Register[Created, Event](TypeCreated),
	domain.Register[Renamed, Event](TypeRenamed),
	domain.Register[DefaultLicenseChanged, Event](TypeDefaultLicenseChanged),
	domain.Register[SettingsUpdated, Event](TypeSettingsUpdated),
	domain.Register[Deleted, Event](TypeDeleted),
	domain.Register[UserAdded, Event](TypeUserAdded),
	domain.Register[UserUpdated, Event](TypeUserUpdated),
	domain.Register[UserSuspended, Event](TypeUserSuspended),
	domain.Register[UserUnsuspended, Event](TypeUserUnsuspended),
	domain.Register[UserRemoved, Event](TypeUserRemoved),
	domain.Register[UserLoggedOut, Event](TypeUserLoggedOut),
	domain.Register[PersonalPINReset, Event](TypePersonalPINReset),
	domain.Register[UserSettingsUpdated, Event](TypeUserSettingsUpdated),
	domain.Register[DomainClaimAdded, Event](TypeDomainClaimAdded),
	domain.Register[DomainVerified, Event](TypeDomainVerified),
	domain.Register[DomainClaimRemoved, Event](TypeDomainClaimRemoved),
	domain.Register[AccountTypeChanged, Event](TypeAccountTypeChanged),
	domain.Register[DomainUsersPurged, Event](TypeDomainUsersPurged),
	domain.Register[BotCreated, Event](TypeBotCreated),
	domain.Register[BotUpdated, Event](TypeBotUpdated),
	domain.Register[BotTokenRegenerated, Event](TypeBotTokenChanged),
	domain.Register[BotEventsConfigured, Event](TypeBotEventsSet),
	domain.Register[BotEventsConfigurationDeleted, Event](TypeBotEventsDeleted),
	domain.Register[DelegateGroupsAssociated, Event](TypeDelegateGroupsAssociated),
	domain.Register[DelegateGroupsDisassociated, Event](TypeDelegateGroupsDisassociated),
	domain.Register[UserNumberAssigned, Event](TypeUserNumberAssigned),
	domain.Register[UserNumberUnassigned, Event](TypeUserNumberUnassigned),
	domain.Register[UserInvited, Event](TypeUserInvited),
	domain.Register[InviteTokenIssued, Event](TypeInviteTokenIssued),
	domain.Register[InviteEmailResult, Event](TypeInviteEmailSent),
	domain.Register[UserRegistered, Event](TypeUserRegistered),
)

// Decode turns a stored event back into an Event (Events.Decode).
func Decode(eventType string, data []byte) (Event, error) { return Events.Decode(eventType, data) }
