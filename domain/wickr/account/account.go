// Package account models the AWS account that owns Wickr networks (stream
// "wickr.account-<awsAccountId>"), for the rules of guide §7.2 and §2.3 that span its networks.
//
// Invariants:
//   - The Premium free trial is granted to at most one network of an account, ever ("only one
//     network per AWS account may be on the Premium free trial"; a network that was on it never gets
//     another, and the account's trial is not handed to a second network when the first leaves it).
//     A grant is recorded before the network's plan changes: when the network is deleted without
//     ever having been on the trial (its plan change refused meanwhile), the grant is given back.
//   - Once a network is deleted while on the trial, the account creates no more networks (guide §2.3).
//   - A network is registered once; the caller registers it here before creating its stream.
package account

import (
	"fmt"
	"time"

	"github.com/belfry/belfry/domain"
)

// Stream name and event types.
const (
	StreamPrefix          = "wickr.account-"
	TypeNetworkRegistered = "wickr.account.network_registered.v1"
	TypeTrialGranted      = "wickr.account.trial_granted.v1"
	TypeNetworkRemoved    = "wickr.account.network_removed.v1"
)

// StreamName is the stream of one AWS account.
func StreamName(awsAccountID string) string { return StreamPrefix + awsAccountID }

// Sentinels.
var (
	ErrTrialUsed = &domain.Error{Kind: domain.KindUnprocessable, Msg: "the account's Premium free trial is used"}
	ErrBlocked   = &domain.Error{Kind: domain.KindForbidden, Msg: "the account deleted a Premium free trial network and cannot create networks"}
	ErrUnknown   = &domain.Error{Kind: domain.KindNotFound, Msg: "network not registered in this account"}
)

// Event is the sealed set of account events.
type Event interface{ EventType() string }

// NetworkRegistered records a network of the account; Trial when it starts on the trial.
type NetworkRegistered struct {
	NetworkID string    `json:"networkId"`
	Trial     bool      `json:"trial,omitempty"`
	At        time.Time `json:"at"`
}

// TrialGranted records the account's trial going to an existing network.
type TrialGranted struct {
	NetworkID string    `json:"networkId"`
	At        time.Time `json:"at"`
}

// NetworkRemoved records a deleted network; OnTrial when it was on the trial (which blocks creation);
// TrialReturned when the account's grant went to it but it never was on the trial, so that the
// account has its trial again (events stored before the field return nothing).
type NetworkRemoved struct {
	NetworkID     string    `json:"networkId"`
	OnTrial       bool      `json:"onTrial,omitempty"`
	TrialReturned bool      `json:"trialReturned,omitempty"`
	At            time.Time `json:"at"`
}

// EventType implements Event.
func (NetworkRegistered) EventType() string { return TypeNetworkRegistered }

// EventType implements Event.
func (TrialGranted) EventType() string { return TypeTrialGranted }

// EventType implements Event.
func (NetworkRemoved) EventType() string { return TypeNetworkRemoved }

// Events is the account event table: every stored event type, listed once. Decode and the list of
// event-type names come from it.
var Events = domain.NewRegistry("account",
	domain.Register[NetworkRegistered, Event](TypeNetworkRegistered),
	domain.Register[TrialGranted, Event](TypeTrialGranted),
	domain.Register[NetworkRemoved, Event](TypeNetworkRemoved),
)

// Decode turns a stored event back into an Event (Events.Decode).
func Decode(eventType string, data []byte) (Event, error) { return Events.Decode(eventType, data) }

// State is an account's networks and trial.
type State struct {
	Networks     map[string]bool // live networks
	TrialNetwork string          // the network that got the trial, if any
	Blocked      bool
}

// Initial is an account without networks.
func Initial() State { return State{} }

// Command is the sealed set of account commands.
type Command interface{ isAccountCommand() }

// RegisterNetwork registers a new network (CreateNetwork), on the trial when Trial is set.
type RegisterNetwork struct {
	NetworkID string
	Trial     bool
}

// GrantTrial gives the account's trial to an existing network (a plan change to the trial).
type GrantTrial struct{ NetworkID string }

// RemoveNetwork records a network's deletion; OnTrial says whether it was on the trial, NeverTrialled
// whether it never was (both read on the network's state its deletion was decided on).
type RemoveNetwork struct {
	NetworkID     string
	OnTrial       bool
	NeverTrialled bool
}

func (RegisterNetwork) isAccountCommand() {}
func (GrantTrial) isAccountCommand()      {}
func (RemoveNetwork) isAccountCommand()   {}

func (s State) grantable(networkID string) error {
	if s.TrialNetwork != "" && s.TrialNetwork != networkID {
		return domain.Wrapf(ErrTrialUsed, "network %s of this account has had the Premium free trial; only one network per account may", s.TrialNetwork)
	}
	return nil
}

// Decide applies a command.
func Decide(s State, c Command, now time.Time) ([]Event, error) {
	now = now.UTC()
	switch c := c.(type) {
	case RegisterNetwork:
		switch {
		case s.Networks[c.NetworkID]:
			return nil, nil // the same request again
		case s.Blocked:
			return nil, domain.Wrapf(ErrBlocked, "this account deleted a Premium free trial network and cannot create another network")
		case c.Trial:
			if err := s.grantable(c.NetworkID); err != nil {
				return nil, err
			}
		}
		return []Event{NetworkRegistered{NetworkID: c.NetworkID, Trial: c.Trial, At: now}}, nil
	case GrantTrial:
		if !s.Networks[c.NetworkID] {
			return nil, domain.Wrapf(ErrUnknown, "network %s is not registered in this account", c.NetworkID)
		}
		if s.TrialNetwork == c.NetworkID {
			return nil, nil
		}
		if err := s.grantable(c.NetworkID); err != nil {
			return nil, err
		}
		return []Event{TrialGranted{NetworkID: c.NetworkID, At: now}}, nil
	case RemoveNetwork:
		if !s.Networks[c.NetworkID] {
			return nil, nil
		}
		returned := c.NeverTrialled && !c.OnTrial && s.TrialNetwork == c.NetworkID
		return []Event{NetworkRemoved{NetworkID: c.NetworkID, OnTrial: c.OnTrial, TrialReturned: returned, At: now}}, nil
	}
	return nil, fmt.Errorf("account: unknown command %T", c)
}

// Evolve folds an event.
func Evolve(s State, e Event) State {
	if s.Networks == nil {
		s.Networks = map[string]bool{}
	}
	switch e := e.(type) {
	case NetworkRegistered:
		s.Networks[e.NetworkID] = true
		if e.Trial {
			s.TrialNetwork = e.NetworkID
		}
	case TrialGranted:
		s.TrialNetwork = e.NetworkID
	case NetworkRemoved:
		delete(s.Networks, e.NetworkID)
		s.Blocked = s.Blocked || e.OnTrial
		if e.TrialReturned && s.TrialNetwork == e.NetworkID {
			s.TrialNetwork = ""
		}
	}
	return s
}
