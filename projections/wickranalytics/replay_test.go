package wickranalytics_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	wconv "github.com/belfry/belfry/domain/wickr/conversation"
	"github.com/belfry/belfry/domain/wickr/network"
	"github.com/belfry/belfry/domain/wickr/roster"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
	"github.com/belfry/belfry/projections/projectiontest"
	"github.com/belfry/belfry/projections/wickranalytics"
)

// TestAnEventAppliedTwiceChangesNothing: the package's invariant — an event applied twice in a row
// changes nothing the second time — holds for every event it counts, messages included: a message
// redelivered is one unique message (guide §20), not two.
func TestAnEventAppliedTwiceChangesNothing(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	const id = "34567890"
	var evs []*esdb.RecordedEvent
	add := func(stream string, e interface{ EventType() string }) {
		data, _ := json.Marshal(e)
		evs = append(evs, &esdb.RecordedEvent{StreamID: stream, EventType: e.EventType(), Data: data, CreatedDate: date(2),
			Position: esdb.Position{Commit: uint64(len(evs) + 1)}})
	}
	member := wconv.Participant{NetworkID: id, UserID: "1001"}
	add(network.StreamName(id), network.Created{NetworkID: id, Name: "Twice", AwsAccountID: "111122223333", Region: "us-east-1", AccessLevel: network.Premium, At: date(2)})
	add(roster.StreamName(id, "1001"), roster.UserInvited{NetworkID: id, UserID: "1001", Username: "a@example.com", GroupID: "g", InviteExpiresAt: date(9), At: date(2)})
	add(roster.StreamName(id, "1001"), roster.SignedIn{UserID: "1001", AppID: "a1", At: date(3)})
	add(wconv.StreamName("c1"), wconv.MessagePosted{MessageID: "m1", Seq: 1, Sender: member, At: date(3)})
	add(wconv.StreamName("c1"), wconv.MessagePosted{MessageID: "m2", Seq: 2, Sender: member, Attachment: &wconv.Attachment{ContentType: "audio/aac", Size: 10}, At: date(3)})
	add(wconv.StreamName("c2"), wconv.MessagePosted{MessageID: "m1", Seq: 1, Sender: member, At: date(4)})
	build := func(schema string, twice bool) string {
		return projectiontest.Build(ctx, t, pool, wickranalytics.Projection{}, schema, func(b *pgx.Batch, schema string) error {
			for _, ev := range evs {
				for range map[bool]int{false: 1, true: 2}[twice] {
					if err := (wickranalytics.Projection{}).Apply(b, schema, ev); err != nil {
						return err
					}
				}
			}
			return nil
		})
	}
	once, twice := build("once", false), build("twice", true)
	if once != twice {
		t.Fatalf("each event applied twice left\n%s\nonce left\n%s", twice, once)
	}
}
