// Package settings models the settings of one AWS account (tenant) in Chime: the global settings (the
// Business Calling and Voice Connector CDR buckets, the usage-report bucket) and the default outbound
// calling name.
//
// Invariants:
//   - Bucket names follow the S3 rules of the guide (§1.1.1): 3–63 characters; lower-case letters,
//     digits, '.' and '-'; starting with a letter or digit and not ending with '-' or '.'; no '..',
//     '.-' or '-.'; not shaped like an IP address. An empty name turns the destination off.
//   - Usage reporting (guide §1.1.1, §7.3) is on while UsageReportBucket names a bucket;
//     UsageReportingSince is when it was last turned on (zero while off). Setting the bucket it
//     already names changes nothing; moving to another bucket keeps the time it was turned on.
//   - The default calling name has 1–15 characters (guide §6.6) and can change once every 7 days;
//     after a change its status is UpdateInProgress until PropagationDelay has passed (about 72 h in
//     the guide), then UpdateSucceeded. The status is derived from the change time and the clock.
package settings

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/belfry/belfry/domain"
)

// Stable names.
const (
	StreamPrefix              = "chime.settings-"
	TypeGlobalSettingsUpdated = "chime.settings.global_updated.v1"
	TypeCallingNameUpdated    = "chime.settings.calling_name_updated.v1"
	TypeUsageReportingUpdated = "chime.settings.usage_reporting_updated.v1"
	MaxCallingName            = 15
	CallingNameInterval       = 7 * 24 * time.Hour
)

// StreamName is the settings stream of one AWS account.
func StreamName(awsAccountID string) string { return StreamPrefix + awsAccountID }

// Sentinels.
var (
	ErrInvalidBucket      = &domain.Error{Kind: domain.KindInvalid, Msg: "invalid bucket name"}
	ErrInvalidCallingName = &domain.Error{Kind: domain.KindInvalid, Msg: "invalid calling name"}
	ErrTooSoon            = &domain.Error{Kind: domain.KindInvalid, Msg: "calling name changed less than 7 days ago"}
)

// Event is the sealed set of settings events.
type Event interface{ EventType() string }

// GlobalSettingsUpdated records the CDR buckets after an update ("" = off).
type GlobalSettingsUpdated struct {
	BusinessCallingCdrBucket string `json:"businessCallingCdrBucket"`
	VoiceConnectorCdrBucket  string `json:"voiceConnectorCdrBucket"`
}

// CallingNameUpdated records a new default outbound calling name.
type CallingNameUpdated struct {
	CallingName string    `json:"callingName"`
	At          time.Time `json:"at"`
}

// UsageReportingUpdated records the usage-report bucket ("" = reporting off) and since when
// reporting has been on.
type UsageReportingUpdated struct {
	Bucket string    `json:"bucket"`
	Since  time.Time `json:"since,omitzero"`
	At     time.Time `json:"at"`
}

// EventType implements Event.
func (UsageReportingUpdated) EventType() string { return TypeUsageReportingUpdated }

// EventType implements Event.
func (GlobalSettingsUpdated) EventType() string { return TypeGlobalSettingsUpdated }

// EventType implements Event.
func (CallingNameUpdated) EventType() string { return TypeCallingNameUpdated }

// State is a tenant's settings.
type State struct {
	BusinessCallingCdrBucket string
	VoiceConnectorCdrBucket  string
	CallingName              string
	CallingNameUpdatedAt     time.Time
	UsageReportBucket        string
	UsageReportingSince      time.Time
}

// Initial is the state before any change.
func Initial() State { return State{} }

// Command is the sealed set of settings commands.
type Command interface{ isSettingsCommand() }

// UpdateGlobal changes the CDR buckets; nil fields stay as they are.
type UpdateGlobal struct {
	BusinessCallingCdrBucket *string
	VoiceConnectorCdrBucket  *string
}

// UpdateCallingName sets the default outbound calling name (an empty one clears it).
type UpdateCallingName struct{ CallingName string }

// UpdateUsageReporting turns usage reporting on into Bucket, or off ("").
type UpdateUsageReporting struct{ Bucket string }

func (UpdateUsageReporting) isSettingsCommand() {}

func (UpdateGlobal) isSettingsCommand()      {}
func (UpdateCallingName) isSettingsCommand() {}

var ipShape = regexp.MustCompile(`^\d+\.\d+\.\d+\.\d+$`)

// ValidateBucket checks an S3 bucket name ("" turns the destination off).
func ValidateBucket(field, name string) error {
	if name == "" {
		return nil
	}
	bad := func(why string) error { return domain.Wrapf(ErrInvalidBucket, "%s %q %s", field, name, why) }
	if len(name) < 3 || len(name) > 63 {
		return bad("must be 3-63 characters")
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-') {
			return bad("may contain only lower-case letters, numbers, '.' and '-'")
		}
	}
	if first := name[0]; !(first >= 'a' && first <= 'z' || first >= '0' && first <= '9') {
		return bad("must start with a lower-case letter or a number")
	}
	if last := name[len(name)-1]; last == '-' || last == '.' {
		return bad("must not end with '-' or '.'")
	}
	if strings.Contains(name, "..") || strings.Contains(name, ".-") || strings.Contains(name, "-.") {
		return bad("must not contain '..' or a dash next to a period")
	}
	if ipShape.MatchString(name) || net.ParseIP(name) != nil {
		return bad("must not be formatted as an IP address")
	}
	return nil
}

// ValidateCallingName checks a calling name. The empty name is valid (the model's pattern is
// ^$|…): it clears the calling name.
func ValidateCallingName(name string) error {
	if name == "" {
		return nil
	}
	if n := utf8.RuneCountInString(name); n > MaxCallingName {
		return domain.Wrapf(ErrInvalidCallingName, "CallingName must be at most %d characters, got %d", MaxCallingName, n)
	}
	if strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 || strings.TrimSpace(name) == "" {
		return domain.Wrapf(ErrInvalidCallingName, "CallingName must be printable and not blank")
	}
	return nil
}

// Decide applies a command at time now.
func Decide(s State, c Command, now time.Time) ([]Event, error) {
	switch c := c.(type) {
	case UpdateGlobal:
		next := GlobalSettingsUpdated{BusinessCallingCdrBucket: s.BusinessCallingCdrBucket, VoiceConnectorCdrBucket: s.VoiceConnectorCdrBucket}
		if c.BusinessCallingCdrBucket != nil {
			if err := ValidateBucket("BusinessCalling.CdrBucket", *c.BusinessCallingCdrBucket); err != nil {
				return nil, err
			}
			next.BusinessCallingCdrBucket = *c.BusinessCallingCdrBucket
		}
		if c.VoiceConnectorCdrBucket != nil {
			if err := ValidateBucket("VoiceConnector.CdrBucket", *c.VoiceConnectorCdrBucket); err != nil {
				return nil, err
			}
			next.VoiceConnectorCdrBucket = *c.VoiceConnectorCdrBucket
		}
		if next.BusinessCallingCdrBucket == s.BusinessCallingCdrBucket && next.VoiceConnectorCdrBucket == s.VoiceConnectorCdrBucket {
			return nil, nil
		}
		return []Event{next}, nil
	case UpdateCallingName:
		if err := ValidateCallingName(c.CallingName); err != nil {
			return nil, err
		}
		if c.CallingName == "" && s.CallingName == "" {
			return nil, nil // nothing to clear
		}
		if !s.CallingNameUpdatedAt.IsZero() && now.Sub(s.CallingNameUpdatedAt) < CallingNameInterval {
			return nil, domain.Wrapf(ErrTooSoon, "the calling name can be updated once every 7 days; the next update is possible after %s",
				s.CallingNameUpdatedAt.Add(CallingNameInterval).UTC().Format(time.RFC3339))
		}
		return []Event{CallingNameUpdated{CallingName: c.CallingName, At: now.UTC()}}, nil
	case UpdateUsageReporting:
		if err := ValidateBucket("Bucket", c.Bucket); err != nil {
			return nil, err
		}
		if c.Bucket == s.UsageReportBucket {
			return nil, nil
		}
		since := s.UsageReportingSince
		switch {
		case c.Bucket == "":
			since = time.Time{}
		case since.IsZero():
			since = now.UTC()
		}
		return []Event{UsageReportingUpdated{Bucket: c.Bucket, Since: since, At: now.UTC()}}, nil
	}
	return nil, fmt.Errorf("settings: unknown command %T", c)
}

// Evolve folds an event into the state.
func Evolve(s State, e Event) State {
	switch e := e.(type) {
	case GlobalSettingsUpdated:
		s.BusinessCallingCdrBucket, s.VoiceConnectorCdrBucket = e.BusinessCallingCdrBucket, e.VoiceConnectorCdrBucket
	case CallingNameUpdated:
		s.CallingName, s.CallingNameUpdatedAt = e.CallingName, e.At
	case UsageReportingUpdated:
		s.UsageReportBucket, s.UsageReportingSince = e.Bucket, e.Since
	}
	return s
}

// Calling-name statuses (the CallingNameStatus enum).
const (
	CallingNameUnassigned       = "Unassigned"
	CallingNameUpdateInProgress = "UpdateInProgress"
	CallingNameUpdateSucceeded  = "UpdateSucceeded"
)

// CallingNameStatus derives the propagation status of a name changed at changedAt.
func CallingNameStatus(name string, changedAt, now time.Time, propagation time.Duration) string {
	switch {
	case name == "":
		return CallingNameUnassigned
	case now.Sub(changedAt) < propagation:
		return CallingNameUpdateInProgress
	default:
		return CallingNameUpdateSucceeded
	}
}
