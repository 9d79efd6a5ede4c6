package rooms_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry/api/chime/rooms"
	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/domain/chime/room"
	"github.com/belfry/belfry/projections/chimeaccounts"
	"github.com/belfry/belfry/projections/chimerooms"
)

// botRoom is a room of account a1 whose only member is a disabled bot, as the read model and the
// command path see it; the other methods of its interfaces are not called.
type botRoom struct {
	rooms.Store
	rooms.Directory
	usecase.Repository[room.State, room.Command, room.Event]
	st room.State
}

func (r *botRoom) GetRoom(context.Context, string, string) (chimerooms.Room, error) {
	return chimerooms.Room{RoomID: "r1", AccountID: "a1", Name: "Ops"}, nil
}

func (r *botRoom) BotMembers(context.Context, string) ([]chimerooms.Membership, error) {
	return []chimerooms.Membership{{RoomID: "r1", MemberID: "b1", MemberType: room.MemberBot, Email: "secretbot@bots.example"}}, nil
}

func (r *botRoom) BotByID(context.Context, string) (chimeaccounts.Bot, error) {
	return chimeaccounts.Bot{BotID: "b1", AccountID: "a1", DisplayName: "Secret Bot", Email: "secretbot@bots.example", Disabled: true}, nil
}

func (r *botRoom) Inspect(_ context.Context, _ string, _ bool, fn func(room.State) error) error {
	return fn(r.st)
}

func newBotRoom(t *testing.T) *botRoom {
	t.Helper()
	st := room.Initial()
	for _, cmd := range []room.Command{room.Create{AccountID: "a1", Name: "Ops", CreatedBy: "admin"},
		room.AddMember{AccountID: "a1", Member: room.Candidate{ID: "b1", Type: room.MemberBot, Email: "secretbot@bots.example", HasEvents: true}}} {
		evs, err := room.Decide(st, cmd, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			st = room.Evolve(st, e)
		}
	}
	return &botRoom{st: st}
}

// TestNonMemberMentioningABotLearnsNothingOfIt: a user of the account who is not a member of a room
// and posts to it is refused as a non-member (403), whatever the text: an @mention of the room's
// disabled bot was answered first with that bot's name and state ("Secret Bot is disabled"),
// telling a non-member who is in the room.
func TestNonMemberMentioningABotLearnsNothingOfIt(t *testing.T) {
	r := newBotRoom(t)
	m := rooms.NewMessages(rooms.Deps{Rooms: rooms.Rooms{Repo: r}, Store: r, Directory: r})
	u := chimeaccounts.User{UserID: "u9", AccountID: "a1"}
	_, err := m.PostRoomMessage(context.Background(), u, "r1", "hello @secretbot@bots.example")
	if !errors.Is(err, room.ErrNotMember) || strings.Contains(err.Error(), "Secret Bot") {
		t.Fatalf("a non-member's post mentioning the room's bot: %v, want %v without the bot's name", err, room.ErrNotMember)
	}
}
