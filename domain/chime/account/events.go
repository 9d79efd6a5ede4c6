package account

import (
	"encoding/json"
	"fmt"
	"time"
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
	UserID      string    `json:"userId"`
	Email       string    `json:"email"`
	Username    string    `json:"username,omitempty"`
	UserType    string    `json:"userType"`
	LicenseType string    `json:"licenseType"`
	CreatedAt   time.Time `json:"createdAt"`
}

func (Created) EventType() string               { return TypeCreated }
func (Renamed) EventType() string               { return TypeRenamed }
func (DefaultLicenseChanged) EventType() string { return TypeDefaultLicenseChanged }
func (SettingsUpdated) EventType() string       { return TypeSettingsUpdated }
func (Deleted) EventType() string               { return TypeDeleted }
func (UserAdded) EventType() string             { return TypeUserAdded }

func (Created) isAccountEvent()               {}
func (Renamed) isAccountEvent()               {}
func (DefaultLicenseChanged) isAccountEvent() {}
func (SettingsUpdated) isAccountEvent()       {}
func (Deleted) isAccountEvent()               {}
func (UserAdded) isAccountEvent()             {}

// Decode turns a stored event back into an Event.
func Decode(eventType string, data []byte) (Event, error) {
	var e Event
	switch eventType {
	case TypeCreated:
		e = &Created{}
	case TypeRenamed:
		e = &Renamed{}
	case TypeDefaultLicenseChanged:
		e = &DefaultLicenseChanged{}
	case TypeSettingsUpdated:
		e = &SettingsUpdated{}
	case TypeDeleted:
		e = &Deleted{}
	case TypeUserAdded:
		e = &UserAdded{}
	default:
		return nil, fmt.Errorf("account: unknown event type %q", eventType)
	}
	if err := json.Unmarshal(data, e); err != nil {
		return nil, fmt.Errorf("account: decode %s: %w", eventType, err)
	}
	return deref(e), nil
}

func deref(e Event) Event {
	switch e := e.(type) {
	case *Created:
		return *e
	case *Renamed:
		return *e
	case *DefaultLicenseChanged:
		return *e
	case *SettingsUpdated:
		return *e
	case *Deleted:
		return *e
	case *UserAdded:
		return *e
	}
	return e
}
