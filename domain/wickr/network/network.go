// Package network models one AWS Wickr network (stream "wickr.network-<networkId>"): its name, plan
// and Premium free trial, network settings, security groups, bots, the data-retention bot, SSO (OIDC)
// and OpenTDF configuration, the guest block list, and its seat count. See package wickr for why
// these share one stream.
//
// Invariants:
//   - A network is created once with its default security group; it is deleted in two steps
//     (DeletionRequested, then Deleted once its users are gone: guide §2.3, "may take a few
//     minutes"), and from the request on it takes no command but CompleteDeletion, which deletes its
//     bots and its data-retention bot (BotDeleted, RetentionBotDeleted) with the network. Data
//     already retained is not the network's to delete.
//   - networkName: 1–20 characters. accessLevel: STANDARD or PREMIUM. encryptionKeyArn: a KMS key ARN.
//   - Plans (guide §7): Standard ⇄ Premium; Standard (or a new network) → the Premium free trial,
//     which has Premium's features for 3 months and at most 30 users (50 in WickrGov), only if this
//     network never was on the trial and holds no more users than the cap, and never with guest
//     federation. During the trial the admin may move to Premium or Standard; at its end (ExpireTrial)
//     the network becomes Standard. Leaving Premium turns data retention off and file downloads back
//     on. One trial per AWS account is the account stream's rule (package account).
//   - Seats: users holding a seat (pending, active, suspended) never exceed the trial's cap while on
//     the trial, and never go below zero.
//   - Security groups: exactly one default group, which cannot be deleted; a deleted group's bots move
//     to the default group in the same decision, its users by the roster (GroupDeleted.MovedTo). A
//     group id is never reused (CreateGroup: ErrGroupToken).
//     Settings follow package securitygroup.
//   - Bots: usernames end in "bot", are unique in the network (case-insensitive), and belong to an
//     existing group; passwords (challenges) are sealed under the bot's key.
//   - Data retention (guide §8) needs Premium or the trial and a data-retention bot with a challenge;
//     the public-key acknowledgement needs the bot registered. One bot per network.
//   - Secrets (bot challenges, the retention bot's passwords, the OIDC secret, the OpenTDF client
//     secret) are domain.Sealed under their subject's key; Decide refuses them otherwise.
//   - Evolve updates the maps of a state in place: the command path serializes every use of a stream's
//     state.
package network

import (
	"fmt"
	"slices"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
)

// StreamPrefix starts the stream name of a network.
const StreamPrefix = "wickr.network-"

// StreamName is the stream of one network.
func StreamName(networkID string) string { return StreamPrefix + networkID }

// Access levels (model enum AccessLevel) and statuses.
const (
	Standard        = "STANDARD"
	Premium         = "PREMIUM"
	StatusActive    = "Active"
	StatusDeleting  = "Deleting"
	StatusDeleted   = "Deleted"
	MaxNameLength   = 20
	TrialMonths     = 3
	TrialUserCap    = 30
	GovTrialUserCap = 50
	// DefaultGroupName names the default security group of a new network.
	DefaultGroupName = "Default"
)

// Sentinels.
var (
	ErrNotFound      = &domain.Error{Kind: domain.KindNotFound, Msg: "network not found"}
	ErrDeleting      = &domain.Error{Kind: domain.KindUnprocessable, Msg: "the network is being deleted"}
	ErrExists        = &domain.Error{Kind: domain.KindConflict, Msg: "the network already exists"}
	ErrGroupNotFound = &domain.Error{Kind: domain.KindNotFound, Msg: "security group not found"}
	ErrDefaultGroup  = &domain.Error{Kind: domain.KindUnprocessable, Msg: "the default security group cannot be deleted"}
	ErrBotNotFound   = &domain.Error{Kind: domain.KindNotFound, Msg: "bot not found"}
	ErrPlan          = &domain.Error{Kind: domain.KindForbidden, Msg: "not available on the network's plan"}
	ErrTrial         = &domain.Error{Kind: domain.KindUnprocessable, Msg: "the Premium free trial is not available"}
	ErrTrialCap      = &domain.Error{Kind: domain.KindLimitExceeded, Msg: "the Premium free trial's user cap is reached"}
	ErrRetention     = &domain.Error{Kind: domain.KindUnprocessable, Msg: "the data-retention bot is not ready"}
)

// State is one network.
type State struct {
	ID, Name, AwsAccountID, Region, AccessLevel, EncryptionKeyArn, Status string
	Trial, EverTrialled                                                   bool
	TrialExpiresAt, CreatedAt, UpdatedAt                                  time.Time
	Settings                                                              Settings
	DefaultGroupID                                                        string
	Groups                                                                map[string]*Group
	Bots                                                                  map[string]*Bot
	Retention                                                             Retention
	OIDC                                                                  *OIDCConfig
	OpenTDF                                                               *OpenTDFConfig
	BlockedGuests                                                         map[string]BlockedGuest
	Seats                                                                 int
	// OIDCGeneration counts the SSO configurations recorded (OIDCRegistered): the generation of
	// OIDC, 0 for none. Company-id claims name the generation they were made at (package directory).
	OIDCGeneration int
	// DeletedGroups are the ids of the deleted security groups: never given to a new group.
	DeletedGroups map[string]bool
}

// Initial is a network never created.
func Initial() State { return State{} }

// Live reports whether the network exists and is not being deleted.
func (s State) Live() bool { return s.Status == StatusActive }

// PremiumFeatures reports whether Premium's features are available (Premium or the trial).
func (s State) PremiumFeatures() bool { return s.AccessLevel == Premium || s.Trial }

// TrialCap is the trial's user cap in the network's region.
func (s State) TrialCap() int {
	if s.Region == wickr.GovRegion {
		return GovTrialUserCap
	}
	return TrialUserCap
}

// GroupContext is what the security-group rules need to know of the network.
func (s State) GroupContext() sg.Context {
	return sg.Context{Region: s.Region, Trial: s.Trial, Premium: s.PremiumFeatures(), SSO: s.OIDC != nil}
}

// Command is the sealed set of network commands.
type Command interface{ target() string }

// Decide applies a command at now.
func Decide(s State, c Command, now time.Time) ([]Event, error) {
	now = now.UTC()
	if c, ok := c.(Create); ok {
		return decideCreate(s, c, now)
	}
	switch {
	case s.Status == "" || s.Status == StatusDeleted || s.ID != c.target():
		return nil, domain.Wrapf(ErrNotFound, "Network %s not found", c.target())
	case s.Status == StatusDeleting:
		if _, ok := c.(CompleteDeletion); ok {
			return completeDeletion(s, now), nil
		}
		if _, ok := c.(Delete); ok {
			return nil, nil // the deletion is under way
		}
		return nil, domain.Wrapf(ErrDeleting, "Network %s is being deleted", s.ID)
	}
	for _, d := range deciders {
		if evs, handled, err := d(s, c, now); handled {
			return evs, err
		}
	}
	return nil, fmt.Errorf("network: unknown command %T", c)
}

// completeDeletion deletes the network's bots (in id order) and data-retention bot, then the network.
func completeDeletion(s State, now time.Time) []Event {
	ids := make([]string, 0, len(s.Bots))
	for id := range s.Bots {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	evs := make([]Event, 0, len(ids)+2)
	for _, id := range ids {
		evs = append(evs, BotDeleted{BotID: id, At: now})
	}
	if s.Retention.Exists {
		evs = append(evs, RetentionBotDeleted{At: now})
	}
	return append(evs, Deleted{At: now})
}

// A decider handles the commands of one area and reports whether c was one of them.
type decider func(s State, c Command, now time.Time) ([]Event, bool, error)

var deciders = []decider{decideLifecycle, decideSettings, decideGroups, decideBots, decideRetention, decideSSO, decideGuestsAndSeats}

// Evolve folds an event.
func Evolve(s State, e Event) State {
	switch e := e.(type) {
	case Created:
		return State{ID: e.NetworkID, Name: e.Name, AwsAccountID: e.AwsAccountID, Region: e.Region, AccessLevel: e.AccessLevel,
			EncryptionKeyArn: e.EncryptionKeyArn, Status: StatusActive, Trial: e.Trial, EverTrialled: e.Trial, TrialExpiresAt: e.TrialExpiresAt,
			CreatedAt: e.At, UpdatedAt: e.At, Settings: DefaultSettings(), Groups: map[string]*Group{}, Bots: map[string]*Bot{},
			BlockedGuests: map[string]BlockedGuest{}}
	case Updated:
		s.Name, s.EncryptionKeyArn, s.UpdatedAt = e.Name, e.EncryptionKeyArn, e.At
	case PlanChanged:
		s.AccessLevel, s.Trial, s.TrialExpiresAt, s.UpdatedAt = e.AccessLevel, e.Trial, e.TrialExpiresAt, e.At
		s.EverTrialled = s.EverTrialled || e.Trial
	case DeletionRequested:
		s.Status, s.UpdatedAt = StatusDeleting, e.At
	case Deleted:
		s.Status, s.UpdatedAt = StatusDeleted, e.At
	default:
		for _, ev := range evolvers {
			if ev(&s, e) {
				break
			}
		}
	}
	return s
}

var evolvers = []func(*State, Event) bool{evolveSettings, evolveGroups, evolveBots, evolveRetention, evolveSSO, evolveGuestsAndSeats}
