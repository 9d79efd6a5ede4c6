package wickrconversations_test

import (
	"context"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/belfry/belfry/domain/wickr/conversation"
	"github.com/belfry/belfry/infra/eventlog/eventlogtest"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
	"github.com/belfry/belfry/projections/projectiontest"
	"github.com/belfry/belfry/projections/wickrconversations"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type event interface{ EventType() string }

// TestTimersStoredBeforeTheyWereBoundedApply: a message posted before timers were bounded may carry
// a Ttl and a Bor up to the largest int64. The read model applies it (nothing parked) with its
// deadlines at MaxTimer: no overflow puts them in the past, and PostgreSQL's interval arithmetic
// does not refuse the read that starts the burn.
func TestTimersStoredBeforeTheyWereBoundedApply(t *testing.T) {
	pool, client := eventlogtest.Start(t)
	ctx := context.Background()
	at := time.Date(2027, 5, 2, 12, 0, 0, 0, time.UTC)
	a := conversation.Participant{NetworkID: "n1", UserID: "a"}
	b := conversation.Participant{NetworkID: "n1", UserID: "b"}
	evs := []event{
		conversation.Created{ConversationID: "c1", Kind: conversation.KindGroup, CreatedBy: a, Members: []conversation.Participant{a, b}, At: at},
		conversation.MessagePosted{MessageID: "m1", Seq: 1, Sender: a, KeyID: "k1", Sealed: []byte{1}, TTL: math.MaxInt64, BOR: math.MaxInt64, At: at},
		conversation.MessageRead{MessageID: "m1", Reader: b, StartsBurn: true, At: at.Add(time.Hour)},
	}
	data := make([]esdb.EventData, len(evs))
	for i, e := range evs {
		raw, _ := json.Marshal(e)
		data[i] = esdb.EventData{EventID: uuid.New(), EventType: e.EventType(), ContentType: esdb.ContentTypeJson, Data: raw}
	}
	res, err := client.AppendToStream(ctx, conversation.StreamName("c1"), esdb.AppendToStreamOptions{}, data...)
	if err != nil {
		t.Fatal(err)
	}
	projectiontest.CatchUp(t, ctx, pool, client, wickrconversations.Projection{}, res.CommitPosition)
	var parked int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM projections.parked_events`).Scan(&parked); err != nil {
		t.Fatal(err)
	}
	if parked != 0 {
		t.Fatalf("%d events parked, want none", parked)
	}
	m, err := wickrconversations.NewStore(pool).Message(ctx, "c1", "m1", at.Add(2*time.Hour))
	if err != nil {
		t.Fatalf("the message is gone or missing: %v", err)
	}
	bound := time.Duration(conversation.MaxTimer) * time.Second
	if !m.ExpiresAt.Equal(at.Add(bound)) || !m.BurnAt.Equal(at.Add(time.Hour).Add(bound)) {
		t.Fatalf("expires %v, burns %v; want %v and %v", m.ExpiresAt, m.BurnAt, at.Add(bound), at.Add(time.Hour).Add(bound))
	}
	if d := (conversation.Message{TTL: math.MaxInt64, At: at}).Deadline(); !d.Equal(at.Add(bound)) {
		t.Fatalf("the domain's deadline is %v, want %v", d, at.Add(bound))
	}
}
