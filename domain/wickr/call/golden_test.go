package call_test

import (
	"testing"
	"time"

	"github.com/belfry/belfry/domain/internal/eventtest"
	"github.com/belfry/belfry/domain/wickr/call"
	"github.com/belfry/belfry/domain/wickr/conversation"
)

var (
	gAt    = time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.UTC)
	gAlice = conversation.Participant{NetworkID: "31415926", UserID: "1001"}
	gGuest = conversation.Participant{GuestHash: "9f2c4b1e7a3d5f60c8e2b4a6d1f3e5c7a9b0d2f4e6c8a1b3d5f7e9c0a2b4d6f8"}
	gCall  = "0b7d3e91-5a2c-4f86-9e14-c2a8d6f0b357"
	gConv  = "5c1e9a7f-3b2d-4e68-a0f4-7d3c5b9e1a26"
	gPart  = "e3a1c5f7-2b4d-4960-8f1e-3c5a7b9d0e24"
)

// examples are one realistic event of every stored type, every field set (testdata/golden).
var examples = []eventtest.Example[call.Event]{
	eventtest.Ex[call.Event](call.Started{CallID: gCall, ConversationID: gConv, ConversationKind: conversation.KindRoom, NetworkID: gAlice.NetworkID, By: gAlice, At: gAt}),
	{Variant: "guest", Event: call.Started{CallID: gCall, ConversationID: gConv, ConversationKind: conversation.KindDirect, By: gGuest, At: gAt}},
	{Variant: "broadcast", Event: call.Started{CallID: gCall, ConversationID: gConv, ConversationKind: conversation.KindGroup, NetworkID: gAlice.NetworkID, By: gAlice, Broadcast: true, At: gAt}},
	eventtest.Ex[call.Event](call.ParticipantJoined{ParticipantID: gPart, Member: gAlice, Grant: call.Grant{Audio: true, Video: true, TCPOnly: true}, At: gAt}),
	{Variant: "guest", Event: call.ParticipantJoined{ParticipantID: gPart, Member: gGuest, Grant: call.Grant{Audio: true}, At: gAt}},
	eventtest.Ex[call.Event](call.ParticipantLeft{ParticipantID: gPart, Reason: call.LeftServiceRestart, At: gAt}),
	eventtest.Ex[call.Event](call.MediaStarted{ParticipantID: gPart, Kind: call.MediaVideo, At: gAt}),
	eventtest.Ex[call.Event](call.MediaStopped{ParticipantID: gPart, Kind: call.MediaContent, At: gAt}),
	eventtest.Ex[call.Event](call.Ended{Reason: call.EndAllLeft, At: gAt}),
}

// TestEventTable checks the event table against the package and its golden files (run with
// BELFRY_UPDATE_GOLDEN=1 to write the file of a new event type).
func TestEventTable(t *testing.T) {
	t.Parallel()
	eventtest.Check(t, call.Events, examples...)
}
