package meeting

import "github.com/belfry/belfry/domain"

// Events is the meeting event table: every stored event type, listed once. Decode, the
// list of event-type names and the golden-file tests (testdata/golden) come from it; a type with an
// EventType method that is missing here fails the package's tests.
var Events = domain.NewRegistry("meeting",
	domain.Register[Scheduled, Event](TypeScheduled),
	domain.Register[Started, Event](TypeStarted),
	domain.Register[Ended, Event](TypeEnded),
	domain.Register[Cancelled, Event](TypeCancelled),
	domain.Register[Disabled, Event](TypeDisabled),
	domain.Register[AttendeeJoined, Event](TypeAttendeeJoined),
	domain.Register[AttendeeLeft, Event](TypeAttendeeLeft),
	domain.Register[MediaStarted, Event](TypeMediaStarted),
	domain.Register[MediaStopped, Event](TypeMediaStopped),
	domain.Register[AttendeeMuted, Event](TypeAttendeeMuted),
	domain.Register[AllMuted, Event](TypeAllMuted),
	domain.Register[AttendeeUnmuted, Event](TypeAttendeeUnmuted),
	domain.Register[Locked, Event](TypeLocked),
	domain.Register[Unlocked, Event](TypeUnlocked),
	domain.Register[ChatPosted, Event](TypeChatPosted),
	domain.Register[RecordingStarted, Event](TypeRecordingStarted),
	domain.Register[RecordingStopped, Event](TypeRecordingStopped),
)

// Decode turns a stored event back into an Event (Events.Decode).
func Decode(eventType string, data []byte) (Event, error) { return Events.Decode(eventType, data) }
