package wickranalytics_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/belfry/belfry/domain/wickr/call"
	wconv "github.com/belfry/belfry/domain/wickr/conversation"
	"github.com/belfry/belfry/domain/wickr/network"
	"github.com/belfry/belfry/infra/eventlog/eventlogtest"
	"github.com/belfry/belfry/projections/projectiontest"
	"github.com/belfry/belfry/projections/wickranalytics"
)

// TestCalls: calls of a network's members — a 1:1 call of five minutes, a conference call over
// midnight, a call still live — and a call outside any network give the calls (unique, on the day
// they start), the 1:1 calls and the call seconds (on the day they end) per day and week; a second
// Ended of a call adds nothing; the calls not ended are listed for the crash sweep.
func TestCalls(t *testing.T) {
	pool, client := eventlogtest.Start(t)
	ctx := context.Background()
	const id = "23456789"
	var head uint64
	emit := func(stream string, evs ...interface{ EventType() string }) {
		t.Helper()
		var data []esdb.EventData
		for _, e := range evs {
			b, _ := json.Marshal(e)
			data = append(data, esdb.EventData{EventID: uuid.New(), EventType: e.EventType(), ContentType: esdb.ContentTypeJson, Data: b})
		}
		res, err := client.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{}, data...)
		if err != nil {
			t.Fatal(err)
		}
		head = res.CommitPosition
	}
	at := func(day, h, m int) time.Time { return time.Date(2026, 3, day, h, m, 0, 0, time.UTC) }
	alice := wconv.Participant{NetworkID: id, UserID: "1001"}
	start := func(callID, kind, net string, t time.Time) call.Started {
		return call.Started{CallID: callID, ConversationID: "conv-" + callID, ConversationKind: kind, NetworkID: net, By: alice, At: t}
	}
	joined := func(t time.Time) call.ParticipantJoined {
		return call.ParticipantJoined{ParticipantID: "p", Member: alice, Grant: call.Grant{Audio: true}, At: t}
	}
	emit(network.StreamName(id), network.Created{NetworkID: id, Name: "Calls", AwsAccountID: "111122223333", Region: "us-east-1", AccessLevel: network.Premium, At: at(2, 9, 0)})
	emit(call.StreamName("c1"), start("c1", wconv.KindDirect, id, at(3, 10, 0)), joined(at(3, 10, 0)),
		call.ParticipantLeft{ParticipantID: "p", Reason: call.LeftHungUp, At: at(3, 10, 5)}, call.Ended{Reason: call.EndAllLeft, At: at(3, 10, 5)})
	emit(call.StreamName("c2"), start("c2", wconv.KindGroup, id, at(3, 23, 50)), joined(at(3, 23, 50)))
	emit(call.StreamName("c2"), call.MediaStarted{ParticipantID: "p", Kind: call.MediaVideo, At: at(3, 23, 51)},
		call.ParticipantLeft{ParticipantID: "p", Reason: call.LeftServiceRestart, At: at(4, 0, 20)}, call.Ended{Reason: call.EndServiceRestart, At: at(4, 0, 20)})
	emit(call.StreamName("c2"), call.Ended{Reason: call.EndServiceRestart, At: at(4, 9, 0)}) // a duplicate: adds nothing
	emit(call.StreamName("c3"), start("c3", wconv.KindRoom, id, at(9, 8, 0)), joined(at(9, 8, 0)))
	emit(call.StreamName("c4"), start("c4", wconv.KindGroup, "", at(9, 7, 0)), joined(at(9, 7, 0)))

	projectiontest.CatchUp(t, ctx, pool, client, wickranalytics.Projection{}, head)

	store := wickranalytics.NewStore(pool)
	rep, err := store.Report(ctx, id, wickranalytics.Day, at(2, 0, 0), at(10, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	type fig struct {
		Calls, Direct int
		Seconds       int64
	}
	want := map[int]fig{3: {2, 1, 300}, 4: {0, 0, 1800}, 9: {1, 0, 0}}
	for _, pt := range rep.Points {
		if got := (fig{pt.Calls, pt.DirectCalls, pt.CallSeconds}); got != want[pt.Start.Day()] {
			t.Errorf("March %d: %+v, want %+v", pt.Start.Day(), got, want[pt.Start.Day()])
		}
	}
	weeks, err := store.Report(ctx, id, wickranalytics.Week, at(2, 0, 0), at(9, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(weeks.Points) != 2 || (fig{weeks.Points[0].Calls, weeks.Points[0].DirectCalls, weeks.Points[0].CallSeconds}) != (fig{2, 1, 2100}) ||
		(fig{weeks.Points[1].Calls, weeks.Points[1].DirectCalls, weeks.Points[1].CallSeconds}) != (fig{1, 0, 0}) {
		t.Fatalf("weeks %+v", weeks.Points)
	}
	// The calls not ended: c4 (no network) and c3, oldest first; none started before the 9th.
	if live, err := store.LiveCalls(ctx, at(10, 0, 0), 10); err != nil || !slices.Equal(live, []string{"c4", "c3"}) {
		t.Fatalf("live calls: %v %v", live, err)
	}
	if live, err := store.LiveCalls(ctx, at(9, 7, 30), 10); err != nil || !slices.Equal(live, []string{"c4"}) {
		t.Fatalf("live calls before 07:30 on the 9th: %v %v", live, err)
	}
	if live, err := store.LiveCalls(ctx, at(10, 0, 0), 1); err != nil || len(live) != 1 {
		t.Fatalf("a bounded page: %v %v", live, err)
	}
}
