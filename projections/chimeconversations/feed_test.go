package chimeconversations_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/belfry/belfry/domain/chime/conversation"
	"github.com/belfry/belfry/domain/chime/room"
	"github.com/belfry/belfry/infra/eventlog/eventlogtest"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
	"github.com/belfry/belfry/projections/chimeconversations"
	"github.com/belfry/belfry/projections/projectiontest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type event interface{ EventType() string }

// TestFeedRowsCarryWhenTheirMessageWasSent: every feed row about a message (posted, edited,
// redacted), in conversations and rooms, carries when the message was posted, which is what
// retention measures; other rows carry their own time. Both reads (Since, ForMember) agree.
func TestFeedRowsCarryWhenTheirMessageWasSent(t *testing.T) {
	pool, client := eventlogtest.Start(t)
	ctx := context.Background()
	day := func(d int) time.Time { return time.Date(2027, 5, d, 12, 0, 0, 0, time.UTC) }
	var head uint64
	emit := func(stream string, evs ...event) {
		t.Helper()
		data := make([]esdb.EventData, len(evs))
		for i, e := range evs {
			b, _ := json.Marshal(e)
			data[i] = esdb.EventData{EventID: uuid.New(), EventType: e.EventType(), ContentType: esdb.ContentTypeJson, Data: b}
		}
		res, err := client.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{}, data...)
		if err != nil {
			t.Fatal(err)
		}
		head = res.CommitPosition
	}
	sealed := []byte{1, 2, 3}
	emit(conversation.StreamName("c1"), conversation.Created{Kind: conversation.KindDirect, CreatedBy: "a", At: day(1),
		Members: []conversation.Member{{UserID: "a", AccountID: "e1"}, {UserID: "b", AccountID: "e1"}}},
		conversation.MessagePosted{MessageID: "m1", SenderID: "a", SenderAccountID: "e1", KeyID: "k1", Sealed: sealed, At: day(2)},
		conversation.MessageEdited{MessageID: "m1", KeyID: "k2", Sealed: sealed, At: day(5)},
		conversation.MessagePosted{MessageID: "m2", SenderID: "b", SenderAccountID: "e1", KeyID: "k3", Sealed: sealed, At: day(6)},
		conversation.MessageRedacted{MessageID: "m1", By: "admin", At: day(7)})
	emit(room.StreamName("r1"), room.MemberAdded{MemberID: "a", MemberType: room.MemberUser, Role: "Member", At: day(1)},
		room.MessagePosted{MessageID: "m3", SenderID: "a", SenderType: room.MemberUser, KeyID: "k4", Sealed: sealed, At: day(3)},
		room.MessageRedacted{MessageID: "m3", By: "admin", At: day(8)})

	projectiontest.CatchUp(t, ctx, pool, client, chimeconversations.Projection{}, head)
	s := chimeconversations.NewStore(pool)
	type row struct {
		kind, message string
		sent          time.Time
	}
	want := []row{{chimeconversations.KindCreated, "", day(1)}, {chimeconversations.KindMessagePosted, "m1", day(2)},
		{chimeconversations.KindMessageEdited, "m1", day(2)}, {chimeconversations.KindMessagePosted, "m2", day(6)},
		{chimeconversations.KindMessageRedacted, "m1", day(2)}, {chimeconversations.KindMemberJoined, "", day(1)},
		{chimeconversations.KindMessagePosted, "m3", day(3)}, {chimeconversations.KindMessageRedacted, "m3", day(3)}}
	since, err := s.Since(ctx, 0, int64(head), 100)
	if err != nil {
		t.Fatal(err)
	}
	mine, err := s.ForMember(ctx, "a", 0, int64(head), 100)
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string][]chimeconversations.FeedItem{"Since": since, "ForMember": mine} {
		if len(got) != len(want) {
			t.Fatalf("%s: %d rows, want %d: %+v", name, len(got), len(want), got)
		}
		for i, w := range want {
			if g := got[i]; g.Kind != w.kind || g.MessageID != w.message || !g.SentAt.Equal(w.sent) {
				t.Errorf("%s row %d: %s %q sent %v, want %s %q sent %v", name, i, g.Kind, g.MessageID, g.SentAt, w.kind, w.message, w.sent)
			}
		}
	}
}
