package network

import (
	"time"

	"github.com/belfry/belfry/domain"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
)

// Event is the sealed set of network events.
type Event interface {
	EventType() string
	isNetworkEvent()
}

// Stable event type names. Never rename one: stored events carry them.
const (
	TypeCreated                  = "wickr.network.created.v1"
	TypeUpdated                  = "wickr.network.updated.v1"
	TypePlanChanged              = "wickr.network.plan_changed.v1"
	TypeDeletionRequested        = "wickr.network.deletion_requested.v1"
	TypeDeleted                  = "wickr.network.deleted.v1"
	TypeSettingsUpdated          = "wickr.network.settings_updated.v1"
	TypeDataRetentionEnabled     = "wickr.network.data_retention_enabled.v1"
	TypeDataRetentionDisabled    = "wickr.network.data_retention_disabled.v1"
	TypeGroupCreated             = "wickr.network.group_created.v1"
	TypeGroupUpdated             = "wickr.network.group_updated.v1"
	TypeGroupDeleted             = "wickr.network.group_deleted.v1"
	TypeBotCreated               = "wickr.network.bot_created.v1"
	TypeBotUpdated               = "wickr.network.bot_updated.v1"
	TypeBotChallengeChanged      = "wickr.network.bot_challenge_changed.v1"
	TypeBotSuspended             = "wickr.network.bot_suspended.v1"
	TypeBotUnsuspended           = "wickr.network.bot_unsuspended.v1"
	TypeBotSignedIn              = "wickr.network.bot_signed_in.v1"
	TypeBotDeleted               = "wickr.network.bot_deleted.v1"
	TypeRetentionBotCreated      = "wickr.network.retention_bot_created.v1"
	TypeRetentionChallengeIssued = "wickr.network.retention_challenge_issued.v1"
	TypeRetentionBotRegistered   = "wickr.network.retention_bot_registered.v1"
	TypeRetentionPasswordRotated = "wickr.network.retention_password_rotated.v1"
	TypeRetentionPubkeyAcked     = "wickr.network.retention_pubkey_acked.v1"
	TypeRetentionBotDeleted      = "wickr.network.retention_bot_deleted.v1"
	TypeOIDCRegistered           = "wickr.network.oidc_registered.v1"
	TypeOpenTDFRegistered        = "wickr.network.opentdf_registered.v1"
	TypeGuestBlocked             = "wickr.network.guest_blocked.v1"
	TypeGuestUnblocked           = "wickr.network.guest_unblocked.v1"
	TypeSeatsTaken               = "wickr.network.seats_taken.v1"
	TypeSeatsReleased            = "wickr.network.seats_released.v1"
	TypeSeatsCounted             = "wickr.network.seats_counted.v1"
)

// Created records a new network (its default group follows in GroupCreated).
type Created struct {
	NetworkID        string    `json:"networkId"`
	Name             string    `json:"name"`
	AwsAccountID     string    `json:"awsAccountId"`
	Region           string    `json:"region"`
	AccessLevel      string    `json:"accessLevel"`
	Trial            bool      `json:"trial,omitempty"`
	TrialExpiresAt   time.Time `json:"trialExpiresAt,omitzero"`
	EncryptionKeyArn string    `json:"encryptionKeyArn,omitempty"`
	At               time.Time `json:"at"`
}

// EventType implements Event.
func (Created) EventType() string { return TypeCreated }
func (Created) isNetworkEvent()   {}

// Updated records a new name or KMS key.
type Updated struct {
	Name             string    `json:"name"`
	EncryptionKeyArn string    `json:"encryptionKeyArn,omitempty"`
	At               time.Time `json:"at"`
}

// EventType implements Event.
func (Updated) EventType() string { return TypeUpdated }
func (Updated) isNetworkEvent()   {}

// PlanChanged records a new plan: Trial with its end, or STANDARD/PREMIUM (ending any trial).
type PlanChanged struct {
	AccessLevel    string    `json:"accessLevel"`
	Trial          bool      `json:"trial,omitempty"`
	TrialExpiresAt time.Time `json:"trialExpiresAt,omitzero"`
	At             time.Time `json:"at"`
}

// EventType implements Event.
func (PlanChanged) EventType() string { return TypePlanChanged }
func (PlanChanged) isNetworkEvent()   {}

// DeletionRequested records that the network is being deleted.
type DeletionRequested struct {
	At time.Time `json:"at"`
}

// EventType implements Event.
func (DeletionRequested) EventType() string { return TypeDeletionRequested }
func (DeletionRequested) isNetworkEvent()   {}

// Deleted records that the network is gone.
type Deleted struct {
	At time.Time `json:"at"`
}

// EventType implements Event.
func (Deleted) EventType() string { return TypeDeleted }
func (Deleted) isNetworkEvent()   {}

// SettingsUpdated records the network settings after an update (data retention has its own events).
type SettingsUpdated struct {
	EnableClientMetrics     bool         `json:"enableClientMetrics"`
	ReadReceiptStatus       string       `json:"readReceiptStatus"`
	EnableTrustedDataFormat bool         `json:"enableTrustedDataFormat"`
	ConsentPopup            ConsentPopup `json:"consentPopup"`
	At                      time.Time    `json:"at"`
}

// EventType implements Event.
func (SettingsUpdated) EventType() string { return TypeSettingsUpdated }
func (SettingsUpdated) isNetworkEvent()   {}

// DataRetentionEnabled records that data retention is on: every user is shown the data-retention notice.
type DataRetentionEnabled struct {
	At time.Time `json:"at"`
}

// EventType implements Event.
func (DataRetentionEnabled) EventType() string { return TypeDataRetentionEnabled }
func (DataRetentionEnabled) isNetworkEvent()   {}

// DataRetentionDisabled records that data retention is off.
type DataRetentionDisabled struct {
	At time.Time `json:"at"`
}

// EventType implements Event.
func (DataRetentionDisabled) EventType() string { return TypeDataRetentionDisabled }
func (DataRetentionDisabled) isNetworkEvent()   {}

// GroupCreated records a new security group.
type GroupCreated struct {
	GroupID   string      `json:"groupId"`
	Name      string      `json:"name"`
	IsDefault bool        `json:"isDefault,omitempty"`
	Settings  sg.Settings `json:"settings"`
	At        time.Time   `json:"at"`
}

// EventType implements Event.
func (GroupCreated) EventType() string { return TypeGroupCreated }
func (GroupCreated) isNetworkEvent()   {}

// GroupUpdated records a group's name and settings after an update.
type GroupUpdated struct {
	GroupID  string      `json:"groupId"`
	Name     string      `json:"name"`
	Settings sg.Settings `json:"settings"`
	At       time.Time   `json:"at"`
}

// EventType implements Event.
func (GroupUpdated) EventType() string { return TypeGroupUpdated }
func (GroupUpdated) isNetworkEvent()   {}

// GroupDeleted records a deleted group; its users move to MovedTo, the default group.
type GroupDeleted struct {
	GroupID string    `json:"groupId"`
	MovedTo string    `json:"movedTo"`
	At      time.Time `json:"at"`
}

// EventType implements Event.
func (GroupDeleted) EventType() string { return TypeGroupDeleted }
func (GroupDeleted) isNetworkEvent()   {}

// BotCreated records a new bot with its sealed password.
type BotCreated struct {
	BotID       string        `json:"botId"`
	Username    string        `json:"username"`
	DisplayName string        `json:"displayName,omitempty"`
	GroupID     string        `json:"groupId"`
	Challenge   domain.Sealed `json:"challenge"`
	At          time.Time     `json:"at"`
}

// EventType implements Event.
func (BotCreated) EventType() string { return TypeBotCreated }
func (BotCreated) isNetworkEvent()   {}

// BotUpdated records a bot's display name and group after an update.
type BotUpdated struct {
	BotID       string    `json:"botId"`
	DisplayName string    `json:"displayName,omitempty"`
	GroupID     string    `json:"groupId"`
	At          time.Time `json:"at"`
}

// EventType implements Event.
func (BotUpdated) EventType() string { return TypeBotUpdated }
func (BotUpdated) isNetworkEvent()   {}

// BotChallengeChanged records a bot's new sealed password.
type BotChallengeChanged struct {
	BotID     string        `json:"botId"`
	Challenge domain.Sealed `json:"challenge"`
	At        time.Time     `json:"at"`
}

// EventType implements Event.
func (BotChallengeChanged) EventType() string { return TypeBotChallengeChanged }
func (BotChallengeChanged) isNetworkEvent()   {}

// BotSuspended records a suspended bot.
type BotSuspended struct {
	BotID string    `json:"botId"`
	At    time.Time `json:"at"`
}

// EventType implements Event.
func (BotSuspended) EventType() string { return TypeBotSuspended }
func (BotSuspended) isNetworkEvent()   {}

// BotUnsuspended records a bot no longer suspended.
type BotUnsuspended struct {
	BotID string    `json:"botId"`
	At    time.Time `json:"at"`
}

// EventType implements Event.
func (BotUnsuspended) EventType() string { return TypeBotUnsuspended }
func (BotUnsuspended) isNetworkEvent()   {}

// BotSignedIn records a bot's sign-in (a pending bot becomes active).
type BotSignedIn struct {
	BotID string    `json:"botId"`
	At    time.Time `json:"at"`
}

// EventType implements Event.
func (BotSignedIn) EventType() string { return TypeBotSignedIn }
func (BotSignedIn) isNetworkEvent()   {}

// BotDeleted records a deleted bot.
type BotDeleted struct {
	BotID string    `json:"botId"`
	At    time.Time `json:"at"`
}

// EventType implements Event.
func (BotDeleted) EventType() string { return TypeBotDeleted }
func (BotDeleted) isNetworkEvent()   {}

// RetentionBotCreated records the data-retention bot.
type RetentionBotCreated struct {
	BotName string    `json:"botName"`
	At      time.Time `json:"at"`
}

// EventType implements Event.
func (RetentionBotCreated) EventType() string { return TypeRetentionBotCreated }
func (RetentionBotCreated) isNetworkEvent()   {}

// RetentionChallengeIssued records the retention bot's sealed initial password.
type RetentionChallengeIssued struct {
	Challenge domain.Sealed `json:"challenge"`
	At        time.Time     `json:"at"`
}

// EventType implements Event.
func (RetentionChallengeIssued) EventType() string { return TypeRetentionChallengeIssued }
func (RetentionChallengeIssued) isNetworkEvent()   {}

// RetentionBotRegistered records the retention bot's first sign-in and its sealed generated password.
type RetentionBotRegistered struct {
	Password domain.Sealed `json:"password"`
	At       time.Time     `json:"at"`
}

// EventType implements Event.
func (RetentionBotRegistered) EventType() string { return TypeRetentionBotRegistered }
func (RetentionBotRegistered) isNetworkEvent()   {}

// RetentionPasswordRotated records the retention bot's new sealed password.
type RetentionPasswordRotated struct {
	Password domain.Sealed `json:"password"`
	At       time.Time     `json:"at"`
}

// EventType implements Event.
func (RetentionPasswordRotated) EventType() string { return TypeRetentionPasswordRotated }
func (RetentionPasswordRotated) isNetworkEvent()   {}

// RetentionPubkeyAcked records the acknowledgement of the retention bot's public-key message.
type RetentionPubkeyAcked struct {
	At time.Time `json:"at"`
}

// EventType implements Event.
func (RetentionPubkeyAcked) EventType() string { return TypeRetentionPubkeyAcked }
func (RetentionPubkeyAcked) isNetworkEvent()   {}

// RetentionBotDeleted records the retention bot's deletion.
type RetentionBotDeleted struct {
	At time.Time `json:"at"`
}

// EventType implements Event.
func (RetentionBotDeleted) EventType() string { return TypeRetentionBotDeleted }
func (RetentionBotDeleted) isNetworkEvent()   {}

// OIDCRegistered records the SSO configuration; First marks SSO being turned on (active users are signed out).
type OIDCRegistered struct {
	Config OIDCConfig `json:"config"`
	First  bool       `json:"first,omitempty"`
	At     time.Time  `json:"at"`
}

// EventType implements Event.
func (OIDCRegistered) EventType() string { return TypeOIDCRegistered }
func (OIDCRegistered) isNetworkEvent()   {}

// OpenTDFRegistered records the OpenTDF configuration.
type OpenTDFRegistered struct {
	Config OpenTDFConfig `json:"config"`
	At     time.Time     `json:"at"`
}

// EventType implements Event.
func (OpenTDFRegistered) EventType() string { return TypeOpenTDFRegistered }
func (OpenTDFRegistered) isNetworkEvent()   {}

// GuestBlocked records a blocked guest.
type GuestBlocked struct {
	UsernameHash string    `json:"usernameHash"`
	Username     string    `json:"username"`
	Admin        string    `json:"admin,omitempty"`
	At           time.Time `json:"at"`
}

// EventType implements Event.
func (GuestBlocked) EventType() string { return TypeGuestBlocked }
func (GuestBlocked) isNetworkEvent()   {}

// GuestUnblocked records an unblocked guest.
type GuestUnblocked struct {
	UsernameHash string    `json:"usernameHash"`
	At           time.Time `json:"at"`
}

// EventType implements Event.
func (GuestUnblocked) EventType() string { return TypeGuestUnblocked }
func (GuestUnblocked) isNetworkEvent()   {}

// SeatsTaken records N seats taken for new users.
type SeatsTaken struct {
	N  int       `json:"n"`
	At time.Time `json:"at"`
}

// EventType implements Event.
func (SeatsTaken) EventType() string { return TypeSeatsTaken }
func (SeatsTaken) isNetworkEvent()   {}

// SeatsReleased records N seats given back.
type SeatsReleased struct {
	N  int       `json:"n"`
	At time.Time `json:"at"`
}

// EventType implements Event.
func (SeatsReleased) EventType() string { return TypeSeatsReleased }
func (SeatsReleased) isNetworkEvent()   {}

// SeatsCounted records a recounted seat total.
type SeatsCounted struct {
	N  int       `json:"n"`
	At time.Time `json:"at"`
}

// EventType implements Event.
func (SeatsCounted) EventType() string { return TypeSeatsCounted }
func (SeatsCounted) isNetworkEvent()   {}

// Events is the network event table: every stored event type, listed once. Decode and the list of
// event-type names come from it.
var Events = domain.NewRegistry("network",
	domain.Register[Created, Event](TypeCreated),
	domain.Register[Updated, Event](TypeUpdated),
	domain.Register[PlanChanged, Event](TypePlanChanged),
	domain.Register[DeletionRequested, Event](TypeDeletionRequested),
	domain.Register[Deleted, Event](TypeDeleted),
	domain.Register[SettingsUpdated, Event](TypeSettingsUpdated),
	domain.Register[DataRetentionEnabled, Event](TypeDataRetentionEnabled),
	domain.Register[DataRetentionDisabled, Event](TypeDataRetentionDisabled),
	domain.Register[GroupCreated, Event](TypeGroupCreated),
	domain.Register[GroupUpdated, Event](TypeGroupUpdated),
	domain.Register[GroupDeleted, Event](TypeGroupDeleted),
	domain.Register[BotCreated, Event](TypeBotCreated),
	domain.Register[BotUpdated, Event](TypeBotUpdated),
	domain.Register[BotChallengeChanged, Event](TypeBotChallengeChanged),
	domain.Register[BotSuspended, Event](TypeBotSuspended),
	domain.Register[BotUnsuspended, Event](TypeBotUnsuspended),
	domain.Register[BotSignedIn, Event](TypeBotSignedIn),
	domain.Register[BotDeleted, Event](TypeBotDeleted),
	domain.Register[RetentionBotCreated, Event](TypeRetentionBotCreated),
	domain.Register[RetentionChallengeIssued, Event](TypeRetentionChallengeIssued),
	domain.Register[RetentionBotRegistered, Event](TypeRetentionBotRegistered),
	domain.Register[RetentionPasswordRotated, Event](TypeRetentionPasswordRotated),
	domain.Register[RetentionPubkeyAcked, Event](TypeRetentionPubkeyAcked),
	domain.Register[RetentionBotDeleted, Event](TypeRetentionBotDeleted),
	domain.Register[OIDCRegistered, Event](TypeOIDCRegistered),
	domain.Register[OpenTDFRegistered, Event](TypeOpenTDFRegistered),
	domain.Register[GuestBlocked, Event](TypeGuestBlocked),
	domain.Register[GuestUnblocked, Event](TypeGuestUnblocked),
	domain.Register[SeatsTaken, Event](TypeSeatsTaken),
	domain.Register[SeatsReleased, Event](TypeSeatsReleased),
	domain.Register[SeatsCounted, Event](TypeSeatsCounted),
)

// Decode turns a stored event back into an Event (Events.Decode).
func Decode(eventType string, data []byte) (Event, error) { return Events.Decode(eventType, data) }
