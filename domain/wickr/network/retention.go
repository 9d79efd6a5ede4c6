package network

import (
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
)

// Data-retention actions (model enum DataRetentionActionType) and the bot's password rule.
const (
	ActionEnable       = "ENABLE"
	ActionDisable      = "DISABLE"
	ActionPubkeyMsgAck = "PUBKEY_MSG_ACK"
	// MinRetentionPassword is the shortest password the bot may rotate to (guide §8.4).
	MinRetentionPassword = 12
)

// ErrNoRetentionBot is a network without a data-retention bot.
var ErrNoRetentionBot = &domain.Error{Kind: domain.KindNotFound, Msg: "the network has no data-retention bot"}

// Retention is the data-retention bot (guide §8): created, given a challenge (its initial password),
// registered when it first signs in with it (it then holds a generated password and the challenge is
// spent), and its public-key message acknowledged. Generation counts the bots the network has had
// (kept across deletions): each one's passwords are sealed under a key of its own (Subject).
type Retention struct {
	Exists, HasChallenge, Registered, PubkeyAcked bool
	BotName                                       string
	Challenge, Password                           domain.Sealed
	Generation                                    int
}

// Subject is the key subject of the current bot's passwords (wickr.RetentionBotSubject).
func (r Retention) Subject() string { return wickr.RetentionBotSubject(r.Generation) }

// RetentionBotName is the data-retention bot's username in a network.
func RetentionBotName(networkID string) string { return "compliance_" + networkID + "_bot" }

// CreateRetentionBot creates the network's data-retention bot (again: no change).
type CreateRetentionBot struct{ NetworkID string }

// IssueRetentionChallenge sets the bot's initial password (CreateDataRetentionBotChallenge), sealed
// under the retention bot's key; a new one replaces the last until the bot registers.
type IssueRetentionChallenge struct {
	NetworkID string
	Challenge domain.Sealed
}

// RegisterRetentionBot records the bot's first sign-in with its challenge and the password it generated.
type RegisterRetentionBot struct {
	NetworkID string
	Password  domain.Sealed
}

// RotateRetentionPassword records the bot's new password; the caller, which holds the clear text,
// reports its length and whether it equals the current one.
type RotateRetentionPassword struct {
	NetworkID     string
	Password      domain.Sealed
	Length        int
	SameAsCurrent bool
}

// UpdateDataRetention is UpdateDataRetention's ENABLE, DISABLE or PUBKEY_MSG_ACK.
type UpdateDataRetention struct{ NetworkID, Action string }

// DeleteRetentionBot deletes the bot; data retention, if on, goes off with it.
type DeleteRetentionBot struct{ NetworkID string }

func (c CreateRetentionBot) target() string      { return c.NetworkID }
func (c IssueRetentionChallenge) target() string { return c.NetworkID }
func (c RegisterRetentionBot) target() string    { return c.NetworkID }
func (c RotateRetentionPassword) target() string { return c.NetworkID }
func (c UpdateDataRetention) target() string     { return c.NetworkID }
func (c DeleteRetentionBot) target() string      { return c.NetworkID }

func (s State) retentionBot() error {
	if !s.Retention.Exists {
		return domain.Wrapf(ErrNoRetentionBot, "network %s has no data-retention bot (CreateDataRetentionBot)", s.ID)
	}
	return nil
}

func decideRetention(s State, c Command, now time.Time) ([]Event, bool, error) {
	var evs []Event
	var err error
	switch c := c.(type) {
	case CreateRetentionBot:
		switch {
		case s.Retention.Exists:
		case !s.PremiumFeatures():
			err = domain.Wrapf(ErrPlan, "data retention is available on Premium and the Premium free trial only")
		default:
			evs = []Event{RetentionBotCreated{BotName: RetentionBotName(s.ID), At: now}}
		}
	case IssueRetentionChallenge:
		if err = s.retentionBot(); err == nil {
			evs, err = issueChallenge(s, c, now)
		}
	case RegisterRetentionBot:
		evs, err = registerRetentionBot(s, c, now)
	case RotateRetentionPassword:
		evs, err = rotateRetentionPassword(s, c, now)
	case UpdateDataRetention:
		evs, err = updateRetention(s, c, now)
	case DeleteRetentionBot:
		if err = s.retentionBot(); err == nil {
			if s.Settings.DataRetention {
				evs = append(evs, DataRetentionDisabled{At: now})
			}
			evs = append(evs, RetentionBotDeleted{At: now})
		}
	default:
		return nil, false, nil
	}
	return evs, true, err
}

func issueChallenge(s State, c IssueRetentionChallenge, now time.Time) ([]Event, error) {
	if s.Retention.Registered {
		return nil, domain.Wrapf(ErrRetention, "the data-retention bot of network %s is registered: its initial password is spent and the bot's own password is needed", s.ID)
	}
	if err := wickr.CheckSealed(s.ID, s.Retention.Subject(), "challenge", c.Challenge); err != nil {
		return nil, err
	}
	return []Event{RetentionChallengeIssued{Challenge: c.Challenge, At: now}}, nil
}

func registerRetentionBot(s State, c RegisterRetentionBot, now time.Time) ([]Event, error) {
	if err := s.retentionBot(); err != nil {
		return nil, err
	}
	switch {
	case s.Retention.Registered:
		return nil, domain.Wrapf(ErrRetention, "the data-retention bot of network %s is already registered", s.ID)
	case !s.Retention.HasChallenge:
		return nil, domain.Wrapf(ErrRetention, "the data-retention bot of network %s has no challenge yet", s.ID)
	}
	if err := wickr.CheckSealed(s.ID, s.Retention.Subject(), "password", c.Password); err != nil {
		return nil, err
	}
	return []Event{RetentionBotRegistered{Password: c.Password, At: now}}, nil
}

func rotateRetentionPassword(s State, c RotateRetentionPassword, now time.Time) ([]Event, error) {
	if err := s.retentionBot(); err != nil {
		return nil, err
	}
	switch {
	case !s.Retention.Registered:
		return nil, domain.Wrapf(ErrRetention, "the data-retention bot of network %s must sign in with its current password first", s.ID)
	case c.Length < MinRetentionPassword:
		return nil, wickr.Invalid("password", "must be at least %d characters", MinRetentionPassword)
	case c.SameAsCurrent:
		return nil, wickr.Invalid("password", "must differ from the current password")
	}
	if err := wickr.CheckSealed(s.ID, s.Retention.Subject(), "password", c.Password); err != nil {
		return nil, err
	}
	return []Event{RetentionPasswordRotated{Password: c.Password, At: now}}, nil
}

func updateRetention(s State, c UpdateDataRetention, now time.Time) ([]Event, error) {
	switch c.Action {
	case ActionEnable, ActionDisable:
		return switchRetention(s, c.Action == ActionEnable, "actionType", now)
	case ActionPubkeyMsgAck:
		if err := s.retentionBot(); err != nil {
			return nil, err
		}
		if !s.Retention.Registered {
			return nil, domain.Wrapf(ErrRetention, "the data-retention bot of network %s has not registered yet", s.ID)
		}
		if s.Retention.PubkeyAcked {
			return nil, nil
		}
		return []Event{RetentionPubkeyAcked{At: now}}, nil
	}
	return nil, wickr.Invalid("actionType", "must be ENABLE, DISABLE or PUBKEY_MSG_ACK, got %q", c.Action)
}

func evolveRetention(s *State, e Event) bool {
	r := &s.Retention
	switch e := e.(type) {
	case RetentionBotCreated:
		*r = Retention{Exists: true, BotName: e.BotName, Generation: r.Generation + 1}
	case RetentionChallengeIssued:
		r.HasChallenge, r.Challenge = true, e.Challenge
	case RetentionBotRegistered:
		r.Registered, r.Password, r.Challenge = true, e.Password, domain.Sealed{}
	case RetentionPasswordRotated:
		r.Password = e.Password
	case RetentionPubkeyAcked:
		r.PubkeyAcked = true
	case RetentionBotDeleted:
		*r = Retention{Generation: r.Generation}
	default:
		return false
	}
	return true
}
