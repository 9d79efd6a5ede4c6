package room

import "github.com/belfry/belfry/domain"

// Events is the room event table: every stored event type, listed once. Decode, the
// list of event-type names and the golden-file tests (testdata/golden) come from it; a type with an
// EventType method that is missing here fails the package's tests.
var Events = domain.NewRegistry("room",
	domain.Register[Created, Event](TypeCreated),
	domain.Register[Renamed, Event](TypeRenamed),
	domain.Register[Deleted, Event](TypeDeleted),
	domain.Register[MemberAdded, Event](TypeMemberAdded),
	domain.Register[MemberRoleChanged, Event](TypeMemberUpdated),
	domain.Register[MemberRemoved, Event](TypeMemberRemoved),
	domain.Register[MessagePosted, Event](TypeMessagePosted),
	domain.Register[MessageRedacted, Event](TypeRedacted),
	domain.Register[WebhookCreated, Event](TypeWebhookAdded),
	domain.Register[WebhookRegenerated, Event](TypeWebhookNewURL),
	domain.Register[WebhookDeleted, Event](TypeWebhookGone),
	domain.Register[BotReplyURLIssued, Event](TypeBotReplyURL),
)

// Decode turns a stored event back into an Event (Events.Decode).
func Decode(eventType string, data []byte) (Event, error) { return Events.Decode(eventType, data) }
