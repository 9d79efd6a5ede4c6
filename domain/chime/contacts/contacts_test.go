package contacts_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/contacts"
)

// given folds events into a state; when decides a command on it.
func given(evs ...contacts.Event) contacts.State {
	s := contacts.Initial()
	for _, e := range evs {
		s = contacts.Evolve(s, e)
	}
	return s
}

func kind(err error) domain.Kind {
	var de *domain.Error
	if errors.As(err, &de) {
		return de.Kind
	}
	return 0
}

func TestAddRemoveAndTheGuidesLimit(t *testing.T) {
	now := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	var evs []contacts.Event
	for i := 0; i < contacts.MaxContacts; i++ {
		evs = append(evs, contacts.ContactAdded{OwnerID: "me", ContactID: fmt.Sprint("u", i), ContactAccountID: "a", At: now})
	}
	full := given(evs...)
	if len(full.Contacts) != 100 || full.Contacts[0].UserID != "u0" || full.Contacts[99].UserID != "u99" {
		t.Fatalf("list in the order added: %d", len(full.Contacts))
	}
	if _, err := contacts.Decide(full, contacts.Add{OwnerID: "me", ContactID: "u100", ContactAccountID: "a"}, now); kind(err) != domain.KindLimitExceeded {
		t.Fatalf("101st contact: %v", err)
	}
	if got, err := contacts.Decide(full, contacts.Add{OwnerID: "me", ContactID: "u5"}, now); err != nil || len(got) != 0 {
		t.Fatalf("adding a listed contact again must change nothing: %v %v", got, err)
	}
	got, err := contacts.Decide(full, contacts.Remove{OwnerID: "me", ContactID: "u5"}, now)
	if err != nil || len(got) != 1 {
		t.Fatalf("remove: %v %v", got, err)
	}
	after := contacts.Evolve(full, got[0])
	if len(after.Contacts) != 99 || len(full.Contacts) != 100 {
		t.Fatalf("remove: %d left, the earlier state must be untouched (%d)", len(after.Contacts), len(full.Contacts))
	}
	if _, err := contacts.Decide(after, contacts.Add{OwnerID: "me", ContactID: "u100", ContactAccountID: "a"}, now); err != nil {
		t.Fatalf("a freed place can be used: %v", err)
	}
	if _, err := contacts.Decide(after, contacts.Remove{OwnerID: "me", ContactID: "u5"}, now); kind(err) != domain.KindNotFound {
		t.Fatalf("removing an absent contact: %v", err)
	}
	if _, err := contacts.Decide(given(), contacts.Add{OwnerID: "me", ContactID: "me"}, now); kind(err) != domain.KindInvalid {
		t.Fatalf("self: %v", err)
	}
}

// TestDelegates: a listed contact becomes a delegate and stops being one; a user not in the list
// cannot be made one (NotFound); setting what is set changes nothing; removing the contact ends the
// delegation, and adding it back does not restore it.
func TestDelegates(t *testing.T) {
	now := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	bob := contacts.ContactAdded{OwnerID: "me", ContactID: "bob", ContactAccountID: "a", At: now}
	if _, err := contacts.Decide(given(), contacts.SetDelegate{OwnerID: "me", ContactID: "bob", On: true}, now); kind(err) != domain.KindNotFound {
		t.Fatalf("a delegate outside the contacts: %v", err)
	}
	evs, err := contacts.Decide(given(bob), contacts.SetDelegate{OwnerID: "me", ContactID: "bob", On: true}, now)
	if err != nil || len(evs) != 1 || evs[0] != (contacts.DelegateSet{OwnerID: "me", ContactID: "bob", On: true, At: now}) {
		t.Fatalf("made a delegate: %v %v", evs, err)
	}
	s := given(bob, evs[0])
	if !s.IsDelegate("bob") || s.IsDelegate("carol") {
		t.Fatalf("delegates: %+v", s)
	}
	if again, err := contacts.Decide(s, contacts.SetDelegate{OwnerID: "me", ContactID: "bob", On: true}, now); err != nil || len(again) != 0 {
		t.Fatalf("set again: %v %v", again, err)
	}
	off, _ := contacts.Decide(s, contacts.SetDelegate{OwnerID: "me", ContactID: "bob"}, now)
	if given(bob, evs[0], off[0]).IsDelegate("bob") {
		t.Fatal("still a delegate once unset")
	}
	removed := given(bob, evs[0], contacts.ContactRemoved{OwnerID: "me", ContactID: "bob", At: now}, bob)
	if removed.IsDelegate("bob") {
		t.Fatal("removing the contact did not end the delegation")
	}
}
