package conversation_test

import (
	"testing"
	"time"

	"github.com/belfry/belfry/domain/internal/eventtest"
	"github.com/belfry/belfry/domain/wickr/conversation"
)

var gAt = time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.UTC)

var (
	gAlice = conversation.Participant{NetworkID: "31415926", UserID: "1001"}
	gBob   = conversation.Participant{NetworkID: "27182818", UserID: "2002"}
	gGuest = conversation.Participant{GuestHash: "9f2c4b1e7a3d5f60c8e2b4a6d1f3e5c7a9b0d2f4e6c8a1b3d5f7e9c0a2b4d6f8"}
	gConv  = "5c1e9a7f-3b2d-4e68-a0f4-7d3c5b9e1a26"
	gMsg   = "b8e2d4f6-1a3c-4e5b-9d7f-0c2e4a6b8d1f"
	gKey   = "31415926/" + conversation.KeyScope(gConv, gMsg) + "/2026-03-14"
)

// examples are one realistic event of every stored type, every field set (testdata/golden).
var examples = []eventtest.Example[conversation.Event]{
	eventtest.Ex[conversation.Event](conversation.Created{ConversationID: gConv, Kind: conversation.KindRoom, Title: "Incident 42",
		CreatedBy: gAlice, Members: []conversation.Participant{gAlice, gBob, gGuest}, At: gAt}),
	{Variant: "guest", Event: conversation.Created{ConversationID: conversation.DirectID(gGuest, gAlice), Kind: conversation.KindDirect,
		CreatedBy: gGuest, Members: []conversation.Participant{gGuest, gAlice}, At: gAt}},
	eventtest.Ex[conversation.Event](conversation.MembersAdded{Members: []conversation.Participant{gBob}, By: gAlice, At: gAt}),
	{Variant: "guest", Event: conversation.MembersAdded{Members: []conversation.Participant{gGuest}, By: gGuest, At: gAt}},
	eventtest.Ex[conversation.Event](conversation.MemberLeft{Member: gBob, At: gAt}),
	{Variant: "guest", Event: conversation.MemberLeft{Member: gGuest, At: gAt}},
	{Variant: "password_reset", Event: conversation.MemberLeft{Member: gAlice, Reason: conversation.LeftPasswordReset, At: gAt}},
	{Variant: "removed", Event: conversation.MemberLeft{Member: gBob, Reason: conversation.LeftRemoved, By: conversation.Ref(gAlice), At: gAt}},
	eventtest.Ex[conversation.Event](conversation.ModeratorAdded{Member: *conversation.Ref(gBob), By: conversation.Ref(gAlice), At: gAt}),
	{Variant: "last_left", Event: conversation.ModeratorAdded{Member: *conversation.Ref(gBob), Reason: conversation.PromotedLastLeft, At: gAt}},
	eventtest.Ex[conversation.Event](conversation.MessagePosted{MessageID: gMsg, Seq: 7, Sender: gAlice, KeyID: gKey,
		Sealed: []byte{0x5a, 0x91, 0x0c, 0xe3, 0x47}, TTL: 86400, BOR: 60, Attachment: &conversation.Attachment{ContentType: "application/pdf", Size: 734003}, At: gAt}),
	{Variant: "file", Event: conversation.MessagePosted{MessageID: gMsg, Seq: 9, Sender: gBob, KeyID: gKey, Sealed: []byte{0x7f, 0x03},
		Attachment: &conversation.Attachment{AttachmentID: "0e4c7a2b-9d1f-4b3e-8a6c-5f2d0b7e9c13", KeyID: "msg/27182818/" + conversation.KeyScope(gConv, gMsg) + "/2026-03-14/6d0f",
			Blob: "3f9a0c2e4b6d8f1a3c5e7b9d0f2a4c6e8b1d3f5a7c9e0b2d4f6a8c1e3b5d7f90", ContentType: "image/png", Size: 48213}, At: gAt}},
	{Variant: "preview", Event: conversation.MessagePosted{MessageID: gMsg, Seq: 10, Sender: gBob, KeyID: gKey, Sealed: []byte{0x2b, 0x6e},
		Attachment: &conversation.Attachment{AttachmentID: "5b1e9d3c-7a2f-4c8e-9b0d-1f3a5c7e9b2d", KeyID: "msg/27182818/" + conversation.KeyScope(gConv, gMsg) + "/2026-03-14/7e1a",
			Blob: "9c2e4a6b8d0f1a3c5e7b9d1f3a5c7e9b0d2f4a6c8e1b3d5f7a9c0e2b4d6f8a13", ContentType: "image/jpeg", Size: 91877, Preview: true}, At: gAt}},
	{Variant: "guest", Event: conversation.MessagePosted{MessageID: gMsg, Seq: 8, Sender: gGuest, KeyID: gKey, Sealed: []byte{0x0c, 0x7e}, At: gAt}},
	{Variant: "forwarded", Event: conversation.MessagePosted{MessageID: gMsg, Seq: 11, Sender: gAlice, KeyID: gKey, Sealed: []byte{0x91, 0x3d, 0xa8},
		TTL: 3600, ForwardedFrom: &conversation.MessageRef{ConversationID: "8d3f1b6a-2c4e-4a7d-9e0b-5f1c3a7d9b24", MessageID: "e1c7a3f5-6b2d-4f8e-a0c4-3d9b7f1e5a62"}, At: gAt}},
	eventtest.Ex[conversation.Event](conversation.MessageRead{MessageID: gMsg, Reader: gBob, Receipt: true, StartsBurn: true, At: gAt}),
	{Variant: "guest", Event: conversation.MessageRead{MessageID: gMsg, Reader: gGuest, StartsBurn: true, At: gAt}},
	eventtest.Ex[conversation.Event](conversation.MessageDestroyed{MessageID: gMsg, KeyID: gKey, Reason: conversation.ReasonBurnt, At: gAt}),
}

// TestEventTable checks the event table against the package and its golden files (run with
// BELFRY_UPDATE_GOLDEN=1 to write the file of a new event type).
func TestEventTable(t *testing.T) {
	t.Parallel()
	eventtest.Check(t, conversation.Events, examples...)
}
