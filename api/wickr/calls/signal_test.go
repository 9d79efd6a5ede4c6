package calls

import (
	"context"
	"encoding/json"
	"maps"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/api/mediasignal"
	"github.com/belfry/belfry/api/wickr/messaging"
	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/domain/wickr/call"
	"github.com/belfry/belfry/domain/wickr/conversation"
	"github.com/belfry/belfry/domain/wickr/network"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
	"github.com/belfry/belfry/projections/wickrconversations"
)

// syncCalls is memCalls behind a mutex (signalling sessions run on their own goroutines).
type syncCalls struct {
	mu sync.Mutex
	memCalls
}

func (c *syncCalls) Execute(ctx context.Context, stream string, cmd call.Command) (usecase.Decided[call.State, call.Event], error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.memCalls.Execute(ctx, stream, cmd)
}

// state is a call's state with its participants copied under the lock (Evolve updates the map in
// place while other sessions go on).
func (c *syncCalls) state(id string) call.State {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.m[call.StreamName(id)]
	st.Participants = maps.Clone(st.Participants)
	return st
}

// changingConversation is oneConversation whose members change (remove).
type changingConversation struct {
	mu sync.Mutex
	oneConversation
}

func (c *changingConversation) Conversation(ctx context.Context, id string) (wickrconversations.Conversation, error) {
	return c.oneConversation.Conversation(ctx, id)
}

func (c *changingConversation) IsMember(ctx context.Context, id, key string) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.oneConversation.IsMember(ctx, id, key)
}

func (c *changingConversation) Members(ctx context.Context, id string) ([]wickrconversations.Member, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.oneConversation.Members(ctx, id)
}

func (c *changingConversation) remove(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var kept []conversation.Participant
	for _, m := range c.members {
		if m.Key() != key {
			kept = append(kept, m)
		}
	}
	c.members = kept
}

// noMediaSFU is an SFU whose participants carry no media: Remove and Leave close them at once.
type noMediaSFU struct{}

func (noMediaSFU) Join(_, _ string, p mediasignal.Peer, _ JoinOptions) (mediasignal.Participant, error) {
	return &noMedia{peer: p}, nil
}

type noMedia struct {
	peer mediasignal.Peer
	once sync.Once
}

func (x *noMedia) Answer(string) error       { return nil }
func (x *noMedia) AddCandidate([]byte) error { return nil }
func (x *noMedia) Leave()                    { x.Remove(call.LeftHungUp) }
func (x *noMedia) Remove(reason string)      { x.once.Do(func() { x.peer.Closed(reason) }) }
func (x *noMedia) SetAudioMuted(bool)        {}

// TestARemovedMemberIsTakenOutOfTheCall: a participant whose caller stops being a member of the
// conversation (removed from the room) while its session goes on is taken out of the call within
// the recheck interval: an error NotFound (as to any non-member), then bye, the socket closes and its leaving is recorded; the
// other participant stays.
func TestARemovedMemberIsTakenOutOfTheCall(t *testing.T) {
	const nid, gid = "11111111", "G1"
	alice, bob := messaging.Caller{NetworkID: nid, UserID: "1", GroupID: gid}, messaging.Caller{NetworkID: nid, UserID: "2", GroupID: gid}
	nets := peeker{network.StreamName(nid): {ID: nid, Status: network.StatusActive, Region: "us-east-1",
		Groups: map[string]*network.Group{gid: {Settings: sg.Defaults()}}}}
	calls := &syncCalls{memCalls: memCalls{m: map[string]call.State{}}}
	conv := &changingConversation{oneConversation: oneConversation{id: "c1", members: []conversation.Participant{alice.Participant(), bob.Participant()}}}
	s := New(Deps{Calls: calls, Networks: nets, Store: conv, SFU: noMediaSFU{}, SessionRecheck: 50 * time.Millisecond,
		Sessions: sessions{"alice": alice, "bob": bob}})
	e := echo.New()
	for _, r := range s.Routes() {
		e.Add(r.Method, r.Path, r.Handler)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	dial := func(tok string) (*websocket.Conn, mediasignal.Message) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/wickr/conversations/c1/call/signal",
			&websocket.DialOptions{Subprotocols: []string{mediasignal.Protocol, "bearer." + tok}})
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		t.Cleanup(func() { _ = ws.CloseNow() })
		return ws, readMsg(t, ws, 5*time.Second)
	}
	aws, aj := dial("alice")
	_, bj := dial("bob")
	if aj.Type != "joined" || bj.Type != "joined" || aj.CallID != bj.CallID {
		t.Fatalf("joined: %+v %+v", aj, bj)
	}
	conv.remove(alice.Participant().Key())
	var codes []string
	bye := ""
	for bye == "" {
		m := readMsg(t, aws, 3*time.Second)
		if m.Type == "" {
			t.Fatalf("a member removed from the conversation stays in its call (errors %v)", codes)
		}
		switch m.Type {
		case "error":
			codes = append(codes, m.Code)
		case "bye":
			bye = m.Reason
		}
	}
	st := calls.state(aj.CallID)
	if len(codes) == 0 || codes[0] != "NotFound" || bye != call.LeftDisconnected || st.Participants[aj.ParticipantID] != nil || st.Participants[bj.ParticipantID] == nil {
		t.Fatalf("errors %v, bye %q; in the call: %v", codes, bye, st.Participants)
	}
}

// readMsg reads the next message (Type "" once the socket ended or nothing came within).
func readMsg(t *testing.T, ws *websocket.Conn, within time.Duration) mediasignal.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	_, b, err := ws.Read(ctx)
	if err != nil {
		return mediasignal.Message{}
	}
	var m mediasignal.Message
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not JSON: %s", b)
	}
	return m
}
