package call

import "github.com/belfry/belfry/domain"

// Events is the call event table: every stored event type, listed once. Decode, the list of
// event-type names and the golden-file tests (testdata/golden) come from it.
var Events = domain.NewRegistry("call",
	domain.Register[CallPlaced, Event](TypeCallPlaced),
	domain.Register[LegConnected, Event](TypeLegConnected),
	domain.Register[LegEnded, Event](TypeLegEnded),
	domain.Register[ConferenceEnded, Event](TypeConferenceEnded),
)

// Decode turns a stored event back into an Event (Events.Decode).
func Decode(eventType string, data []byte) (Event, error) { return Events.Decode(eventType, data) }
