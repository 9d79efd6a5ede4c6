package contacts

import "github.com/belfry/belfry/domain"

// Events is the contact-list event table: every stored event type, listed once. Decode, the list of
// event-type names and the golden-file tests (testdata/golden) come from it.
var Events = domain.NewRegistry("contacts",
	domain.Register[ContactAdded, Event](TypeContactAdded),
	domain.Register[ContactRemoved, Event](TypeContactRemoved),
	domain.Register[DelegateSet, Event](TypeDelegateSet),
)

// Decode turns a stored event back into an Event (Events.Decode).
func Decode(eventType string, data []byte) (Event, error) { return Events.Decode(eventType, data) }
