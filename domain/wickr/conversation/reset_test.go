package conversation_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/belfry/belfry/domain/wickr/conversation"
)

// TestRemoveAfterReset: a password reset takes its user out of the rooms it joined before the reset,
// once (guide §21.6); its direct messages and groups, and a room it was invited to since, keep it.
func TestRemoveAfterReset(t *testing.T) {
	t.Parallel()
	resetAt := now.Add(time.Hour)
	room := func() conversation.State {
		return fold(t, conversation.Initial(), conversation.Create{ConversationID: "r1", Kind: conversation.KindRoom, Title: "Ops", By: carol,
			Members: []conversation.Participant{alice}, Policy: policy()}, now)
	}
	group := fold(t, conversation.Initial(), conversation.Create{ConversationID: "g1", Kind: conversation.KindGroup, By: carol,
		Members: []conversation.Participant{alice}, Policy: policy()}, now)
	reinvited := fold(t, fold(t, room(), conversation.RemoveAfterReset{Member: alice, ResetAt: resetAt}, resetAt),
		conversation.AddMembers{By: carol, Members: []conversation.Participant{alice}, Policy: policy()}, resetAt.Add(time.Minute))
	remove := conversation.RemoveAfterReset{Member: alice, ResetAt: resetAt}
	for _, tc := range []struct {
		name  string
		given conversation.State
		want  []conversation.Event
	}{
		{"a member of a room since before the reset leaves it", room(), []conversation.Event{
			conversation.MemberLeft{Member: alice, Reason: conversation.LeftPasswordReset, At: resetAt.Add(time.Second)}}},
		{"once: gone already, nothing more", fold(t, room(), remove, resetAt), nil},
		{"a room it was re-invited to since keeps it", reinvited, nil},
		{"a group keeps it", group, nil},
		{"a direct message keeps it", dm(t, alice, carol, policy()), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := conversation.Decide(tc.given, remove, resetAt.Add(time.Second))
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("want %#v, got %#v %v", tc.want, got, err)
			}
		})
	}
	if s := fold(t, room(), remove, resetAt); s.Member(alice) || !s.Member(carol) {
		t.Fatal("then the room holds its other members only")
	}
	if s := fold(t, room(), conversation.RemoveAfterReset{Member: alice, ResetAt: now}, now); s.Member(alice) {
		t.Fatal("a membership that began at the reset's very time is older than the reset")
	}
}
