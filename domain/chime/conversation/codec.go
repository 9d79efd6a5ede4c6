package conversation

import "github.com/belfry/belfry/domain"

// Events is the conversation event table: every stored event type, listed once. Decode, the list of
// event-type names and the golden-file tests (testdata/golden) come from it.
var Events = domain.NewRegistry("conversation",
	domain.Register[Created, Event](TypeCreated),
	domain.Register[MemberAdded, Event](TypeMemberAdded),
	domain.Register[MemberLeft, Event](TypeMemberLeft),
	domain.Register[MessagePosted, Event](TypeMessagePosted),
	domain.Register[MessageEdited, Event](TypeMessageEdited),
	domain.Register[MessageRedacted, Event](TypeRedacted),
)

// Decode turns a stored event back into an Event (Events.Decode).
func Decode(eventType string, data []byte) (Event, error) { return Events.Decode(eventType, data) }
