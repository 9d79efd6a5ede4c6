package network

import (
	"strconv"
	"strings"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
)

// Read-receipt modes (model enum Status).
const (
	ReadReceiptsDisabled      = "DISABLED"
	ReadReceiptsEnabled       = "ENABLED"
	ReadReceiptsForceEnabled  = "FORCE_ENABLED"
	MaxConsentHeader          = 256
	MaxConsentContent         = 10_000
	MaxConsentCloseButton     = 64
	optionTypeBoolean         = "boolean"
	optionTypeString          = "string"
	optionTypeNumber          = "number"
	optionDataRetention       = "dataRetention"
	optionClientMetrics       = "enableClientMetrics"
	optionTrustedDataFormat   = "enableTrustedDataFormat"
	optionReadReceiptStatus   = "readReceiptConfig.status"
	optionConsentPopupEnabled = "consentPopup.enabled"
)

// ConsentPopup is the network's consent banner (guide §13): shown at sign-in, to be accepted before
// the app opens; Version grows with every change of its content, so that users accept it again.
type ConsentPopup struct {
	Enabled          bool   `json:"enabled"`
	Header           string `json:"header,omitempty"`
	Content          string `json:"content,omitempty"`
	CloseButtonLabel string `json:"closeButtonLabel,omitempty"`
	Version          int    `json:"version,omitempty"`
}

// Settings are the network-level settings (the model's NetworkSettings, plus the guide's consent popup).
type Settings struct {
	EnableClientMetrics     bool         `json:"enableClientMetrics"`
	ReadReceiptStatus       string       `json:"readReceiptStatus"`
	DataRetention           bool         `json:"dataRetention"`
	EnableTrustedDataFormat bool         `json:"enableTrustedDataFormat"`
	ConsentPopup            ConsentPopup `json:"consentPopup"`
}

// DefaultSettings are a new network's settings: read receipts off, everything else off.
func DefaultSettings() Settings { return Settings{ReadReceiptStatus: ReadReceiptsDisabled} }

// Option is one setting as GetNetworkSettings lists it (the model's Setting).
type Option struct{ Name, Value, Type string }

// Options lists the settings in the model's Setting form.
func (s Settings) Options() []Option {
	return []Option{
		{optionClientMetrics, strconv.FormatBool(s.EnableClientMetrics), optionTypeBoolean},
		{optionReadReceiptStatus, s.ReadReceiptStatus, optionTypeString},
		{optionDataRetention, strconv.FormatBool(s.DataRetention), optionTypeBoolean},
		{optionTrustedDataFormat, strconv.FormatBool(s.EnableTrustedDataFormat), optionTypeBoolean},
		{optionConsentPopupEnabled, strconv.FormatBool(s.ConsentPopup.Enabled), optionTypeBoolean},
		{"consentPopup.version", strconv.Itoa(s.ConsentPopup.Version), optionTypeNumber},
	}
}

// UpdateSettings changes the members it sets (UpdateNetworkSettings). DataRetention is the same
// switch as UpdateDataRetention's ENABLE and DISABLE, under the same rules.
type UpdateSettings struct {
	NetworkID               string
	EnableClientMetrics     *bool
	ReadReceiptStatus       *string
	DataRetention           *bool
	EnableTrustedDataFormat *bool
	ConsentPopup            *ConsentPopup
}

func (c UpdateSettings) target() string { return c.NetworkID }

func validConsent(p ConsentPopup) error {
	field := "settings.consentPopup."
	switch {
	case p.Enabled && strings.TrimSpace(p.Header) == "":
		return wickr.Invalid(field+"header", "is required when the consent popup is enabled")
	case p.Enabled && strings.TrimSpace(p.Content) == "":
		return wickr.Invalid(field+"content", "is required when the consent popup is enabled")
	case len(p.Header) > MaxConsentHeader:
		return wickr.Invalid(field+"header", "must be at most %d characters", MaxConsentHeader)
	case len(p.Content) > MaxConsentContent:
		return wickr.Invalid(field+"content", "must be at most %d characters", MaxConsentContent)
	case len(p.CloseButtonLabel) > MaxConsentCloseButton:
		return wickr.Invalid(field+"closeButtonLabel", "must be at most %d characters", MaxConsentCloseButton)
	}
	return nil
}

func decideSettings(s State, c Command, now time.Time) ([]Event, bool, error) {
	u, ok := c.(UpdateSettings)
	if !ok {
		return nil, false, nil
	}
	next := s.Settings
	if u.EnableClientMetrics != nil {
		next.EnableClientMetrics = *u.EnableClientMetrics
	}
	if u.ReadReceiptStatus != nil {
		switch *u.ReadReceiptStatus {
		case ReadReceiptsDisabled, ReadReceiptsEnabled, ReadReceiptsForceEnabled:
			next.ReadReceiptStatus = *u.ReadReceiptStatus
		default:
			return nil, true, wickr.Invalid("settings.readReceiptConfig.status", "must be DISABLED, ENABLED or FORCE_ENABLED, got %q", *u.ReadReceiptStatus)
		}
	}
	if u.EnableTrustedDataFormat != nil {
		if *u.EnableTrustedDataFormat && !s.Settings.EnableTrustedDataFormat && s.OpenTDF == nil {
			return nil, true, wickr.Invalid("settings.enableTrustedDataFormat", "needs an OpenTDF configuration (RegisterOpentdfConfig)")
		}
		next.EnableTrustedDataFormat = *u.EnableTrustedDataFormat
	}
	if p := u.ConsentPopup; p != nil {
		if err := validConsent(*p); err != nil {
			return nil, true, err
		}
		next.ConsentPopup, next.ConsentPopup.Version = *p, s.Settings.ConsentPopup.Version
		if p.Enabled && (p.Header != s.Settings.ConsentPopup.Header || p.Content != s.Settings.ConsentPopup.Content ||
			p.CloseButtonLabel != s.Settings.ConsentPopup.CloseButtonLabel || !s.Settings.ConsentPopup.Enabled) {
			next.ConsentPopup.Version++
		}
	}
	var evs []Event
	if next != s.Settings {
		evs = append(evs, SettingsUpdated{EnableClientMetrics: next.EnableClientMetrics, ReadReceiptStatus: next.ReadReceiptStatus,
			EnableTrustedDataFormat: next.EnableTrustedDataFormat, ConsentPopup: next.ConsentPopup, At: now})
	}
	if u.DataRetention != nil {
		r, err := switchRetention(s, *u.DataRetention, "settings.dataRetention", now)
		if err != nil {
			return nil, true, err
		}
		evs = append(evs, r...)
	}
	return evs, true, nil
}

// switchRetention turns data retention on or off (guide §8): on needs Premium features and a
// data-retention bot with a challenge.
func switchRetention(s State, on bool, field string, now time.Time) ([]Event, error) {
	switch {
	case on == s.Settings.DataRetention:
		return nil, nil
	case !on:
		return []Event{DataRetentionDisabled{At: now}}, nil
	case !s.PremiumFeatures():
		return nil, wickr.FieldErr(ErrPlan, field, "data retention is available on Premium and the Premium free trial only")
	case !s.Retention.Exists || !s.Retention.HasChallenge:
		return nil, domain.Wrapf(ErrRetention, "create the data-retention bot and its challenge (password) before enabling data retention")
	}
	return []Event{DataRetentionEnabled{At: now}}, nil
}

func evolveSettings(s *State, e Event) bool {
	switch e := e.(type) {
	case SettingsUpdated:
		s.Settings.EnableClientMetrics, s.Settings.ReadReceiptStatus = e.EnableClientMetrics, e.ReadReceiptStatus
		s.Settings.EnableTrustedDataFormat, s.Settings.ConsentPopup, s.UpdatedAt = e.EnableTrustedDataFormat, e.ConsentPopup, e.At
	case DataRetentionEnabled:
		s.Settings.DataRetention, s.UpdatedAt = true, e.At
	case DataRetentionDisabled:
		s.Settings.DataRetention, s.UpdatedAt = false, e.At
	default:
		return false
	}
	return true
}
