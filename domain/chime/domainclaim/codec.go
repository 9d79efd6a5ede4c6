package domainclaim

import "github.com/belfry/belfry/domain"

// Events is the claimed domain event table: every stored event type, listed once. Decode, the
// list of event-type names and the golden-file tests (testdata/golden) come from it; a type with an
// EventType method that is missing here fails the package's tests.
var Events = domain.NewRegistry("domainclaim",
	domain.Register[Claimed, Event](TypeClaimed),
	domain.Register[Verified, Event](TypeVerified),
	domain.Register[Removed, Event](TypeRemoved),
)

// Decode turns a stored event back into an Event (Events.Decode).
func Decode(eventType string, data []byte) (Event, error) { return Events.Decode(eventType, data) }
