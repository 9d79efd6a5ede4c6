package conversation_test

import (
	"testing"
	"time"

	"github.com/belfry/belfry/domain/chime/conversation"
	"github.com/belfry/belfry/domain/internal/eventtest"
)

const (
	gAlice   = "8c3e2a71-64b0-4f5d-b1a2-97e0c5d3f468"
	gBob     = "2b9d5f13-8e6a-4c70-a4d2-61f3b0c8e957"
	gAccount = "5e1b0f7a-3c2d-4b8e-9a61-0d4f2c7e8b93"
	gMessage = "a61f0c3e-5d92-4b7a-8e14-c2d9b6f0a385"
	gKey     = gAccount + "/conversation/6d0b8f2a-4c1e-4a93-b7d5-e2f0c8a6b314/2026-03-14"
)

var gAt = time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.UTC)

var (
	gAliceM = conversation.Member{UserID: gAlice, AccountID: gAccount, Email: "alice.kim@acme.example", FullName: "Alice Kim"}
	gBobM   = conversation.Member{UserID: gBob, AccountID: "0c4d2e6f-8a1b-4c3d-9e5f-7a2b4c6d8e01", Email: "bob.nguyen@partner.example", FullName: "Bob Nguyen"}
)

// examples are one realistic event of every stored type, every field set (testdata/golden).
var examples = []eventtest.Example[conversation.Event]{
	eventtest.Ex[conversation.Event](conversation.Created{Kind: conversation.KindGroup, Name: "launch-crew", CreatedBy: gAlice,
		Members: []conversation.Member{gAliceM, gBobM}, At: gAt}),
	eventtest.Ex[conversation.Event](conversation.MemberAdded{Member: gBobM, By: gAlice, At: gAt}),
	eventtest.Ex[conversation.Event](conversation.MemberLeft{UserID: gBob, At: gAt}),
	eventtest.Ex[conversation.Event](conversation.MessagePosted{MessageID: gMessage, SenderID: gAlice, SenderAccountID: gAccount,
		SenderName: "Alice Kim", KeyID: gKey, Sealed: []byte("\x5c\x8e\x21\xf0\x93\x4a\xd7\x16\xbe\x02\x6f\xc4nonce+message+text+tag..."), At: gAt}),
	eventtest.Variant[conversation.Event]("attachment", conversation.MessagePosted{MessageID: gMessage, SenderID: gAlice, SenderAccountID: gAccount,
		SenderName: "Alice Kim", KeyID: gKey, Sealed: []byte("\x5c\x8e\x21\xf0\x93\x4a\xd7\x16\xbe\x02\x6f\xc4nonce+file+name+tag..."),
		Attachment: &conversation.Attachment{AttachmentID: "3f8a2c1d-7b6e-4d90-a5c3-e1f2b4d6c809", KeyID: "msg/" + gKey + "/c2d4e6f8-1a3b-4c5d-8e7f-9a0b1c2d3e4f",
			Blob: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Size: 482133, ContentType: "application/pdf",
			SealedMeta: []byte("\x07\x41\x9e\x2b+sealed+name+and+sha256+tag...")}, At: gAt}),
	eventtest.Ex[conversation.Event](conversation.MessageEdited{MessageID: gMessage, KeyID: gKey,
		Sealed: []byte("\x91\x07\x3c\xaa\x5e\x10\x42\xd8\x6b\x33\x0f\x7enonce+edited+text+tag..."), At: gAt}),
	eventtest.Ex[conversation.Event](conversation.MessageRedacted{MessageID: gMessage,
		By: "arn:aws:iam::111122223333:user/compliance", At: gAt}),
}

// TestEventTable checks the conversation's event table against the package and its golden files (run
// with BELFRY_UPDATE_GOLDEN=1 to write the file of a new event type).
func TestEventTable(t *testing.T) {
	t.Parallel()
	eventtest.Check(t, conversation.Events, examples...)
}
