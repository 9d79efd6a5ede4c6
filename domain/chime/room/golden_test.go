package room_test

import (
	"testing"
	"time"

	"github.com/belfry/belfry/domain/chime/room"
	"github.com/belfry/belfry/domain/internal/eventtest"
)

const (
	gAdmin   = "8c3e2a71-64b0-4f5d-b1a2-97e0c5d3f468"
	gMember  = "2b9d5f13-8e6a-4c70-a4d2-61f3b0c8e957"
	gMessage = "a61f0c3e-5d92-4b7a-8e14-c2d9b6f0a385"
	gWebhook = "4e8a2c6f-0b13-4d95-97c1-f5a3e7b9d028"
	gBot     = "b7d41c02-9e35-4a6f-8c10-2f5b3e7a9d64"
)

var gAt = time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.UTC)

// examples are one realistic event of every stored type, every field set in one of its files, plus a
// persistent bot reply URL ("persistent", no expiry) (testdata/golden).
var examples = []eventtest.Example[room.Event]{
	eventtest.Ex[room.Event](room.Created{AccountID: "5e1b0f7a-3c2d-4b8e-9a61-0d4f2c7e8b93", Name: "release-train", CreatedBy: gAdmin,
		ClientRequestToken: "1f7c3a9e-6b2d-4e58-a0f4-8d3c5b7e9a16", At: gAt}),
	eventtest.Ex[room.Event](room.Renamed{Name: "release-train-2026", At: gAt}),
	eventtest.Ex[room.Event](room.Deleted{By: gAdmin, At: gAt}),
	eventtest.Ex[room.Event](room.MemberAdded{MemberID: gMember, MemberType: room.MemberUser, Email: "bob.nguyen@acme.example",
		FullName: "Bob Nguyen", Role: room.RoleMember, InvitedBy: gAdmin, At: gAt}),
	eventtest.Ex[room.Event](room.MemberRoleChanged{MemberID: gMember, Role: room.RoleAdministrator, At: gAt}),
	eventtest.Ex[room.Event](room.MemberRemoved{MemberID: gMember, MemberType: room.MemberUser, By: gAdmin, At: gAt}),
	eventtest.Ex[room.Event](room.MessagePosted{MessageID: gMessage, SenderID: gMember, SenderType: room.MemberUser, SenderName: "Bob Nguyen",
		SenderEmail: "bob.nguyen@acme.example", KeyID: "5e1b0f7a-3c2d-4b8e-9a61-0d4f2c7e8b93/room/6d0b8f2a-4c1e-4a93-b7d5-e2f0c8a6b314/2026-03-14",
		Sealed:        []byte("\x5c\x8e\x21\xf0\x93\x4a\xd7\x16\xbe\x02\x6f\xc4nonce+message+text+tag..."),
		MentionedBots: []string{"standup-bot-chimebot@acme.example"}, At: gAt}),
	eventtest.Variant[room.Event]("attachment", room.MessagePosted{MessageID: gMessage, SenderID: gMember, SenderType: room.MemberUser,
		SenderName: "Bob Nguyen", SenderEmail: "bob.nguyen@acme.example",
		KeyID:  "msg/5e1b0f7a-3c2d-4b8e-9a61-0d4f2c7e8b93/room/6d0b8f2a-4c1e-4a93-b7d5-e2f0c8a6b314/2026-03-14/0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d",
		Sealed: []byte("\x5c\x8e\x21\xf0\x93\x4a\xd7\x16\xbe\x02\x6f\xc4nonce+file+name+tag..."),
		Attachment: &room.Attachment{AttachmentID: "3f8a2c1d-7b6e-4d90-a5c3-e1f2b4d6c809",
			KeyID: "msg/5e1b0f7a-3c2d-4b8e-9a61-0d4f2c7e8b93/room/6d0b8f2a-4c1e-4a93-b7d5-e2f0c8a6b314/2026-03-14/c2d4e6f8-1a3b-4c5d-8e7f-9a0b1c2d3e4f",
			Blob:  "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Size: 482133, ContentType: "application/pdf",
			SealedMeta: []byte("\x07\x41\x9e\x2b+sealed+name+and+sha256+tag...")}, At: gAt}),
	eventtest.Ex[room.Event](room.MessageRedacted{MessageID: gMessage, By: gAdmin, At: gAt}),
	eventtest.Ex[room.Event](room.WebhookCreated{WebhookID: gWebhook, Name: "ci-notifications",
		TokenHash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", By: gAdmin, At: gAt}),
	eventtest.Ex[room.Event](room.WebhookRegenerated{WebhookID: gWebhook,
		TokenHash: "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752", At: gAt}),
	eventtest.Ex[room.Event](room.WebhookDeleted{WebhookID: gWebhook, At: gAt}),
	eventtest.Ex[room.Event](room.BotReplyURLIssued{ReplyID: "e5c7a9b1-3d4f-4062-8a1e-b9d7f3c5e024", BotID: gBot,
		TokenHash: "fd61a03af4f77d870fc21e05e7e80678095c92d808cfb3b5c279ee04c74aca13", ExpiresAt: gAt.Add(room.ShortLivedURL), At: gAt}),
	eventtest.Variant[room.Event]("persistent", room.BotReplyURLIssued{ReplyID: "07b3d5f9-1a2c-4e86-b0d4-f6a8c2e4b193", BotID: gBot,
		TokenHash: "a591a6d40bf420404a011733cfb7b190d62c65bf0bcda32b57b277d9ad9f146e", At: gAt}),
}

// TestEventTable checks the room's event table against the package and its golden files (run with
// BELFRY_UPDATE_GOLDEN=1 to write the file of a new event type).
func TestEventTable(t *testing.T) {
	t.Parallel()
	eventtest.Check(t, room.Events, examples...)
}
