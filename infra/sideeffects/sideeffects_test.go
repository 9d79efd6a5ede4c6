package sideeffects_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/phonenumber"
	"github.com/belfry/belfry/domain/wickr/roster"
	"github.com/belfry/belfry/infra/eventlog/eventlogtest"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
	"github.com/belfry/belfry/infra/sideeffects"
	"github.com/belfry/belfry/projections"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// sink records deliveries; fail decides whether one attempt fails.
type sink struct {
	mu       sync.Mutex
	attempts map[string]int
	done     map[string]int
	fail     func(key string, attempt int) bool
	block    chan struct{} // when set, handlers wait for it (or their context) before succeeding
}

func newSink(fail func(string, int) bool) *sink {
	return &sink{attempts: map[string]int{}, done: map[string]int{}, fail: fail}
}

func (s *sink) handle(ctx context.Context, key string) error {
	s.mu.Lock()
	s.attempts[key]++
	n := s.attempts[key]
	block := s.block
	s.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if s.fail != nil && s.fail(key, n) {
		return fmt.Errorf("attempt %d of %s fails", n, key)
	}
	s.mu.Lock()
	s.done[key]++
	s.mu.Unlock()
	return nil
}

func (s *sink) DeliverInvitation(ctx context.Context, inv sideeffects.Invitation) error {
	return s.handle(ctx, "invite:"+inv.Email)
}

func (s *sink) ProcessPhoneNumberOrder(ctx context.Context, id string) error {
	return s.handle(ctx, "order:"+id)
}

func (s *sink) snapshot() (attempts, done map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	attempts, done = map[string]int{}, map[string]int{}
	for k, v := range s.attempts {
		attempts[k] = v
	}
	for k, v := range s.done {
		done[k] = v
	}
	return attempts, done
}

func appendEvent(t *testing.T, c *esdb.Client, stream, typ string, data any) {
	t.Helper()
	b, _ := json.Marshal(data)
	if _, err := c.AppendToStream(context.Background(), stream, esdb.AppendToStreamOptions{},
		esdb.EventData{EventID: uuid.New(), EventType: typ, ContentType: esdb.ContentTypeJson, Data: b}); err != nil {
		t.Fatal(err)
	}
}

// startRelay runs the relay projection until the test ends.
func startRelay(t *testing.T, pool *pgxpool.Pool, c *esdb.Client) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if _, _, err := projections.Ensure(ctx, pool, sideeffects.Relay{}); err != nil {
		t.Fatal(err)
	}
	r := projections.NewRunner(pool, c, sideeffects.Relay{}, projections.RunnerConfig{})
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

func startRouter(t *testing.T, pool *pgxpool.Pool, s *sink) *sideeffects.Router {
	t.Helper()
	r, err := sideeffects.NewRouter(pool, sideeffects.Handlers{Mailer: s, Orders: s}, sideeffects.RouterConfig{MaxRetries: 2, RetryInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = r.Run(context.Background()) }()
	<-r.Running()
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func count(t *testing.T, pool *pgxpool.Pool, table string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), fmt.Sprintf(`SELECT count(*) FROM %q`, table)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRelayEnqueuesOncePerEventAndRouterRetriesThenPoisons(t *testing.T) {
	pool, c := eventlogtest.Start(t)
	for i := range 3 {
		appendEvent(t, c, account.StreamName("acc-1"), account.TypeUserInvited, account.UserInvited{UserID: fmt.Sprint("u", i), InviteID: fmt.Sprint("i", i), Email: fmt.Sprintf("u%d@example.com", i)})
	}
	appendEvent(t, c, account.StreamName("acc-1"), account.TypeUserRegistered, map[string]any{"userId": "x"}) // no side effect
	appendEvent(t, c, phonenumber.OrderStreamName("o-ok"), phonenumber.TypeOrderCreated, phonenumber.OrderCreated{AwsAccountID: "111122223333", Numbers: []string{"+12065550100"}})
	appendEvent(t, c, phonenumber.OrderStreamName("o-bad"), phonenumber.TypeOrderCreated, phonenumber.OrderCreated{AwsAccountID: "111122223333", Numbers: []string{"+12065550101"}})

	startRelay(t, pool, c)
	eventually(t, "the relay to enqueue", func() bool {
		return count(t, pool, "watermill_"+sideeffects.TopicInvitations) == 3 && count(t, pool, "watermill_"+sideeffects.TopicOrders) == 2
	})

	// u1's first two attempts fail (retried), o-bad always fails (poisoned after 1+2 attempts).
	s := newSink(func(key string, n int) bool {
		return key == "order:o-bad" || (key == "invite:u1@example.com" && n <= 2)
	})
	startRouter(t, pool, s)
	eventually(t, "deliveries and the poison message", func() bool {
		_, done := s.snapshot()
		return len(done) == 4 && count(t, pool, "watermill_"+sideeffects.TopicPoison) == 1
	})
	attempts, done := s.snapshot()
	for _, k := range []string{"invite:u0@example.com", "invite:u1@example.com", "invite:u2@example.com", "order:o-ok"} {
		if done[k] != 1 {
			t.Errorf("%s delivered %d times, want 1 (attempts %v)", k, done[k], attempts)
		}
	}
	if attempts["invite:u1@example.com"] != 3 || attempts["order:o-bad"] != 3 || done["order:o-bad"] != 0 {
		t.Errorf("attempts %v done %v", attempts, done)
	}
	var reason string
	if err := pool.QueryRow(context.Background(), `SELECT metadata->>'reason_poisoned' FROM "watermill_belfry_poison"`).Scan(&reason); err != nil {
		t.Fatal(err)
	}
	if reason == "" {
		t.Error("the poison message does not say why")
	}

	// More events later are enqueued exactly once more: the relay resumes from its checkpoint.
	appendEvent(t, c, account.StreamName("acc-2"), account.TypeUserInvited, account.UserInvited{UserID: "u9", InviteID: "i9", Email: "u9@example.com"})
	eventually(t, "the late invitation", func() bool { _, done := s.snapshot(); return done["invite:u9@example.com"] == 1 })
	if n := count(t, pool, "watermill_"+sideeffects.TopicInvitations); n != 4 {
		t.Errorf("%d invitation messages, want 4", n)
	}
}

func TestUnacknowledgedMessageIsRedeliveredAfterRestart(t *testing.T) {
	pool, c := eventlogtest.Start(t)
	startRelay(t, pool, c)
	appendEvent(t, c, phonenumber.OrderStreamName("o-1"), phonenumber.TypeOrderCreated, phonenumber.OrderCreated{AwsAccountID: "111122223333", Numbers: []string{"+12065550100"}})

	first := newSink(nil)
	first.block = make(chan struct{}) // the handler never finishes: the process "crashes" mid-order
	r := startRouter(t, pool, first)
	eventually(t, "the first attempt", func() bool { a, _ := first.snapshot(); return a["order:o-1"] == 1 })
	if err := r.Close(); err != nil && !errors.Is(err, context.Canceled) {
		t.Logf("close: %v", err)
	}

	second := newSink(nil)
	startRouter(t, pool, second)
	eventually(t, "the redelivery", func() bool { _, d := second.snapshot(); return d["order:o-1"] == 1 })
	if _, d := first.snapshot(); d["order:o-1"] != 0 {
		t.Fatal("the first router acknowledged an order it never finished")
	}
}

func (s *sink) DeliverWickrInvitation(ctx context.Context, inv sideeffects.WickrInvitation) error {
	return s.handle(ctx, "wickr:"+inv.NetworkID+"/"+inv.UserID)
}

// TestBatchInvitationIsOneMailPerUser: one UsersInvited event queues one message per user, in the
// batch's order, each with its own id (derived from the event's id and the user's), and each user's
// mail is delivered once.
func TestBatchInvitationIsOneMailPerUser(t *testing.T) {
	pool, c := eventlogtest.Start(t)
	ids := []string{"1000000050", "1000000051", "1000000052"}
	e := roster.UsersInvited{NetworkID: "12345678", UserIDs: ids, At: time.Now().UTC()}
	for i := range ids {
		e.Users = append(e.Users, roster.Invitee{Username: fmt.Sprintf("u%d@example.com", i), GroupID: "g1", InviteExpiresAt: e.At.Add(time.Hour)})
	}
	evID := uuid.New()
	b, _ := json.Marshal(e)
	if _, err := c.AppendToStream(context.Background(), roster.StreamName("12345678", ids[0]), esdb.AppendToStreamOptions{},
		esdb.EventData{EventID: evID, EventType: roster.TypeUsersInvited, ContentType: esdb.ContentTypeJson, Data: b}); err != nil {
		t.Fatal(err)
	}
	startRelay(t, pool, c)
	table := "watermill_" + sideeffects.TopicWickrInvitations
	eventually(t, "the relay to enqueue", func() bool { return count(t, pool, table) == len(ids) })
	rows, err := pool.Query(context.Background(), fmt.Sprintf(`SELECT uuid, payload->>'userId' FROM %q ORDER BY "offset"`, table))
	if err != nil {
		t.Fatal(err)
	}
	var got [][2]string
	for rows.Next() {
		var id, user string
		if err := rows.Scan(&id, &user); err != nil {
			t.Fatal(err)
		}
		got = append(got, [2]string{id, user})
	}
	if rows.Err() != nil || len(got) != len(ids) {
		t.Fatalf("messages %v (%v)", got, rows.Err())
	}
	for i, id := range ids {
		if want := uuid.NewSHA1(evID, []byte(id)).String(); got[i] != [2]string{want, id} {
			t.Errorf("message %d is %v, want {%s %s}", i, got[i], want, id)
		}
	}
	s := newSink(nil)
	r, err := sideeffects.NewRouter(pool, sideeffects.Handlers{Mailer: s, Orders: s, WickrMailer: s}, sideeffects.RouterConfig{})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = r.Run(context.Background()) }()
	<-r.Running()
	t.Cleanup(func() { _ = r.Close() })
	eventually(t, "the mails", func() bool { _, done := s.snapshot(); return len(done) == len(ids) })
	_, done := s.snapshot()
	for _, id := range ids {
		if done["wickr:12345678/"+id] != 1 {
			t.Errorf("user %s mailed %d times, want 1 (%v)", id, done["wickr:12345678/"+id], done)
		}
	}
}
