package wickrconversations_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/belfry/belfry/domain/wickr/conversation"
	"github.com/belfry/belfry/infra/eventlog/eventlogtest"
	"github.com/belfry/belfry/projections/projectiontest"
	"github.com/belfry/belfry/projections/wickrconversations"
)

// TestAGuestsOldRoomHasAUserModerator: a room a guest created before rooms had moderators shows the
// moderator the domain folds (conversation.Created.FirstModerator), never the guest.
func TestAGuestsOldRoomHasAUserModerator(t *testing.T) {
	pool, client := eventlogtest.Start(t)
	ctx := context.Background()
	g := conversation.Participant{GuestHash: "f00d"}
	a := conversation.Participant{NetworkID: "n1", UserID: "a"}
	b := conversation.Participant{NetworkID: "n1", UserID: "b"}
	e := conversation.Created{ConversationID: "r1", Kind: conversation.KindRoom, Title: "Old", CreatedBy: g,
		Members: []conversation.Participant{g, b, a}, At: time.Date(2026, 5, 2, 12, 0, 0, 0, time.UTC)}
	raw, _ := json.Marshal(e)
	res, err := client.AppendToStream(ctx, conversation.StreamName("r1"), esdb.AppendToStreamOptions{},
		esdb.EventData{EventID: uuid.New(), EventType: e.EventType(), ContentType: esdb.ContentTypeJson, Data: raw})
	if err != nil {
		t.Fatal(err)
	}
	projectiontest.CatchUp(t, ctx, pool, client, wickrconversations.Projection{}, res.CommitPosition)
	ms, err := wickrconversations.NewStore(pool).Members(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	var mods []string
	for _, m := range ms {
		if m.Moderator {
			mods = append(mods, m.Key)
		}
	}
	if len(mods) != 1 || mods[0] != a.Key() {
		t.Fatalf("moderators %v, want %s alone", mods, a.Key())
	}
}
