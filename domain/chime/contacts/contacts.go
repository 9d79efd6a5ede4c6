// Package contacts models a Chime user's personal contact list (guide §1.2.3): at most MaxContacts
// other Chime users, added with "Add to contacts" and exported as CSV (name, e-mail address, phone
// number).
//
// Invariants:
//   - One stream per user (StreamName): the list of that user alone; its events hold user ids only,
//     never names, e-mail addresses or phone numbers (those are read from the directory when the list
//     is shown or exported, so a renamed or deleted contact is never frozen into the log).
//   - At most MaxContacts contacts; a user is not its own contact; a contact is listed once (adding it
//     again changes nothing, removing one that is not listed is NotFound).
//   - A delegate (guide §8.2, "add as delegate") is one of the contacts the owner made its delegate:
//     it joins the owner's meetings as a moderator, like the owner. Only a listed contact can be made
//     a delegate; removing the contact ends the delegation; setting what is already set changes
//     nothing.
package contacts

import (
	"fmt"
	"time"

	"github.com/belfry/belfry/domain"
)

// Stable names and limits.
const (
	StreamPrefix       = "chime.contacts-"
	TypeContactAdded   = "chime.contacts.added.v1"
	TypeContactRemoved = "chime.contacts.removed.v1"
	TypeDelegateSet    = "chime.contacts.delegate_set.v1"
	MaxContacts        = 100
)

// StreamName is the contact list of one user.
func StreamName(userID string) string { return StreamPrefix + userID }

// Sentinels.
var (
	ErrTooMany     = &domain.Error{Kind: domain.KindLimitExceeded, Msg: "the personal contact list is full"}
	ErrSelf        = &domain.Error{Kind: domain.KindInvalid, Msg: "a user cannot add itself to its contacts"}
	ErrNotAContact = &domain.Error{Kind: domain.KindNotFound, Msg: "not in the contact list"}
)

// Event is the sealed set of contact-list events.
type Event interface{ EventType() string }

// ContactAdded records that OwnerID added ContactID (a user of ContactAccountID) to its contacts.
type ContactAdded struct {
	OwnerID          string    `json:"ownerId"`
	ContactID        string    `json:"contactId"`
	ContactAccountID string    `json:"contactAccountId"`
	At               time.Time `json:"at"`
}

// ContactRemoved records that OwnerID removed ContactID from its contacts.
type ContactRemoved struct {
	OwnerID   string    `json:"ownerId"`
	ContactID string    `json:"contactId"`
	At        time.Time `json:"at"`
}

// DelegateSet records that OwnerID made ContactID its delegate (On) or no longer (!On).
type DelegateSet struct {
	OwnerID   string    `json:"ownerId"`
	ContactID string    `json:"contactId"`
	On        bool      `json:"on"`
	At        time.Time `json:"at"`
}

// EventType implements Event.
func (DelegateSet) EventType() string { return TypeDelegateSet }

// EventType implements Event.
func (ContactAdded) EventType() string { return TypeContactAdded }

// EventType implements Event.
func (ContactRemoved) EventType() string { return TypeContactRemoved }

// Contact is one entry of the list.
type Contact struct {
	UserID, AccountID string
	AddedAt           time.Time
	Delegate          bool
}

// State is one user's contact list, in the order the contacts were added.
type State struct {
	Contacts []Contact
}

// Initial is the empty list.
func Initial() State { return State{} }

func (s State) index(userID string) int {
	for i, c := range s.Contacts {
		if c.UserID == userID {
			return i
		}
	}
	return -1
}

// Command is the sealed set of contact-list commands.
type Command interface{ isContactsCommand() }

// Add adds ContactID (a user of ContactAccountID, resolved by the caller) to OwnerID's list.
type Add struct{ OwnerID, ContactID, ContactAccountID string }

// Remove removes ContactID from OwnerID's list.
type Remove struct{ OwnerID, ContactID string }

// SetDelegate makes the contact ContactID OwnerID's delegate (On) or no longer (!On).
type SetDelegate struct {
	OwnerID, ContactID string
	On                 bool
}

func (Add) isContactsCommand()         {}
func (Remove) isContactsCommand()      {}
func (SetDelegate) isContactsCommand() {}

// IsDelegate reports whether userID is a delegate of the list's owner.
func (s State) IsDelegate(userID string) bool {
	i := s.index(userID)
	return i >= 0 && s.Contacts[i].Delegate
}

// Decide applies a command at time now.
func Decide(s State, c Command, now time.Time) ([]Event, error) {
	switch c := c.(type) {
	case Add:
		switch {
		case c.ContactID == c.OwnerID:
			return nil, ErrSelf
		case s.index(c.ContactID) >= 0:
			return nil, nil
		case len(s.Contacts) >= MaxContacts:
			return nil, domain.Wrapf(ErrTooMany, "a personal contact list holds at most %d contacts; remove one first", MaxContacts)
		}
		return []Event{ContactAdded{OwnerID: c.OwnerID, ContactID: c.ContactID, ContactAccountID: c.ContactAccountID, At: now.UTC()}}, nil
	case Remove:
		if s.index(c.ContactID) < 0 {
			return nil, domain.Wrapf(ErrNotAContact, "user %s is not in the contact list", c.ContactID)
		}
		return []Event{ContactRemoved{OwnerID: c.OwnerID, ContactID: c.ContactID, At: now.UTC()}}, nil
	case SetDelegate:
		i := s.index(c.ContactID)
		switch {
		case i < 0:
			return nil, domain.Wrapf(ErrNotAContact, "user %s is not in the contact list: add it as a contact first", c.ContactID)
		case s.Contacts[i].Delegate == c.On:
			return nil, nil
		}
		return []Event{DelegateSet{OwnerID: c.OwnerID, ContactID: c.ContactID, On: c.On, At: now.UTC()}}, nil
	}
	return nil, fmt.Errorf("contacts: unknown command %T", c)
}

// Evolve folds an event into the state.
func Evolve(s State, e Event) State {
	switch e := e.(type) {
	case ContactAdded:
		if s.index(e.ContactID) < 0 {
			s.Contacts = append(s.Contacts[:len(s.Contacts):len(s.Contacts)], Contact{UserID: e.ContactID, AccountID: e.ContactAccountID, AddedAt: e.At})
		}
	case DelegateSet:
		if i := s.index(e.ContactID); i >= 0 {
			s.Contacts = append([]Contact(nil), s.Contacts...)
			s.Contacts[i].Delegate = e.On
		}
	case ContactRemoved:
		if i := s.index(e.ContactID); i >= 0 {
			out := make([]Contact, 0, len(s.Contacts)-1)
			s.Contacts = append(append(out, s.Contacts[:i]...), s.Contacts[i+1:]...)
		}
	}
	return s
}
