package usage

import "github.com/belfry/belfry/domain"

// Events is the usage event table: every stored event type, listed once. Decode, the list of
// event-type names and the golden-file tests (testdata/golden) come from it.
var Events = domain.NewRegistry("usage",
	domain.Register[SignedIn, Event](TypeSignedIn),
	domain.Register[ReportGenerated, Event](TypeReportGenerated),
)

// Decode turns a stored event back into an Event (Events.Decode).
func Decode(eventType string, data []byte) (Event, error) { return Events.Decode(eventType, data) }
