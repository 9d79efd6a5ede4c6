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
