package messaging_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry/api/wickr/messaging"
	"github.com/belfry/belfry/domain/chime/attachment"
	"github.com/belfry/belfry/domain/wickr/conversation"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
	"github.com/belfry/belfry/projections/wickrconversations"
)

// dueStore answers Due from the conversations' states, oldest deadline first, like the read model.
type dueStore struct{ convStore }

func (d dueStore) Due(_ context.Context, now time.Time, limit int) ([]wickrconversations.Due, error) {
	type due struct {
		wickrconversations.Due
		at time.Time
	}
	var out []due
	d.repo.Range(func(stream string, st conversation.State) {
		for id, m := range st.Messages {
			if m.Gone(now) {
				out = append(out, due{wickrconversations.Due{ConversationID: stream[len(conversation.StreamPrefix):], MessageID: id, KeyID: m.KeyID}, m.Deadline()})
			}
		}
	})
	slices.SortFunc(out, func(a, b due) int { return a.at.Compare(b.at) })
	list := make([]wickrconversations.Due, 0, limit)
	for _, x := range out[:min(limit, len(out))] {
		list = append(list, x.Due)
	}
	return list, nil
}

// stuckBlobs holds one file per message; the file of message stuck cannot be removed (a file
// system that refuses it, every time).
type stuckBlobs struct {
	countingBlobs
	mu        sync.Mutex
	stuck     string
	discarded []string
}

func (b *stuckBlobs) ForMessages(_ context.Context, ids []string) (map[string][]attachment.Stored, error) {
	out := map[string][]attachment.Stored{}
	for _, id := range ids {
		out[id] = []attachment.Stored{{AttachmentID: "att-" + id, MessageID: id, Container: messaging.Container, KeyID: "file-key-" + id}}
	}
	return out, nil
}

func (b *stuckBlobs) Discard(_ context.Context, a attachment.Stored) error {
	if a.MessageID == b.stuck {
		return errors.New("remove: operation not permitted")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.discarded = append(b.discarded, a.MessageID)
	return nil
}

// TestOneStuckMessageHoldsBackNoOtherExpiry: a message whose destruction fails every time (its
// file cannot be removed) is retried by the next sweep, and the messages due with it and after it
// are destroyed all the same: a sweep is a batch of the oldest deadlines, so one stuck message
// must not keep the batch — and every message due after it — from ever being destroyed.
func TestOneStuckMessageHoldsBackNoOtherExpiry(t *testing.T) {
	ctx := context.Background()
	g := sg.Defaults()
	g.MaxTTL = 3600
	w := newWorld(t, g, []string{"1", "2"}, nil)
	alice, carol := user("1"), user("2")
	dm, err := w.svc.Create(ctx, alice, conversation.KindDirect, "", []conversation.Participant{carol.Participant()})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, text := range []string{"first", "second", "third"} {
		m, err := w.svc.Post(ctx, alice, dm.ID, messaging.Draft{Text: text, TTL: 1})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.MessageID)
		time.Sleep(10 * time.Millisecond) // deadlines in posting order
	}
	blobs := &stuckBlobs{stuck: ids[0]}
	d := w.deps
	d.Store, d.Blobs = dueStore{convStore{w.convs}}, blobs
	x := messaging.New(d).Expiry()
	time.Sleep(1100 * time.Millisecond)
	for range 3 { // sweeps of two: the stuck message first in every batch
		_, _ = x.ExpireDue(ctx, 2)
	}
	left := w.convs.State(conversation.StreamName(dm.ID)).Messages
	if left[ids[1]] != nil || left[ids[2]] != nil {
		t.Fatalf("the messages due with and after the stuck one were never destroyed: %d left, files discarded %v", len(left), blobs.discarded)
	}
	if left[ids[0]] == nil {
		t.Fatal("the stuck message was recorded destroyed while its file stays")
	}
	if n, err := x.ExpireDue(ctx, 2); n != 0 || err == nil {
		t.Fatalf("the stuck message's next sweep: %d destroyed, %v; want its error again", n, err)
	}
}
