package room_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry/domain/chime/room"
)

var now = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

var (
	created     = room.Created{AccountID: "a1", Name: "Ops", CreatedBy: "admin", ClientRequestToken: "tok", At: now}
	alice       = room.Candidate{ID: "u1", Type: room.MemberUser, Email: "alice@example.com", FullName: "Alice"}
	bot         = room.Candidate{ID: "b1", Type: room.MemberBot, Email: "helper-chimebot@example.com", FullName: "helper", HasEvents: true}
	adminJoined = room.MemberAdded{MemberID: "u1", MemberType: room.MemberUser, Email: "alice@example.com", FullName: "Alice", Role: room.RoleAdministrator}
	botJoined   = room.MemberAdded{MemberID: "b1", MemberType: room.MemberBot, Email: "helper-chimebot@example.com", FullName: "helper", Role: room.RoleMember}
	hook        = room.WebhookCreated{WebhookID: "w1", Name: "CI", TokenHash: "h1", By: "u1", At: now}
	posted      = room.MessagePosted{MessageID: "m1", SenderID: "u1", SenderType: room.MemberUser, SenderName: "Alice", SenderEmail: "alice@example.com", KeyID: "k", Sealed: sealed("hello"), At: now}
	joined      = room.MemberAdded{MemberID: "u1", MemberType: room.MemberUser, Email: "alice@example.com", FullName: "Alice", Role: room.RoleMember, InvitedBy: "admin", At: now}
)

func given(events ...room.Event) room.State {
	s := room.Initial()
	for _, e := range events {
		s = room.Evolve(s, e)
	}
	return s
}

func TestDecide(t *testing.T) {
	t.Parallel()
	crowded := given(created, joined)
	for i := range room.MaxCalloutMembers {
		crowded = room.Evolve(crowded, room.MemberAdded{MemberID: fmt.Sprint("c", i), MemberType: room.MemberUser})
	}
	tenHooks := given(created, adminJoined)
	for i := range room.MaxWebhooks {
		tenHooks = room.Evolve(tenHooks, room.WebhookCreated{WebhookID: fmt.Sprint("w", i), Name: "hook"})
	}
	full := given(created)
	for i := range room.MaxMembers {
		full = room.Evolve(full, room.MemberAdded{MemberID: fmt.Sprint("m", i), MemberType: room.MemberUser})
	}
	cases := []struct {
		name    string
		state   room.State
		when    room.Command
		want    []room.Event
		wantErr error
	}{
		{"create", given(), room.Create{AccountID: "a1", Name: " Ops ", CreatedBy: "admin", ClientRequestToken: "tok"}, []room.Event{created}, nil},
		{"a name is required", given(), room.Create{AccountID: "a1", Name: " "}, nil, room.ErrInvalid},
		{"a replayed create is harmless", given(created), room.Create{AccountID: "a1", Name: "Ops", ClientRequestToken: "tok"}, nil, nil},
		{"another account's room is not found", given(created), room.Rename{AccountID: "a2", Name: "x"}, nil, room.ErrNotFound},
		{"rename", given(created), room.Rename{AccountID: "a1", Name: "Ops 2"}, []room.Event{room.Renamed{Name: "Ops 2", At: now}}, nil},
		{"a deleted room takes nothing", given(created, room.Deleted{}), room.AddMember{AccountID: "a1", Member: alice}, nil, room.ErrNotFound},
		{"add a user as Member by default", given(created), room.AddMember{AccountID: "a1", Member: alice, InvitedBy: "admin"}, []room.Event{joined}, nil},
		{"a bad role", given(created), room.AddMember{AccountID: "a1", Member: alice, Role: "Owner"}, nil, room.ErrInvalid},
		{"twice is a conflict", given(created, joined), room.AddMember{AccountID: "a1", Member: alice}, nil, room.ErrAlreadyMember},
		{"a stranger", given(created), room.AddMember{AccountID: "a1", Member: room.Candidate{ID: "x"}}, nil, room.ErrMemberNotFound},
		{"a suspended user", given(created), room.AddMember{AccountID: "a1", Member: room.Candidate{ID: "u2", Type: room.MemberUser, Suspended: true}}, nil, room.ErrCannotJoin},
		{"a disabled bot cannot be added", given(created), room.AddMember{AccountID: "a1", Member: room.Candidate{ID: "b1", Type: room.MemberBot, Disabled: true, HasEvents: true}}, nil, room.ErrCannotJoin},
		{"a bot without events configuration cannot be added", given(created), room.AddMember{AccountID: "a1", Member: room.Candidate{ID: "b1", Type: room.MemberBot}}, nil, room.ErrCannotJoin},
		{"a configured bot joins", given(created), room.AddMember{AccountID: "a1", Member: bot, InvitedBy: "admin"},
			[]room.Event{room.MemberAdded{MemberID: "b1", MemberType: room.MemberBot, Email: bot.Email, FullName: "helper", Role: room.RoleMember, InvitedBy: "admin", At: now}}, nil},
		{"10,000 members at most", full, room.AddMember{AccountID: "a1", Member: alice}, nil, room.ErrFull},
		{"change a role", given(created, joined), room.ChangeRole{AccountID: "a1", MemberID: "u1", Role: room.RoleAdministrator},
			[]room.Event{room.MemberRoleChanged{MemberID: "u1", Role: room.RoleAdministrator, At: now}}, nil},
		{"the same role changes nothing", given(created, joined), room.ChangeRole{AccountID: "a1", MemberID: "u1", Role: room.RoleMember}, nil, nil},
		{"change a non-member", given(created), room.ChangeRole{AccountID: "a1", MemberID: "u1", Role: room.RoleMember}, nil, room.ErrMemberNotFound},
		{"no role keeps an administrator's", given(created, joined, room.MemberRoleChanged{MemberID: "u1", Role: room.RoleAdministrator, At: now}),
			room.ChangeRole{AccountID: "a1", MemberID: "u1"}, nil, nil},
		{"no role for a non-member", given(created), room.ChangeRole{AccountID: "a1", MemberID: "u1"}, nil, room.ErrMemberNotFound},
		{"remove", given(created, joined), room.RemoveMember{AccountID: "a1", MemberID: "u1", By: "admin"},
			[]room.Event{room.MemberRemoved{MemberID: "u1", MemberType: room.MemberUser, By: "admin", At: now}}, nil},
		{"remove a non-member", given(created), room.RemoveMember{AccountID: "a1", MemberID: "u1"}, nil, room.ErrMemberNotFound},
		{"a member posts", given(created, joined), room.PostMessage{AccountID: "a1", MessageID: "m1", SenderID: "u1", Content: text("hello")},
			[]room.Event{posted}, nil},
		{"a stranger does not", given(created), room.PostMessage{AccountID: "a1", MessageID: "m1", SenderID: "u1", Content: text("hello")}, nil, room.ErrNotMember},
		{"an empty message", given(created, joined), room.PostMessage{AccountID: "a1", MessageID: "m1", SenderID: "u1", Content: text(" ")}, nil, room.ErrMessage},
		{"4 KB is too long", given(created, joined), room.PostMessage{AccountID: "a1", MessageID: "m1", SenderID: "u1", Content: text(strings.Repeat("x", room.MaxMessageBytes))}, nil, room.ErrTooLarge},
		{"@All in a room of 51", crowded, room.PostMessage{AccountID: "a1", MessageID: "m1", SenderID: "u1", Content: text("@All standup")}, nil, room.ErrMessage},
		{"@All in a room of 50", given(created, joined), room.PostMessage{AccountID: "a1", MessageID: "m1", SenderID: "u1", Content: text("@All")},
			[]room.Event{room.MessagePosted{MessageID: "m1", SenderID: "u1", SenderType: room.MemberUser, SenderName: "Alice", SenderEmail: "alice@example.com", KeyID: "k", Sealed: sealed("@All"), At: now}}, nil},
		{"redact", given(created, joined, posted), room.RedactMessage{AccountID: "a1", MessageID: "m1", By: "admin"},
			[]room.Event{room.MessageRedacted{MessageID: "m1", By: "admin", At: now}}, nil},
		{"redact twice changes nothing", given(created, joined, posted, room.MessageRedacted{MessageID: "m1"}), room.RedactMessage{AccountID: "a1", MessageID: "m1"}, nil, nil},
		{"redact a message past retention", given(created, joined, posted), room.RedactMessage{AccountID: "a1", MessageID: "m1", HiddenBefore: now.Add(time.Second)},
			nil, room.ErrNoMessage},
		{"redact a message within retention", given(created, joined, posted), room.RedactMessage{AccountID: "a1", MessageID: "m1", By: "admin", HiddenBefore: now},
			[]room.Event{room.MessageRedacted{MessageID: "m1", By: "admin", At: now}}, nil},
		{"only an administrator adds a webhook", given(created, joined), room.CreateWebhook{AccountID: "a1", WebhookID: "w1", Name: "CI", TokenHash: "h1", By: "u1"}, nil, room.ErrNotAdmin},
		{"an administrator adds one", given(created, adminJoined), room.CreateWebhook{AccountID: "a1", WebhookID: "w1", Name: " CI ", TokenHash: "h1", By: "u1"},
			[]room.Event{hook}, nil},
		{"ten at most", tenHooks, room.CreateWebhook{AccountID: "a1", WebhookID: "w11", Name: "CI", TokenHash: "h", By: "u1"}, nil, room.ErrWebhookLimit},
		{"post through the webhook", given(created, adminJoined, hook), room.PostWebhookMessage{AccountID: "a1", WebhookID: "w1", TokenHash: "h1", MessageID: "m2", Content: text("build green")},
			[]room.Event{room.MessagePosted{MessageID: "m2", SenderID: "w1", SenderType: room.MemberWebhook, SenderName: "CI (Webhook)", KeyID: "k", Sealed: sealed("build green"), At: now}}, nil},
		{"a URL that never was", given(created, adminJoined, hook), room.PostWebhookMessage{AccountID: "a1", WebhookID: "w1", TokenHash: "forged", MessageID: "m2", Content: text("x")}, nil, room.ErrWebhookURL},
		{"an unknown webhook", given(created), room.PostWebhookMessage{AccountID: "a1", WebhookID: "w9", TokenHash: "h1", MessageID: "m2", Content: text("x")}, nil, room.ErrWebhookURL},
		{"the old URL after a regeneration", given(created, adminJoined, hook, room.WebhookRegenerated{WebhookID: "w1", TokenHash: "h2"}),
			room.PostWebhookMessage{AccountID: "a1", WebhookID: "w1", TokenHash: "h1", MessageID: "m2", Content: text("x")}, nil, room.ErrWebhookGone},
		{"the URL of a deleted webhook", given(created, adminJoined, hook, room.WebhookDeleted{WebhookID: "w1"}),
			room.PostWebhookMessage{AccountID: "a1", WebhookID: "w1", TokenHash: "h1", MessageID: "m2", Content: text("x")}, nil, room.ErrWebhookGone},
		{"regenerate a deleted webhook", given(created, adminJoined, hook, room.WebhookDeleted{WebhookID: "w1"}),
			room.RegenerateWebhook{AccountID: "a1", WebhookID: "w1", TokenHash: "h2", By: "u1"}, nil, room.ErrNotFound},
		{"a message that @mentions a bot names it", given(created, joined, botJoined),
			room.PostMessage{AccountID: "a1", MessageID: "m3", SenderID: "u1", Content: text("@Helper-Chimebot@example.com status?")},
			[]room.Event{room.MessagePosted{MessageID: "m3", SenderID: "u1", SenderType: room.MemberUser, SenderName: "Alice", SenderEmail: "alice@example.com",
				KeyID: "k", Sealed: sealed("@Helper-Chimebot@example.com status?"), MentionedBots: []string{"b1"}, At: now}}, nil},
		{"a bot replies through its persistent URL", given(created, joined, botJoined, room.BotReplyURLIssued{ReplyID: "r1", BotID: "b1", TokenHash: "t"}),
			room.PostWebhookMessage{AccountID: "a1", WebhookID: "r1", TokenHash: "t", MessageID: "m4", Content: text("all green")},
			[]room.Event{room.MessagePosted{MessageID: "m4", SenderID: "b1", SenderType: room.MemberBot, SenderName: "helper", SenderEmail: bot.Email, KeyID: "k", Sealed: sealed("all green"), At: now}}, nil},
		{"a short-lived URL expires after 2 minutes", given(created, joined, botJoined, room.BotReplyURLIssued{ReplyID: "r1", BotID: "b1", TokenHash: "t", ExpiresAt: now.Add(-time.Second)}),
			room.PostWebhookMessage{AccountID: "a1", WebhookID: "r1", TokenHash: "t", MessageID: "m4", Content: text("late")}, nil, room.ErrWebhookGone},
		{"a bot's reply URL with a wrong token", given(created, joined, botJoined, room.BotReplyURLIssued{ReplyID: "r1", BotID: "b1", TokenHash: "t"}),
			room.PostWebhookMessage{AccountID: "a1", WebhookID: "r1", TokenHash: "x", MessageID: "m4", Content: text("x")}, nil, room.ErrWebhookURL},
		{"a removed bot's URL stops working", given(created, joined, botJoined, room.BotReplyURLIssued{ReplyID: "r1", BotID: "b1", TokenHash: "t"}, room.MemberRemoved{MemberID: "b1", MemberType: room.MemberBot}),
			room.PostWebhookMessage{AccountID: "a1", WebhookID: "r1", TokenHash: "t", MessageID: "m4", Content: text("x")}, nil, room.ErrWebhookURL},
		{"redact a message of another room", given(created), room.RedactMessage{AccountID: "a1", MessageID: "m1"}, nil, room.ErrNoMessage},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := room.Decide(tc.state, tc.when, now)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("want error %v, got %v", tc.wantErr, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("want %#v, got %#v", tc.want, got)
			}
		})
	}
}

func TestEventsRoundTrip(t *testing.T) {
	t.Parallel()
	for _, e := range []room.Event{created, room.Renamed{Name: "x", At: now}, room.Deleted{By: "admin", At: now}, joined,
		room.MemberRoleChanged{MemberID: "u1", Role: room.RoleAdministrator, At: now}, room.MemberRemoved{MemberID: "u1", MemberType: room.MemberUser, At: now},
		posted, room.MessageRedacted{MessageID: "m1", By: "admin", At: now}, hook,
		room.WebhookRegenerated{WebhookID: "w1", TokenHash: "h2", At: now}, room.WebhookDeleted{WebhookID: "w1", At: now},
		room.BotReplyURLIssued{ReplyID: "r1", BotID: "b1", TokenHash: "t", ExpiresAt: now.Add(room.ShortLivedURL), At: now}, room.BotReplyURLIssued{ReplyID: "r2", BotID: "b1", TokenHash: "p", At: now}} {
		b, _ := json.Marshal(e)
		back, err := room.Decode(e.EventType(), b)
		if err != nil || !reflect.DeepEqual(back, e) {
			t.Fatalf("%s: %v %#v", e.EventType(), err, back)
		}
	}
}

// text is a message's content as the service hands it over: the text and a stand-in for its sealing.
func text(t string) room.Content { return room.Content{Text: t, KeyID: "k", Sealed: sealed(t)} }

func sealed(t string) []byte { return []byte("sealed:" + t) }
