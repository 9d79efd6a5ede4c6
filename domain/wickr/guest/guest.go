// Package guest models a guest account (stream "wickr.guest-<usernameHash>"): a person who
// registered with the Wickr client without an invitation, which creates a guest account in the guest
// network instead of a user of a network (guide §15.5). Guests collaborate with networks whose
// security groups enable guest federation; a network's block list is the network's (package network),
// and the guests seen per billing period come from messaging.
//
// Invariants: one account per username (the stream is keyed by the hash of the lower-cased e-mail);
// the password is sealed under the guest's key; a deleted guest account (the fix of §15.5: delete it,
// then register through the invitation) can be registered again.
package guest

import (
	"fmt"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
)

// Stream name and event types.
const (
	StreamPrefix   = "wickr.guest-"
	TypeRegistered = "wickr.guest.registered.v1"
	TypeDeleted    = "wickr.guest.deleted.v1"
)

// StreamName is the stream of the guest with this username.
func StreamName(username string) string { return StreamPrefix + wickr.UsernameHash(username) }

// Sentinels.
var (
	ErrExists   = &domain.Error{Kind: domain.KindConflict, Msg: "a guest account with this e-mail exists"}
	ErrNotFound = &domain.Error{Kind: domain.KindNotFound, Msg: "guest account not found"}
)

// Event is the sealed set of guest events.
type Event interface{ EventType() string }

// Registered records a self-registration.
type Registered struct {
	Username     string        `json:"username"`
	UsernameHash string        `json:"usernameHash"`
	Password     domain.Sealed `json:"password"`
	At           time.Time     `json:"at"`
}

// Deleted records the deletion of the guest account.
type Deleted struct {
	At time.Time `json:"at"`
}

// EventType implements Event.
func (Registered) EventType() string { return TypeRegistered }

// EventType implements Event.
func (Deleted) EventType() string { return TypeDeleted }

// Events is the guest event table: every stored event type, listed once. Decode and the list of
// event-type names come from it.
var Events = domain.NewRegistry("guest",
	domain.Register[Registered, Event](TypeRegistered),
	domain.Register[Deleted, Event](TypeDeleted),
)

// Decode turns a stored event back into an Event (Events.Decode).
func Decode(eventType string, data []byte) (Event, error) { return Events.Decode(eventType, data) }

// State is one guest account.
type State struct {
	Username, UsernameHash string
	Live                   bool
	Password               domain.Sealed
	RegisteredAt           time.Time
}

// Initial is a username never registered.
func Initial() State { return State{} }

// Command is the sealed set of guest commands.
type Command interface{ isGuestCommand() }

// SelfRegister creates the guest account of an e-mail address.
type SelfRegister struct {
	Username string
	Password domain.Sealed
}

// Delete deletes the guest account.
type Delete struct{ Username string }

func (SelfRegister) isGuestCommand() {}
func (Delete) isGuestCommand()       {}

// Decide applies a command.
func Decide(s State, c Command, now time.Time) ([]Event, error) {
	switch c := c.(type) {
	case SelfRegister:
		username, err := wickr.NormalizeUsername("username", c.Username)
		if err != nil {
			return nil, err
		}
		hash := wickr.UsernameHash(username)
		if err := wickr.CheckSealed(wickr.GuestTenant, wickr.GuestSubject(hash), "password", c.Password); err != nil {
			return nil, err
		}
		if s.Live {
			return nil, domain.Wrapf(ErrExists, "a guest account for %s exists", username)
		}
		return []Event{Registered{Username: username, UsernameHash: hash, Password: c.Password, At: now.UTC()}}, nil
	case Delete:
		if !s.Live {
			return nil, domain.Wrapf(ErrNotFound, "no guest account for %s", c.Username)
		}
		return []Event{Deleted{At: now.UTC()}}, nil
	}
	return nil, fmt.Errorf("guest: unknown command %T", c)
}

// Evolve folds an event.
func Evolve(s State, e Event) State {
	switch e := e.(type) {
	case Registered:
		return State{Username: e.Username, UsernameHash: e.UsernameHash, Live: true, Password: e.Password, RegisteredAt: e.At}
	case Deleted:
		s.Live, s.Password = false, domain.Sealed{}
	}
	return s
}
