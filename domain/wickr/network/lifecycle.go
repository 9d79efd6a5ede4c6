package network

import (
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
)

// Create creates the network and its default security group (ids from the caller).
type Create struct {
	NetworkID, Name, AwsAccountID, Region, AccessLevel, EncryptionKeyArn string
	EnablePremiumFreeTrial                                               bool
	DefaultGroupID                                                       string
}

// Update renames the network and sets (or, with an empty string, clears) its KMS key; a nil
// EncryptionKeyArn leaves the key as it is.
type Update struct {
	NetworkID, Name  string
	EncryptionKeyArn *string
}

// ChangePlan moves the network to AccessLevel, or to the Premium free trial when Trial is set.
type ChangePlan struct {
	NetworkID, AccessLevel string
	Trial                  bool
}

// ExpireTrial ends a trial whose 3 months are over (a scheduler sends it; early, it is refused).
type ExpireTrial struct{ NetworkID string }

// Delete starts the deletion of the network.
type Delete struct{ NetworkID string }

// CompleteDeletion records that the network's users are gone: its bots go with it.
type CompleteDeletion struct{ NetworkID string }

func (c Create) target() string           { return c.NetworkID }
func (c Update) target() string           { return c.NetworkID }
func (c ChangePlan) target() string       { return c.NetworkID }
func (c ExpireTrial) target() string      { return c.NetworkID }
func (c Delete) target() string           { return c.NetworkID }
func (c CompleteDeletion) target() string { return c.NetworkID }

var (
	kmsKeyArn    = regexp.MustCompile(`^arn:aws(-[a-z]+)*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$`)
	awsAccountID = regexp.MustCompile(`^[0-9]{12}$`)
)

// ValidName checks a network name (1–20 characters, not only white space).
func ValidName(field, name string) error {
	if strings.TrimSpace(name) == "" || utf8.RuneCountInString(name) > MaxNameLength {
		return wickr.Invalid(field, "must be 1 to %d characters", MaxNameLength)
	}
	return nil
}

func validKey(arn string) error {
	if arn != "" && !kmsKeyArn.MatchString(arn) {
		return wickr.Invalid("encryptionKeyArn", "must be the ARN of a KMS key (arn:aws:kms:<region>:<account>:key/<id>), got %q", arn)
	}
	return nil
}

func validAccessLevel(level string) error {
	if level != Standard && level != Premium {
		return wickr.Invalid("accessLevel", "must be STANDARD or PREMIUM, got %q", level)
	}
	return nil
}

func decideCreate(s State, c Create, now time.Time) ([]Event, error) {
	for _, err := range []error{wickr.ValidNetworkID("networkId", c.NetworkID), ValidName("networkName", c.Name),
		validAccessLevel(c.AccessLevel), validKey(c.EncryptionKeyArn), wickr.ValidRegion("region", c.Region)} {
		if err != nil {
			return nil, err
		}
	}
	if !awsAccountID.MatchString(c.AwsAccountID) {
		return nil, wickr.Invalid("awsAccountId", "must be 12 digits, got %q", c.AwsAccountID)
	}
	if c.DefaultGroupID == "" {
		return nil, wickr.Invalid("defaultGroupId", "is required")
	}
	if s.Status != "" {
		return nil, domain.Wrapf(ErrExists, "Network %s already exists", c.NetworkID)
	}
	created := Created{NetworkID: c.NetworkID, Name: c.Name, AwsAccountID: c.AwsAccountID, Region: c.Region, AccessLevel: c.AccessLevel,
		EncryptionKeyArn: c.EncryptionKeyArn, At: now}
	if c.EnablePremiumFreeTrial {
		created.AccessLevel, created.Trial, created.TrialExpiresAt = Premium, true, now.AddDate(0, TrialMonths, 0)
	}
	return []Event{created, GroupCreated{GroupID: c.DefaultGroupID, Name: DefaultGroupName, IsDefault: true, Settings: sg.Defaults(), At: now}}, nil
}

func decideLifecycle(s State, c Command, now time.Time) ([]Event, bool, error) {
	switch c := c.(type) {
	case Update:
		if err := ValidName("networkName", c.Name); err != nil {
			return nil, true, err
		}
		key := s.EncryptionKeyArn
		if c.EncryptionKeyArn != nil {
			key = *c.EncryptionKeyArn
		}
		if err := validKey(key); err != nil {
			return nil, true, err
		}
		if c.Name == s.Name && key == s.EncryptionKeyArn {
			return nil, true, nil
		}
		return []Event{Updated{Name: c.Name, EncryptionKeyArn: key, At: now}}, true, nil
	case ChangePlan:
		evs, err := decidePlan(s, c, now)
		return evs, true, err
	case ExpireTrial:
		if !s.Trial {
			return nil, true, nil
		}
		if now.Before(s.TrialExpiresAt) {
			return nil, true, domain.Wrapf(ErrTrial, "the trial of network %s runs until %s", s.ID, s.TrialExpiresAt.Format(time.RFC3339))
		}
		return leavePremium(s, PlanChanged{AccessLevel: Standard, At: now}), true, nil
	case Delete:
		return []Event{DeletionRequested{At: now}}, true, nil
	case CompleteDeletion:
		return nil, true, domain.Wrapf(ErrDeleting, "the deletion of network %s was not requested", s.ID)
	}
	return nil, false, nil
}

func decidePlan(s State, c ChangePlan, now time.Time) ([]Event, error) {
	if !c.Trial {
		if err := validAccessLevel(c.AccessLevel); err != nil {
			return nil, err
		}
		if c.AccessLevel == s.AccessLevel && !s.Trial {
			return nil, nil
		}
		e := PlanChanged{AccessLevel: c.AccessLevel, At: now}
		if c.AccessLevel == Standard {
			return leavePremium(s, e), nil
		}
		return []Event{e}, nil
	}
	switch {
	case s.Trial:
		return nil, nil
	case s.EverTrialled:
		return nil, domain.Wrapf(ErrTrial, "network %s was on the Premium free trial before; it cannot use another", s.ID)
	case s.AccessLevel != Standard:
		return nil, domain.Wrapf(ErrTrial, "network %s is on Premium; the Premium free trial is for new and Standard networks", s.ID)
	case s.Seats > s.TrialCap():
		return nil, domain.Wrapf(ErrTrialCap, "network %s has %d users; the Premium free trial allows %d", s.ID, s.Seats, s.TrialCap())
	}
	for _, g := range s.Groups {
		if g.Settings.EnableGuestFederation {
			return nil, domain.Wrapf(ErrTrial, "security group %s enables guest users, which the Premium free trial does not have", g.ID)
		}
	}
	return []Event{PlanChanged{AccessLevel: Premium, Trial: true, TrialExpiresAt: now.AddDate(0, TrialMonths, 0), At: now}}, nil
}

// leavePremium is e (a move to Standard) with what Standard lacks undone: data retention off, file
// downloads back on in every group that had turned them off.
func leavePremium(s State, e PlanChanged) []Event {
	evs := []Event{e}
	if s.Settings.DataRetention {
		evs = append(evs, DataRetentionDisabled{At: e.At})
	}
	for _, id := range s.groupIDs() {
		g := s.Groups[id]
		if !g.Settings.EnableFileDownload {
			st := g.Settings
			st.EnableFileDownload, st.MaxAutoDownloadSize = true, sg.DownloadHighQuality
			evs = append(evs, GroupUpdated{GroupID: id, Name: g.Name, Settings: st, At: e.At})
		}
	}
	return evs
}
