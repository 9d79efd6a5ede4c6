package meeting_test

import (
	"testing"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/meeting"
	"github.com/belfry/belfry/domain/internal/eventtest"
)

var (
	gAt        = time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.UTC)
	gAccount   = "5e1b0f7a-3c2d-4b8e-9a61-0d4f2c7e8b93"
	gOrganizer = "8c3e2a71-64b0-4f5d-b1a2-97e0c5d3f468"
	gAttendee  = "d41f6c02-9b7e-4a35-8e1d-2c60f7a9b584"
	gHost      = "f2a95c1e-07d3-4b68-a4e0-5b19c83d7e26"
	gPIN       = domain.Sealed{KeyID: domain.SubjectKeyID(gAccount, account.UserKeySubject(gOrganizer)),
		Data: []byte("\x9a\x1c\x07\xe2\x5b\x44\x0d\xf1\x83\x6e\x2a\xc9nonce+pin+tag.........")}
)

// examples are one realistic event of every stored type, every field set, plus Scheduled as stored
// before PINs were sealed ("legacy") (testdata/golden).
var examples = []eventtest.Example[meeting.Event]{
	eventtest.Ex[meeting.Event](meeting.Scheduled{AccountID: gAccount, OrganizerID: gOrganizer, OrganizerEmail: "alice.martin@acme.example",
		Title: "Quarterly planning", StartsAt: gAt.Add(26 * time.Hour), PIN: gPIN, At: gAt}),
	eventtest.Variant[meeting.Event]("legacy", meeting.Scheduled{AccountID: gAccount, OrganizerID: gOrganizer, OrganizerEmail: "alice.martin@acme.example",
		Title: "Quarterly planning", StartsAt: gAt.Add(26 * time.Hour), LegacyPIN: "4815162342", At: gAt}),
	eventtest.Variant[meeting.Event]("moderated", meeting.Scheduled{AccountID: gAccount, OrganizerID: gOrganizer, OrganizerEmail: "alice.martin@acme.example",
		Title: "Board meeting", StartsAt: gAt.Add(26 * time.Hour), PIN: gPIN, Moderated: true,
		Passcode: domain.Sealed{KeyID: gPIN.KeyID, Data: []byte("\x51\x0e\xa4\x7d\x12\x9c\x33\xb8nonce+passcode+tag....")}, At: gAt}),
	eventtest.Ex[meeting.Event](meeting.Started{By: gOrganizer, At: gAt}),
	eventtest.Ex[meeting.Event](meeting.ChatPosted{MessageID: "7f3c2b1a-9e8d-4c7b-a6f5-e4d3c2b1a098", UserID: gOrganizer,
		Text: domain.Sealed{KeyID: domain.SubjectKeyID(gAccount, meeting.ChatSubject("0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e")),
			Data: []byte("\x8a\x11\x3c\xd0nonce+chat+text+tag....")}, At: gAt.Add(time.Minute)}),
	eventtest.Ex[meeting.Event](meeting.Ended{At: gAt}),
	eventtest.Variant[meeting.Event]("reason", meeting.Ended{Reason: meeting.EndReasonServiceRestart, At: gAt}),
	eventtest.Ex[meeting.Event](meeting.AttendeeJoined{AttendeeID: gAttendee, UserID: gOrganizer, At: gAt}),
	eventtest.Ex[meeting.Event](meeting.AttendeeLeft{AttendeeID: gAttendee, Reason: meeting.LeftServiceRestart, At: gAt}),
	eventtest.Ex[meeting.Event](meeting.MediaStarted{AttendeeID: gAttendee, Kind: meeting.MediaVideo, At: gAt}),
	eventtest.Ex[meeting.Event](meeting.MediaStopped{AttendeeID: gAttendee, Kind: meeting.MediaAudio, At: gAt}),
	eventtest.Variant[meeting.Event]("moderator", meeting.AttendeeJoined{AttendeeID: gHost, UserID: gOrganizer, Moderator: true, At: gAt}),
	eventtest.Variant[meeting.Event]("removed", meeting.AttendeeLeft{AttendeeID: gAttendee, Reason: meeting.LeftRemoved, By: gHost, At: gAt}),
	eventtest.Variant[meeting.Event]("moderator", meeting.Ended{Reason: meeting.EndReasonEndedByHost, By: gHost, At: gAt}),
	eventtest.Ex[meeting.Event](meeting.AttendeeMuted{AttendeeID: gAttendee, By: gHost, At: gAt}),
	eventtest.Ex[meeting.Event](meeting.AllMuted{AttendeeIDs: []string{gAttendee, "0b7d3e91-5a2c-4f86-b3d0-e61c9a7f2458"}, By: gHost, At: gAt}),
	eventtest.Ex[meeting.Event](meeting.AttendeeUnmuted{AttendeeID: gAttendee, At: gAt}),
	eventtest.Ex[meeting.Event](meeting.Locked{By: gHost, At: gAt}),
	eventtest.Ex[meeting.Event](meeting.Unlocked{By: gHost, At: gAt}),
	eventtest.Ex[meeting.Event](meeting.RecordingStarted{RecordingID: "3e9a7c51-2b8d-4f06-a1c4-7d5e0b9f6a28", By: gHost, At: gAt}),
	eventtest.Ex[meeting.Event](meeting.RecordingStopped{RecordingID: "3e9a7c51-2b8d-4f06-a1c4-7d5e0b9f6a28", By: gHost,
		Reason: meeting.RecordingStoppedByModerator, At: gAt}),
	eventtest.Variant[meeting.Event]("ended", meeting.RecordingStopped{RecordingID: "3e9a7c51-2b8d-4f06-a1c4-7d5e0b9f6a28",
		Reason: meeting.RecordingStoppedMeetingEnded, At: gAt}),
	eventtest.Ex[meeting.Event](meeting.Cancelled{At: gAt}),
	eventtest.Ex[meeting.Event](meeting.Disabled{Reason: meeting.ReasonDomainRemoved, At: gAt}),
}

// TestEventTable checks the meeting's event table against the package and its golden files (run with
// BELFRY_UPDATE_GOLDEN=1 to write the file of a new event type).
func TestEventTable(t *testing.T) {
	t.Parallel()
	eventtest.Check(t, meeting.Events, examples...)
}
