package calls

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/api/wickr/messaging"
	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/call"
	"github.com/belfry/belfry/domain/wickr/conversation"
	"github.com/belfry/belfry/domain/wickr/network"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
	"github.com/belfry/belfry/infra/eventlog/eventlogtest"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/infra/migrations"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
	"github.com/belfry/belfry/projections"
	"github.com/belfry/belfry/projections/wickrconversations"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// sessions knows one token per caller.
type sessions map[string]messaging.Caller

func (s sessions) Authenticate(_ context.Context, token string) (messaging.Caller, error) {
	if me, ok := s[token]; ok {
		return me, nil
	}
	return messaging.Caller{}, domain.Errorf(domain.KindForbidden, "no session")
}

// memCalls runs call commands on states held in memory.
type memCalls struct{ m map[string]call.State }

func (c *memCalls) Execute(_ context.Context, stream string, cmd call.Command) (usecase.Decided[call.State, call.Event], error) {
	st := c.m[stream]
	evs, err := call.Decide(st, cmd, time.Now())
	if err != nil {
		return usecase.Decided[call.State, call.Event]{}, err
	}
	for _, e := range evs {
		st = call.Evolve(st, e)
	}
	c.m[stream] = st
	return usecase.Decided[call.State, call.Event]{State: st, Events: evs}, nil
}

// peeker answers the networks' states.
type peeker map[string]network.State

func (p peeker) Inspect(_ context.Context, stream string, _ bool, fn func(network.State) error) error {
	if st, ok := p[stream]; ok {
		return fn(st)
	}
	return domain.Wrapf(network.ErrNotFound, "no network")
}

// oneConversation is a conversation and its members (the read model's answers).
type oneConversation struct {
	id      string
	members []conversation.Participant
}

func (o oneConversation) Conversation(_ context.Context, id string) (wickrconversations.Conversation, error) {
	if id != o.id {
		return wickrconversations.Conversation{}, domain.Wrapf(conversation.ErrNotFound, "not found")
	}
	return wickrconversations.Conversation{ID: id, Kind: conversation.KindGroup}, nil
}

func (o oneConversation) IsMember(_ context.Context, id, key string) (bool, error) {
	for _, m := range o.members {
		if id == o.id && m.Key() == key {
			return true, nil
		}
	}
	return false, nil
}

func (o oneConversation) Members(_ context.Context, id string) ([]wickrconversations.Member, error) {
	var out []wickrconversations.Member
	for _, m := range o.members {
		if id == o.id {
			out = append(out, wickrconversations.Member{Key: m.Key(), NetworkID: m.NetworkID, UserID: m.UserID, GuestHash: m.GuestHash})
		}
	}
	return out, nil
}

// TestABlockedGuestJoinsNoCall: a network that blocked a guest (guide §15.4: "a blocked guest cannot
// communicate with anyone in the network") keeps it out of the calls of the conversations it shares
// with the network's users, as it keeps its messages out; unblocked, the guest joins.
func TestABlockedGuestJoinsNoCall(t *testing.T) {
	ctx := context.Background()
	const nid, gid = "11111111", "G1"
	user := messaging.Caller{NetworkID: nid, UserID: "1", GroupID: gid}
	gst := messaging.Caller{GuestHash: wickr.UsernameHash("gus@example.org")}
	settings := sg.Defaults()
	net := network.State{ID: nid, Status: network.StatusActive, Region: "us-east-1", Groups: map[string]*network.Group{gid: {Settings: settings}},
		BlockedGuests: map[string]network.BlockedGuest{gst.GuestHash: {}}}
	nets := peeker{network.StreamName(nid): net}
	s := New(Deps{Calls: &memCalls{m: map[string]call.State{}}, Networks: nets,
		Store: oneConversation{id: "c1", members: []conversation.Participant{user.Participant(), gst.Participant()}}})
	if _, err := s.admit(ctx, user, "c1", "", false); err != nil {
		t.Fatalf("the user starts the call: %v", err)
	}
	if _, err := s.admit(ctx, gst, "c1", "", false); !errors.Is(err, conversation.ErrBlockedGuest) {
		t.Fatalf("a blocked guest joins the call: %v, want ErrBlockedGuest", err)
	}
	net.BlockedGuests = map[string]network.BlockedGuest{}
	nets[network.StreamName(nid)] = net
	if _, err := s.admit(ctx, gst, "c1", "", false); err != nil {
		t.Fatalf("an unblocked guest joins: %v", err)
	}
}

// TestHostileConversationIDsAre4xx: a conversation id with a NUL byte or invalid UTF-8, or over the
// bound, is refused naming it (400), never sent to PostgreSQL (which answered an error: 500).
func TestHostileConversationIDsAre4xx(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := migrations.Apply(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if _, _, err := projections.Ensure(ctx, pool, wickrconversations.Projection{}); err != nil {
		t.Fatal(err)
	}
	user := messaging.Caller{NetworkID: "11111111", UserID: "1", GroupID: "G1"}
	s := New(Deps{Sessions: sessions{"tok": user}, Store: wickrconversations.NewStore(pool), Networks: peeker{}})
	e := echo.New()
	for _, r := range s.Routes() {
		e.Add(r.Method, r.Path, r.Handler)
	}
	long := make([]byte, 200)
	for i := range long {
		long[i] = 'a'
	}
	for _, id := range []string{"%00", "a%00b", "%FF%FE", "%C3%28", string(long)} {
		req := httptest.NewRequest(http.MethodGet, "/wickr/conversations/"+id+"/call/signal", nil)
		req.Header.Set("Authorization", "Bearer tok")
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Connection", "Upgrade")
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != http.StatusBadRequest {
			t.Errorf("conversation id %.20q: %d %s, want 400", id, rec.Code, rec.Body)
		}
	}
}

// TestAdmissionReadsTheNetworkWhileItChanges: a caller's grants and a guest's block are read from
// the network's state while administrators change the group's calling settings and block and
// unblock the guest — on the event store's repository, whose Evolve changes a state's groups and
// blocked guests in place. Admission reads them under the stream's lock, never from a state handed
// out by Peek (the race detector watches), and answers what the stream holds then.
func TestAdmissionReadsTheNetworkWhileItChanges(t *testing.T) {
	ctx := context.Background()
	_, client := eventlogtest.Start(t)
	repo := eventstore.NewRepository(client, eventstore.DeciderOf[network.State, network.Command, network.Event](network.Initial, network.Evolve,
		network.Decide, network.Decode), time.Now)
	const nid, gid = "12345678", "G1"
	stream := network.StreamName(nid)
	if _, err := repo.Execute(ctx, stream, network.Create{NetworkID: nid, Name: "Calls", AwsAccountID: "123456789012", Region: "us-east-1",
		AccessLevel: network.Premium, DefaultGroupID: gid}); err != nil {
		t.Fatal(err)
	}
	user := messaging.Caller{NetworkID: nid, UserID: "1", GroupID: gid}
	gst := messaging.Caller{GuestHash: wickr.UsernameHash("gus@example.org")}
	s := New(Deps{Calls: &memCalls{m: map[string]call.State{}}, Networks: repo,
		Store: oneConversation{id: "c1", members: []conversation.Participant{user.Participant(), gst.Participant()}}})
	const rounds = 200
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range rounds {
			on := i%2 == 0
			patch := sg.Patch{Calling: &sg.CallingPatch{CanStart11Call: &on, CanVideoCall: &on}}
			if _, err := repo.Execute(ctx, stream, network.UpdateGroup{NetworkID: nid, GroupID: gid, Settings: &patch}); err != nil {
				t.Errorf("update group: %v", err)
				return
			}
		}
	})
	wg.Go(func() {
		for i := range rounds {
			block := network.BlockGuest{NetworkID: nid, UsernameHash: gst.GuestHash, Username: "gus@example.org", Admin: "admin", Block: i%2 == 0}
			if _, err := repo.Execute(ctx, stream, block); err != nil {
				t.Errorf("block guest: %v", err)
				return
			}
		}
	})
	for range 4 {
		wg.Go(func() {
			for range rounds {
				if g, err := s.grant(ctx, user); err != nil || g.Video && !g.Audio {
					t.Errorf("grant %+v, %v", g, err)
					return
				}
				if err := s.notBlocked(ctx, gst, "c1"); err != nil && !errors.Is(err, conversation.ErrBlockedGuest) {
					t.Errorf("guest: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// stalledCalls is memCalls whose first Start waits until release is closed (an event store slow to
// answer one call's write), telling started when it has begun.
type stalledCalls struct {
	mu      sync.Mutex
	m       map[string]call.State
	once    sync.Once
	started chan struct{}
	release chan struct{}
}

func (c *stalledCalls) Execute(ctx context.Context, stream string, cmd call.Command) (usecase.Decided[call.State, call.Event], error) {
	if _, ok := cmd.(call.Start); ok {
		first := false
		c.once.Do(func() { first = true })
		if first {
			close(c.started)
			<-c.release
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return (&memCalls{m: c.m}).Execute(ctx, stream, cmd)
}

// everyConversation is any conversation, with the same members.
type everyConversation struct{ oneConversation }

func (e everyConversation) Conversation(ctx context.Context, id string) (wickrconversations.Conversation, error) {
	return e.oneConversation.Conversation(ctx, e.id)
}

func (e everyConversation) IsMember(ctx context.Context, _ string, key string) (bool, error) {
	return e.oneConversation.IsMember(ctx, e.id, key)
}

// TestAConversationsCallWaitsOnNoOtherConversation: while the event store is slow to record the call
// starting in one conversation, a call starts, is joined and is left in another; the slow one then
// goes on, and a join of its conversation finds the call it started.
func TestAConversationsCallWaitsOnNoOtherConversation(t *testing.T) {
	ctx := context.Background()
	const nid, gid = "11111111", "G1"
	alice, bob := messaging.Caller{NetworkID: nid, UserID: "1", GroupID: gid}, messaging.Caller{NetworkID: nid, UserID: "2", GroupID: gid}
	nets := peeker{network.StreamName(nid): {ID: nid, Status: network.StatusActive, Region: "us-east-1",
		Groups: map[string]*network.Group{gid: {Settings: sg.Defaults()}}}}
	calls := &stalledCalls{m: map[string]call.State{}, started: make(chan struct{}), release: make(chan struct{})}
	s := New(Deps{Calls: calls, Networks: nets,
		Store: everyConversation{oneConversation{id: "c1", members: []conversation.Participant{alice.Participant(), bob.Participant()}}}})
	slow := make(chan admitted, 1)
	go func() {
		a, err := s.admit(ctx, alice, "c1", "", false)
		if err != nil {
			t.Errorf("the slow start: %v", err)
		}
		slow <- a
	}()
	<-calls.started
	done := make(chan error, 1)
	go func() {
		a, err := s.admit(ctx, alice, "c2", "", false)
		if err == nil {
			_, err = s.admit(ctx, bob, "c2", a.callID, false)
		}
		if err == nil {
			s.leave(a.callID, a.participantID, call.LeftHungUp)
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("another conversation's call: %v", err)
		}
	case <-time.After(20 * time.Second):
		close(calls.release)
		t.Fatal("another conversation's call waited for the slow write of the first")
	}
	close(calls.release)
	first := <-slow
	if b, err := s.admit(ctx, bob, "c1", "", false); err != nil || b.callID != first.callID {
		t.Fatalf("bob joins the first conversation's call %s: %+v %v", first.callID, b, err)
	}
}
