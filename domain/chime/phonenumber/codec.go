package phonenumber

import "github.com/belfry/belfry/domain"

// Events is the phone number and phone-number order event table (numbers and orders share one table): every stored event type, listed once. Decode, the
// list of event-type names and the golden-file tests (testdata/golden) come from it; a type with an
// EventType method that is missing here fails the package's tests.
var Events = domain.NewRegistry("phonenumber",
	domain.Register[Acquired, Event](TypeAcquired),
	domain.Register[Updated, Event](TypeUpdated),
	domain.Register[Associated, Event](TypeAssociated),
	domain.Register[Disassociated, Event](TypeDisassociated),
	domain.Register[Deleted, Event](TypeDeleted),
	domain.Register[Restored, Event](TypeRestored),
	domain.Register[PortOutPINSet, Event](TypePortOutPIN),
	domain.Register[PortedOut, Event](TypePortedOut),
	domain.Register[OrderCreated, Event](TypeOrderCreated),
	domain.Register[OrderNumberProcessed, Event](TypeOrderNumberDone),
	domain.Register[OrderCompleted, Event](TypeOrderCompleted),
)

// Decode turns a stored event back into an Event (Events.Decode).
func Decode(eventType string, data []byte) (Event, error) { return Events.Decode(eventType, data) }
