package messaging_test

import (
	"cmp"
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

func (d dueStore) Due(_ context.Context, now time.Time, after wickrconversations.DueCursor, limit int) ([]wickrconversations.Due, error) {
	var out []wickrconversations.Due
	d.repo.Range(func(stream string, st conversation.State) {
		for id, m := range st.Messages {
			if m.Gone(now) {
				out = append(out, wickrconversations.Due{ConversationID: stream[len(conversation.StreamPrefix):], MessageID: id, KeyID: m.KeyID,
					Deadline: m.Deadline()})
			}
		}
	})
	order := func(a, b wickrconversations.DueCursor) int {
		return cmp.Or(a.Deadline.Compare(b.Deadline), cmp.Compare(a.ConversationID, b.ConversationID), cmp.Compare(a.MessageID, b.MessageID))
	}
	slices.SortFunc(out, func(a, b wickrconversations.Due) int { return order(a.Next(), b.Next()) })
	out = slices.DeleteFunc(out, func(x wickrconversations.Due) bool { return order(x.Next(), after) <= 0 })
	return out[:min(limit, len(out))], nil
}

// stuckBlobs holds one file per message; the files of the messages stuck cannot be removed (a file
// system that refuses them, every time).
type stuckBlobs struct {
	countingBlobs
	mu        sync.Mutex
	stuck     map[string]bool
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
	if b.stuck[a.MessageID] {
		return errors.New("remove: operation not permitted")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.discarded = append(b.discarded, a.MessageID)
	return nil
}

// expiryWorld is a world whose group has maxTtl 3600, with alice's direct message to carol.
func expiryWorld(t *testing.T) (*world, messaging.Caller, messaging.View) {
	t.Helper()
	g := sg.Defaults()
	g.MaxTTL = 3600
	w := newWorld(t, g, []string{"1", "2"}, nil)
	alice, carol := user("1"), user("2")
	dm, err := w.svc.Create(context.Background(), alice, conversation.KindDirect, "", []conversation.Participant{carol.Participant()})
	if err != nil {
		t.Fatal(err)
	}
	return w, alice, dm
}

// TestOneStuckMessageHoldsBackNoOtherExpiry: a message whose destruction fails every time (its
// file cannot be removed) is retried by the next sweep, and the messages due with it and after it
// are destroyed all the same: a sweep is a batch of the oldest deadlines, so one stuck message
// must not keep the batch — and every message due after it — from ever being destroyed.
func TestOneStuckMessageHoldsBackNoOtherExpiry(t *testing.T) {
	ctx := context.Background()
	w, alice, dm := expiryWorld(t)
	var ids []string
	for _, text := range []string{"first", "second", "third"} {
		m, err := w.svc.Post(ctx, alice, dm.ID, messaging.Draft{Text: text, TTL: 1})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.MessageID)
		time.Sleep(10 * time.Millisecond) // deadlines in posting order
	}
	blobs := &stuckBlobs{stuck: map[string]bool{ids[0]: true}}
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

// TestStuckMessagesFillingABatchHoldBackNoOther: stuck messages never leave (their files cannot be
// removed, every time), so they pile up at the head of the due list; once there are as many as a
// sweep's batch, they must still hold back no message due after them: the next sweep goes on past
// them, and they are retried once a sweep reaches the end.
func TestStuckMessagesFillingABatchHoldBackNoOther(t *testing.T) {
	ctx := context.Background()
	w, alice, dm := expiryWorld(t)
	var ids []string
	for _, text := range []string{"stuck 1", "stuck 2", "third", "fourth"} {
		m, err := w.svc.Post(ctx, alice, dm.ID, messaging.Draft{Text: text, TTL: 1})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.MessageID)
		time.Sleep(10 * time.Millisecond) // deadlines in posting order
	}
	blobs := &stuckBlobs{stuck: map[string]bool{ids[0]: true, ids[1]: true}}
	d := w.deps
	d.Store, d.Blobs = dueStore{convStore{w.convs}}, blobs
	x := messaging.New(d).Expiry()
	time.Sleep(1100 * time.Millisecond)
	for range 3 { // sweeps of two: the two stuck messages fill a batch
		_, _ = x.ExpireDue(ctx, 2)
	}
	left := w.convs.State(conversation.StreamName(dm.ID)).Messages
	if left[ids[2]] != nil || left[ids[3]] != nil {
		t.Fatalf("the messages due after a batch of stuck ones were never destroyed: %d left, files discarded %v", len(left), blobs.discarded)
	}
	if left[ids[0]] == nil || left[ids[1]] == nil {
		t.Fatal("a stuck message was recorded destroyed while its file stays")
	}
	if n, err := x.ExpireDue(ctx, 2); n != 0 || err == nil {
		t.Fatalf("the stuck messages' next sweep: %d destroyed, %v; want their errors again", n, err)
	}
}

// heldArchive holds the messages it names, as an archive that has yet to ship them.
type heldArchive struct {
	mu   sync.Mutex
	held map[string]bool
	seen int // messages asked about
}

func (a *heldArchive) Held(_ context.Context, due []wickrconversations.Due) (map[string]bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]bool{}
	for _, d := range due {
		a.seen++
		if a.held[d.MessageID] {
			out[d.MessageID] = true
		}
	}
	return out, nil
}

func (a *heldArchive) ship(id string) { a.mu.Lock(); delete(a.held, id); a.mu.Unlock() }

// TestArchiveKeepsKeysUntilShipped: a gone message the data-retention archive has yet to ship keeps
// its key, and more of them than a sweep's batch hold back no other message's destruction; once shipped it goes, and so does one held past MaxArchiveHold.
func TestArchiveKeepsKeysUntilShipped(t *testing.T) {
	ctx := context.Background()
	w, alice, dm := expiryWorld(t)
	archive := &heldArchive{held: map[string]bool{}}
	var ids []string
	for i := range 5 {
		m, err := w.svc.Post(ctx, alice, dm.ID, messaging.Draft{Text: "message", TTL: 1})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.MessageID)
		if i < 3 {
			archive.held[m.MessageID] = true // the three oldest: more than a batch of two
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(1100 * time.Millisecond) // the command path's clock is the machine's
	var ahead time.Duration
	d := w.deps
	d.Store, d.Archive, d.Now = dueStore{convStore{w.convs}}, archive, func() time.Time { return time.Now().Add(ahead) }
	x := messaging.New(d).Expiry()
	left := func() map[string]*conversation.Message { return w.convs.State(conversation.StreamName(dm.ID)).Messages }
	if n, err := x.ExpireDue(ctx, 2); n != 2 || err != nil || left()[ids[3]] != nil || left()[ids[4]] != nil {
		t.Fatalf("the messages the archive does not hold: %d destroyed, %v; %d left", n, err, len(left()))
	}
	if n, err := x.ExpireDue(ctx, 2); n != 0 || err != nil || len(left()) != 3 {
		t.Fatalf("held messages were destroyed: %d, %v; %d left", n, err, len(left()))
	}
	archive.ship(ids[0])
	if n, err := x.ExpireDue(ctx, 2); n != 1 || err != nil || left()[ids[0]] != nil {
		t.Fatalf("a shipped message: %d destroyed, %v", n, err)
	}
	ahead = messaging.MaxArchiveHold
	if n, err := x.ExpireDue(ctx, 2); n != 2 || err != nil || len(left()) != 0 {
		t.Fatalf("messages held past MaxArchiveHold: %d destroyed, %v; %d left", n, err, len(left()))
	}
}

// TestManyHeldMessagesHoldBackNoOther: more held messages than a sweep reads (maxDuePages pages
// of its batch) hold back no message due after them: the next sweep goes on past them, and a
// sweep that reaches the end starts again from the oldest, so a held one shipped since goes too.
func TestManyHeldMessagesHoldBackNoOther(t *testing.T) {
	ctx := context.Background()
	w, alice, dm := expiryWorld(t)
	archive := &heldArchive{held: map[string]bool{}}
	var ids []string
	for range 30 { // 30 batches of one: more pages than a sweep reads
		m, err := w.svc.Post(ctx, alice, dm.ID, messaging.Draft{Text: "held", TTL: 1})
		if err != nil {
			t.Fatal(err)
		}
		ids, archive.held[m.MessageID] = append(ids, m.MessageID), true
	}
	time.Sleep(10 * time.Millisecond)
	free, err := w.svc.Post(ctx, alice, dm.ID, messaging.Draft{Text: "not archived", TTL: 1})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	d := w.deps
	d.Store, d.Archive = dueStore{convStore{w.convs}}, archive
	x := messaging.New(d).Expiry()
	left := func() map[string]*conversation.Message { return w.convs.State(conversation.StreamName(dm.ID)).Messages }
	for range 2 {
		_, _ = x.ExpireDue(ctx, 1)
	}
	if left()[free.MessageID] != nil || len(left()) != 30 {
		t.Fatalf("the message due after 30 held ones: still there after two sweeps (%d messages left)", len(left()))
	}
	archive.ship(ids[0])
	for range 2 {
		_, _ = x.ExpireDue(ctx, 1)
	}
	if left()[ids[0]] != nil || len(left()) != 29 {
		t.Fatalf("a held message shipped since: still there after two sweeps (%d messages left)", len(left()))
	}
}
