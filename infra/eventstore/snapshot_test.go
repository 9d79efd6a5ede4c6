package eventstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/infra/eventlog/eventlogtest"
	"github.com/belfry/belfry/infra/eventstore"
)

// tally is a decider whose state holds a map that Evolve updates in place, as the account's does.
type tally struct {
	N    int
	Seen map[string]int
}

type mark struct{ Key string }

var tallyDecider = eventstore.Decider[tally, mark, mark]{
	Initial: func() tally { return tally{} },
	Evolve: func(s tally, e mark) tally {
		if s.Seen == nil {
			s.Seen = map[string]int{}
		}
		s.N++
		s.Seen[e.Key]++
		return s
	},
	Decide: func(_ tally, c mark, _ time.Time) ([]mark, error) { return []mark{c}, nil },
	Decode: func(_ string, b []byte) (mark, error) {
		var e mark
		err := json.Unmarshal(b, &e)
		return e, err
	},
	Type: func(mark) string { return "test.mark.v1" },
}

// tallyCodec is JSON; version is what it claims; every Encode is announced on encoding (when set).
type tallyCodec struct {
	version  int
	encoding chan struct{}
}

func (c tallyCodec) Version() int { return c.version }
func (c tallyCodec) Encode(s tally) ([]byte, error) {
	if c.encoding != nil {
		c.encoding <- struct{}{}
	}
	return json.Marshal(s)
}
func (c tallyCodec) Decode(b []byte) (tally, error) {
	var s tally
	err := json.Unmarshal(b, &s)
	return s, err
}

type snapEnv struct {
	pool   *pgxpool.Pool
	client *esdb.Client
	store  *eventstore.PGSnapshots
}

func newSnapEnv(t *testing.T) snapEnv {
	pool, c := eventlogtest.Start(t)
	return snapEnv{pool: pool, client: c, store: eventstore.NewSnapshotStore(pool)}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func (e snapEnv) repo(every int64, codec tallyCodec) *eventstore.Repository[tally, mark, mark] {
	return eventstore.NewRepository(e.client, tallyDecider, nil).
		WithSnapshots(eventstore.Snapshots[tally]{Store: e.store, Codec: codec, Every: every, Interval: -1, Logger: quiet})
}

// fullFold loads the stream through a repository without snapshots.
func (e snapEnv) fullFold(t *testing.T, stream string) (tally, int64) {
	t.Helper()
	s, rev, err := eventstore.NewRepository(e.client, tallyDecider, nil).Load(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	return s, rev
}

func execute(t *testing.T, r *eventstore.Repository[tally, mark, mark], stream string, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, err := r.Execute(context.Background(), stream, mark{Key: k}); err != nil {
			t.Fatal(err)
		}
	}
}

func keys(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("k%d", i%7)
	}
	return out
}

// TestSnapshotPlusTailEqualsTheFullFold: a restarted repository starts from the latest snapshot, folds
// only the events after it, and reaches the state the full fold reaches.
func TestSnapshotPlusTailEqualsTheFullFold(t *testing.T) {
	e := newSnapEnv(t)
	ctx := context.Background()
	first := e.repo(5, tallyCodec{version: 1})
	execute(t, first, "test.tally-1", keys(23)...)
	first.WaitSnapshots()
	// One snapshot in flight per stream: a due snapshot is skipped while the previous write still
	// runs (how many depends on the machine's timing), so only "some, none failed" is certain.
	if st := first.SnapshotStats(); st.Taken < 1 || st.Failed != 0 {
		t.Fatalf("23 events, a snapshot every 5: %+v", st)
	}
	snap, ok, err := e.store.LoadSnapshot(ctx, "test.tally-1")
	if err != nil || !ok || snap.Revision < 4 || snap.Revision > 22 || snap.Version != 1 {
		t.Fatalf("the latest snapshot: %+v %v %v", snap.Revision, ok, err)
	}
	restarted := e.repo(5, tallyCodec{version: 1})
	got, rev, err := restarted.Load(ctx, "test.tally-1")
	want, wantRev := e.fullFold(t, "test.tally-1")
	if err != nil || rev != wantRev || !reflect.DeepEqual(got, want) || want.N != 23 {
		t.Fatalf("snapshot+tail %+v@%d (%v), full fold %+v@%d", got, rev, err, want, wantRev)
	}
	if st := restarted.SnapshotStats(); st.Used != 1 || st.Ignored+st.Corrupt+st.Failed != 0 {
		t.Fatalf("the restarted repository did not start from the snapshot: %+v", st)
	}
	// Commands go on from the restored state (its map is live).
	execute(t, restarted, "test.tally-1", "k1", "new")
	got, _, _ = restarted.Load(ctx, "test.tally-1")
	if want, _ := e.fullFold(t, "test.tally-1"); !reflect.DeepEqual(got, want) || got.Seen["new"] != 1 {
		t.Fatalf("after more commands: %+v, full fold %+v", got, want)
	}
	// One repository takes at most one snapshot of a stream per Interval.
	paced := eventstore.NewRepository(e.client, tallyDecider, nil).WithSnapshots(eventstore.Snapshots[tally]{
		Store: e.store, Codec: tallyCodec{version: 1}, Every: 5, Interval: time.Hour, Logger: quiet})
	execute(t, paced, "test.tally-paced", keys(23)...)
	paced.WaitSnapshots()
	if st := paced.SnapshotStats(); st.Taken != 1 {
		t.Fatalf("23 events, Every 5, Interval an hour: %+v", st)
	}
	// Short streams are never snapshotted.
	execute(t, first, "test.tally-short", keys(4)...)
	first.WaitSnapshots()
	if _, ok, _ := e.store.LoadSnapshot(ctx, "test.tally-short"); ok {
		t.Fatal("a stream shorter than Every was snapshotted")
	}
}

// TestUnusableSnapshotsFallBackToTheFullFold: a snapshot of another codec version, one that does not
// decode, one whose last event the stream does not hold, and an unreadable store all fold the whole
// stream, never fail the load.
func TestUnusableSnapshotsFallBackToTheFullFold(t *testing.T) {
	e := newSnapEnv(t)
	ctx := context.Background()
	execute(t, e.repo(1000, tallyCodec{version: 1}), "test.tally-2", keys(9)...)
	want, wantRev := e.fullFold(t, "test.tally-2")
	good, _ := json.Marshal(tally{N: 1, Seen: map[string]int{"bogus": 1}})
	lastID := lastEventID(t, e.client, "test.tally-2")
	cases := []struct {
		name  string
		snap  eventstore.Snapshot
		count func(eventstore.SnapshotStats) int64
	}{
		{"another version", eventstore.Snapshot{Revision: 8, EventID: lastID, Version: 2, Data: good}, func(s eventstore.SnapshotStats) int64 { return s.Ignored }},
		{"corrupt", eventstore.Snapshot{Revision: 8, EventID: lastID, Version: 1, Data: []byte("{not json")}, func(s eventstore.SnapshotStats) int64 { return s.Corrupt }},
		{"another event at its revision", eventstore.Snapshot{Revision: 8, EventID: uuid.New(), Version: 1, Data: good}, func(s eventstore.SnapshotStats) int64 { return s.Ignored }},
		{"beyond the stream's end", eventstore.Snapshot{Revision: 50, EventID: lastID, Version: 1, Data: good}, func(s eventstore.SnapshotStats) int64 { return s.Ignored }},
	}
	for _, c := range cases {
		if err := e.store.SaveSnapshot(ctx, "test.tally-2", c.snap); err != nil {
			t.Fatal(err)
		}
		r := e.repo(1000, tallyCodec{version: 1})
		got, rev, err := r.Load(ctx, "test.tally-2")
		if err != nil || rev != wantRev || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: %+v@%d (%v), want the full fold %+v@%d", c.name, got, rev, err, want, wantRev)
		}
		if st := r.SnapshotStats(); c.count(st) != 1 || st.Used != 0 {
			t.Fatalf("%s: stats %+v", c.name, st)
		}
	}
	if _, err := e.pool.Exec(ctx, "DROP TABLE eventstore.snapshots"); err != nil {
		t.Fatal(err)
	}
	r := e.repo(1000, tallyCodec{version: 1})
	got, rev, err := r.Load(ctx, "test.tally-2")
	if err != nil || rev != wantRev || !reflect.DeepEqual(got, want) || r.SnapshotStats().Failed != 1 {
		t.Fatalf("unreadable store: %+v@%d (%v) %+v", got, rev, err, r.SnapshotStats())
	}
}

func lastEventID(t *testing.T, c *esdb.Client, stream string) uuid.UUID {
	t.Helper()
	rs, err := c.ReadStream(context.Background(), stream, esdb.ReadStreamOptions{From: esdb.End{}, Direction: esdb.Backwards}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	ev, err := rs.Recv()
	if err != nil {
		t.Fatal(err)
	}
	return ev.Event.EventID
}

// TestRecreatedStreamIgnoresItsOldSnapshot: after a delete, a recreated stream continues the deleted
// revisions; its old snapshot (of deleted events) must not be the base of its state.
func TestRecreatedStreamIgnoresItsOldSnapshot(t *testing.T) {
	e := newSnapEnv(t)
	ctx := context.Background()
	r := e.repo(3, tallyCodec{version: 1})
	execute(t, r, "test.tally-3", keys(7)...)
	r.WaitSnapshots()
	if _, ok, _ := e.store.LoadSnapshot(ctx, "test.tally-3"); !ok {
		t.Fatal("no snapshot taken")
	}
	if _, err := e.client.DeleteStream(ctx, "test.tally-3", esdb.DeleteStreamOptions{ExpectedRevision: esdb.Revision(6)}); err != nil {
		t.Fatal(err)
	}
	execute(t, eventstore.NewRepository(e.client, tallyDecider, nil), "test.tally-3", "after")
	fresh := e.repo(3, tallyCodec{version: 1})
	got, rev, err := fresh.Load(ctx, "test.tally-3")
	if err != nil || rev != 7 || !reflect.DeepEqual(got, tally{N: 1, Seen: map[string]int{"after": 1}}) {
		t.Fatalf("recreated stream loaded as %+v@%d (%v), want only the event after the delete at revision 7", got, rev, err)
	}
	if st := fresh.SnapshotStats(); st.Ignored != 1 || st.Used != 0 {
		t.Fatalf("stats %+v", st)
	}
	// A deleted stream that was not recreated loads as no stream, snapshot or not.
	execute(t, r, "test.tally-4", keys(4)...)
	r.WaitSnapshots()
	if _, err := e.client.DeleteStream(ctx, "test.tally-4", esdb.DeleteStreamOptions{ExpectedRevision: esdb.Revision(3)}); err != nil {
		t.Fatal(err)
	}
	if got, rev, err := e.repo(3, tallyCodec{version: 1}).Load(ctx, "test.tally-4"); err != nil || rev != -1 || got.N != 0 {
		t.Fatalf("deleted stream: %+v@%d (%v)", got, rev, err)
	}
}

// blockingStore holds every SaveSnapshot until release is closed.
type blockingStore struct {
	*eventstore.PGSnapshots
	release chan struct{}
}

func (b blockingStore) SaveSnapshot(ctx context.Context, stream string, s eventstore.Snapshot) error {
	<-b.release
	return b.PGSnapshots.SaveSnapshot(ctx, stream, s)
}

// TestCommandsDuringSnapshotsAreNotLost: commands keep running, from two repositories, while
// snapshots are encoded and while their writes hang; every acknowledged command is in the state a
// restarted repository loads from the snapshot and the tail. (Run with -race: a snapshot encoded
// while a command evolves the same map would be reported.)
func TestCommandsDuringSnapshotsAreNotLost(t *testing.T) {
	e := newSnapEnv(t)
	ctx := context.Background()
	release := make(chan struct{})
	encoding := make(chan struct{}, 1000)
	slow := eventstore.NewRepository(e.client, tallyDecider, nil).WithSnapshots(eventstore.Snapshots[tally]{
		Store: blockingStore{e.store, release}, Codec: tallyCodec{version: 1, encoding: encoding}, Every: 2, Interval: -1, Logger: quiet})
	other := e.repo(3, tallyCodec{version: 1})
	// While the first snapshot's write hangs, commands on the stream go on.
	execute(t, slow, "test.tally-5", keys(3)...)
	<-encoding
	execute(t, slow, "test.tally-5", keys(5)...)
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := 8
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := slow
			if i%3 == 0 {
				r = other
			}
			if _, err := r.Execute(ctx, "test.tally-5", mark{Key: fmt.Sprintf("c%d", i%5)}); err == nil {
				mu.Lock()
				acked++
				mu.Unlock()
			} else if !errors.Is(err, eventstore.ErrConcurrency) {
				t.Errorf("command %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	close(release)
	slow.WaitSnapshots()
	other.WaitSnapshots()
	if st := slow.SnapshotStats(); st.Taken == 0 || st.Failed != 0 {
		t.Fatalf("slow repository: %+v", st)
	}
	want, _ := e.fullFold(t, "test.tally-5")
	got, _, err := e.repo(3, tallyCodec{version: 1}).Load(ctx, "test.tally-5")
	if err != nil || !reflect.DeepEqual(got, want) || got.N != acked {
		t.Fatalf("acked %d; from the snapshot %+v (%v); full fold %+v", acked, got, err, want)
	}
}

// TestSnapshotCachedLeavesNoTail: at a clean stop every cached stream of at least Every events is
// snapshotted at its head, so the next start folds nothing after the snapshot; short streams and
// streams already snapshotted at their head are left alone.
func TestSnapshotCachedLeavesNoTail(t *testing.T) {
	e := newSnapEnv(t)
	ctx := context.Background()
	r := eventstore.NewRepository(e.client, tallyDecider, nil).WithSnapshots(eventstore.Snapshots[tally]{
		Store: e.store, Codec: tallyCodec{version: 1}, Every: 10, Interval: time.Hour, Logger: quiet})
	execute(t, r, "test.tally-long", keys(27)...)
	execute(t, r, "test.tally-short", keys(6)...)
	r.WaitSnapshots()
	before, _, _ := e.store.LoadSnapshot(ctx, "test.tally-long")
	if n := r.SnapshotCached(ctx); n != 1 {
		t.Fatalf("SnapshotCached wrote %d snapshots, want 1 (the long stream)", n)
	}
	snap, ok, err := e.store.LoadSnapshot(ctx, "test.tally-long")
	if err != nil || !ok || snap.Revision != 26 || snap.Revision == before.Revision {
		t.Fatalf("the long stream's snapshot after the stop: rev %d (before %d) %v %v", snap.Revision, before.Revision, ok, err)
	}
	if _, ok, _ := e.store.LoadSnapshot(ctx, "test.tally-short"); ok {
		t.Fatal("a stream shorter than Every was snapshotted at the stop")
	}
	if n := r.SnapshotCached(ctx); n != 0 {
		t.Fatalf("a second stop with nothing new wrote %d snapshots", n)
	}
	restarted := e.repo(10, tallyCodec{version: 1})
	got, rev, err := restarted.Load(ctx, "test.tally-long")
	want, wantRev := e.fullFold(t, "test.tally-long")
	if err != nil || rev != wantRev || !reflect.DeepEqual(got, want) {
		t.Fatalf("restart from the stop's snapshot %+v@%d (%v), full fold %+v@%d", got, rev, err, want, wantRev)
	}
	if st := restarted.SnapshotStats(); st.Used != 1 {
		t.Fatalf("the restart did not use the snapshot: %+v", st)
	}
	// A cancelled context writes nothing.
	execute(t, r, "test.tally-long", "more")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if n := r.SnapshotCached(cancelled); n != 0 {
		t.Fatalf("a cancelled stop wrote %d snapshots", n)
	}
}

// staleHeadStore reports, as the head, the snapshot saved before the one whose data it returns (as
// when a snapshot is saved between the batch's two statements).
type staleHeadStore struct {
	*eventstore.PGSnapshots
	head eventstore.Snapshot
}

func (s staleHeadStore) LoadSnapshotAfterHead(ctx context.Context, stream string, head func(eventstore.Snapshot)) (eventstore.Snapshot, bool, error) {
	head(s.head)
	return s.PGSnapshots.LoadSnapshot(ctx, stream)
}

// headlessStore is a SnapshotStore that cannot tell a head first.
type headlessStore struct{ eventstore.SnapshotStore }

// TestSnapshotLoadWhateverTheHead: the events after a snapshot are read from the head the store tells
// before the data; a head that turns out to be an older snapshot's, or none at all, still gives the
// full fold's state from the snapshot the data hold.
func TestSnapshotLoadWhateverTheHead(t *testing.T) {
	e := newSnapEnv(t)
	ctx := context.Background()
	const stream = "test.tally-head"
	first := e.repo(5, tallyCodec{version: 1})
	execute(t, first, stream, keys(8)...)
	first.WaitSnapshots()
	old, ok, err := e.store.LoadSnapshot(ctx, stream)
	if err != nil || !ok {
		t.Fatalf("the first snapshot: %v %v", ok, err)
	}
	execute(t, first, stream, keys(9)...)
	first.WaitSnapshots()
	if now, _, _ := e.store.LoadSnapshot(ctx, stream); now.Revision <= old.Revision {
		t.Fatalf("no later snapshot: %d then %d", old.Revision, now.Revision)
	}
	want, wantRev := e.fullFold(t, stream)
	for name, store := range map[string]eventstore.SnapshotStore{"the store's head": e.store,
		"an older snapshot's head": staleHeadStore{e.store, old}, "no head": headlessStore{e.store}} {
		r := eventstore.NewRepository(e.client, tallyDecider, nil).WithSnapshots(eventstore.Snapshots[tally]{
			Store: store, Codec: tallyCodec{version: 1}, Every: 5, Interval: -1, Logger: quiet})
		got, rev, err := r.Load(ctx, stream)
		if err != nil || rev != wantRev || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: %+v@%d (%v), full fold %+v@%d", name, got, rev, err, want, wantRev)
		}
		if st := r.SnapshotStats(); st.Used != 1 || st.Ignored+st.Corrupt+st.Failed != 0 {
			t.Fatalf("%s: the load did not start from the snapshot: %+v", name, st)
		}
	}
}
