package messaging_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry/api/internal/memrepo"
	"github.com/belfry/belfry/api/wickr/messaging"
	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/domain/wickr/conversation"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
	"github.com/belfry/belfry/projections/wickrconversations"
)

// listingStore is convStore that lists a member's conversations, as the read model does.
type listingStore struct{ convStore }

func (s listingStore) ForMember(_ context.Context, key, after string, limit int) ([]wickrconversations.Conversation, error) {
	var out []wickrconversations.Conversation
	s.repo.Range(func(stream string, st conversation.State) {
		if _, ok := st.Members[key]; ok && st.ID > after {
			out = append(out, wickrconversations.Conversation{ID: st.ID, Kind: st.Kind, Title: st.Title, CreatedBy: st.CreatedBy.Key()})
		}
	})
	slices.SortFunc(out, func(a, b wickrconversations.Conversation) int { return strings.Compare(a.ID, b.ID) })
	return out[:min(len(out), limit)], nil
}

// flakyRepo fails the commands on one stream while failing is set.
type flakyRepo struct {
	*memrepo.Repo[conversation.State, conversation.Command, conversation.Event]
	stream  string
	mu      sync.Mutex
	failing bool
}

func (f *flakyRepo) Execute(ctx context.Context, stream string, cmd conversation.Command) (usecase.Decided[conversation.State, conversation.Event], error) {
	f.mu.Lock()
	fail := f.failing && stream == f.stream
	f.mu.Unlock()
	if fail {
		return usecase.Decided[conversation.State, conversation.Event]{}, errors.New("the event store is unavailable")
	}
	return f.Repo.Execute(ctx, stream, cmd)
}

type lateRM struct{}

func (lateRM) WaitFor(ctx context.Context, _ uint64) error { return context.DeadlineExceeded }

// TestLeaveRoomsAfterReset: given a user in rooms (one its own), a group and a direct message, when
// its password reset's saga runs and one room fails, then it leaves every other room, fails naming
// that one, and a second run (the router's redelivery) finishes it; its group and direct message
// keep it, and a room it was invited to again since keeps it too.
func TestLeaveRoomsAfterReset(t *testing.T) {
	ctx := context.Background()
	g := sg.Defaults()
	w := newWorld(t, g, []string{"1", "2"}, nil)
	alice, carol := user("1"), user("2")
	others := []conversation.Participant{alice.Participant()}
	var rooms []string
	for _, by := range []messaging.Caller{carol, carol, alice} {
		members := others
		if by == alice {
			members = []conversation.Participant{carol.Participant()}
		}
		v, err := w.svc.Create(ctx, by, conversation.KindRoom, "Ops", members)
		if err != nil {
			t.Fatal(err)
		}
		rooms = append(rooms, v.ID)
	}
	group, err := w.svc.Create(ctx, carol, conversation.KindGroup, "", others)
	if err != nil {
		t.Fatal(err)
	}
	dm, err := w.svc.Create(ctx, carol, conversation.KindDirect, "", others)
	if err != nil {
		t.Fatal(err)
	}
	start := w.convs.Appends()
	flaky := &flakyRepo{Repo: w.convs, stream: conversation.StreamName(rooms[1]), failing: true}
	deps := w.deps
	deps.Store, deps.Conversations = listingStore{convStore{w.convs}}, messaging.Conversations{Repo: flaky}
	saga := messaging.PasswordResets(messaging.New(deps))
	resetAt := time.Now()
	member := func(id string) bool { return w.convs.State(conversation.StreamName(id)).Member(alice.Participant()) }

	err = saga.LeaveRooms(ctx, nid, "1", resetAt, 42)
	if err == nil || !strings.Contains(err.Error(), rooms[1]) || member(rooms[0]) || member(rooms[2]) || !member(rooms[1]) {
		t.Fatalf("a failing room stops no other and is named: %v", err)
	}
	flaky.mu.Lock()
	flaky.failing = false
	flaky.mu.Unlock()
	if err := saga.LeaveRooms(ctx, nid, "1", resetAt, 42); err != nil || member(rooms[1]) {
		t.Fatalf("the redelivery finishes it: %v", err)
	}
	if n := w.convs.Appends() - start; n != len(rooms) {
		t.Fatalf("%d removals, want one per room", n)
	}
	if !member(group.ID) || !member(dm.ID) {
		t.Fatal("the group and the direct message keep the user")
	}
	if _, err := w.svc.AddMembers(ctx, carol, rooms[0], others); err != nil {
		t.Fatal(err)
	}
	appends := w.convs.Appends()
	if err := saga.LeaveRooms(ctx, nid, "1", resetAt, 42); err != nil || !member(rooms[0]) || w.convs.Appends() != appends {
		t.Fatalf("a late run records nothing, and a room the user was re-invited to keeps it: %v", err)
	}

	deps.Conversations.RM = lateRM{}
	carolIn := w.convs.State(conversation.StreamName(rooms[0])).Member(carol.Participant())
	if err := messaging.PasswordResets(messaging.New(deps)).LeaveRooms(ctx, nid, "2", resetAt, 42); err == nil || !carolIn ||
		!w.convs.State(conversation.StreamName(rooms[0])).Member(carol.Participant()) {
		t.Fatalf("with the read model behind the reset, nothing is done and the run fails (to be redelivered): %v", err)
	}
}
