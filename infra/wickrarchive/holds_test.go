package wickrarchive_test

import (
	"context"
	"testing"
	"time"

	"github.com/belfry/belfry/infra/objstore"
	"github.com/belfry/belfry/infra/wickrarchive"
	"github.com/belfry/belfry/projections"
	rm "github.com/belfry/belfry/projections/wickrarchive"
	"github.com/belfry/belfry/projections/wickrconversations"
)

// TestHoldsWaitForTheShipment: a gone message's key waits while a network's archive has an item of
// it not yet shipped to this target, or while the read model has not applied its post; a message no
// archive keeps, or one shipped, is not held.
func TestHoldsWaitForTheShipment(t *testing.T) {
	ctx := context.Background()
	pool, keys := archiveEnv(t)
	if _, _, err := projections.Ensure(ctx, pool, rm.Projection{}); err != nil {
		t.Fatal(err)
	}
	for _, it := range []struct {
		network, message string
		seq              int64
	}{{"11111111", "shipped", 10}, {"11111111", "pending", 20}, {"22222222", "shipped", 10}} {
		if _, err := pool.Exec(ctx, `INSERT INTO rm.wickr_archive_items (network_id, seq, conversation_id, message_id, sender_key, key_id, sealed, ttl, bor, at)
			VALUES ($1, $2, 'c1', $3, 'u:11111111:1', 'k', '\x00', 1, 0, now())`, it.network, it.seq, it.message); err != nil {
			t.Fatal(err)
		}
	}
	src := &items{}
	target := objstore.DirTarget{Dir: t.TempDir(), Name: "archive"}
	shipper := wickrarchive.New(src, keys, target, pool, wickrarchive.Config{Now: time.Now})
	holds := wickrarchive.Holds{Shipper: shipper, Applied: func() uint64 { return 100 }}
	due := []wickrconversations.Due{{MessageID: "shipped", Position: 10}, {MessageID: "pending", Position: 20},
		{MessageID: "not-archived", Position: 30}, {MessageID: "not-projected", Position: 200}}
	held := func() map[string]bool {
		t.Helper()
		h, err := holds.Held(ctx, due)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	// Nothing shipped yet: both archived messages wait, and so does the one the read model has not reached.
	if h := held(); len(h) != 3 || !h["shipped"] || !h["pending"] || !h["not-projected"] {
		t.Fatalf("before any shipment: %v", h)
	}
	// Both networks ship up to seq 10 (a real shipment, through the shipper's own state).
	src.rows = []rm.Item{{NetworkID: "11111111", ConversationID: "c1", MessageID: "shipped", SenderKey: "u:11111111:1", KeyID: "gone", Seq: 10, At: time.Now()},
		{NetworkID: "22222222", ConversationID: "c1", MessageID: "shipped", SenderKey: "u:11111111:1", KeyID: "gone", Seq: 10, At: time.Now()}}
	if _, err := shipper.Round(ctx); err != nil {
		t.Fatal(err)
	}
	if h := held(); len(h) != 2 || !h["pending"] || !h["not-projected"] {
		t.Fatalf("after shipping seq 10: %v", h)
	}
}
