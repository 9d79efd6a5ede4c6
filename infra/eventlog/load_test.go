package eventlog_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/belfry/belfry/infra/eventlog"
)

// TestConcurrentWritersOneStream: writers race for each revision of one stream; exactly one wins each.
func TestConcurrentWritersOneStream(t *testing.T) {
	e := startEnv(t, eventlog.Config{})
	ctx := context.Background()
	const writers, revisions = 8, 40
	wins := make([]atomic.Int32, revisions)
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for rev := 0; rev < revisions; rev++ {
				var expect esdb.ExpectedRevision = esdb.NoStream{}
				if rev > 0 {
					expect = esdb.Revision(uint64(rev - 1))
				}
				for {
					_, err := e.client.AppendToStream(ctx, "contended", esdb.AppendToStreamOptions{ExpectedRevision: expect}, ev("t", fmt.Sprintf(`{"w":%d,"rev":%d}`, w, rev)))
					if err == nil {
						wins[rev].Add(1)
						break
					}
					if esdbCode(err) == esdb.ErrorCodeWrongExpectedVersion {
						break // someone else took this revision
					}
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	for rev := range wins {
		if n := wins[rev].Load(); n != 1 {
			t.Fatalf("revision %d won %d times", rev, n)
		}
	}
	evs, err := readAllStream(t, e.client, "contended", esdb.ReadStreamOptions{}, 1000)
	if err != nil || len(evs) != revisions {
		t.Fatalf("stream has %d events (%v)", len(evs), err)
	}
}

type payload struct {
	Writer int `json:"w"`
	Seq    int `json:"s"`
}

// TestManyWritersWithLiveSubscription: 32 writers on many streams with random delays; a $all
// subscription started during the load sees every event exactly once, in order, across the
// catch-up to live switch; $all read afterwards is complete, ordered and has no duplicates.
func TestManyWritersWithLiveSubscription(t *testing.T) {
	e := startEnv(t, eventlog.Config{Log: eventlog.LogConfig{RingSize: 256}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const writers, perWriter = 32, 60
	total := writers * perWriter

	var wg sync.WaitGroup
	started := make(chan struct{})
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(w)))
			revs := map[string]int64{}
			for i := 0; i < perWriter; i++ {
				if w == 0 && i == perWriter/3 {
					close(started)
				}
				stream := fmt.Sprintf("load-%d-%d", w, rng.Intn(4))
				var expect esdb.ExpectedRevision = esdb.NoStream{}
				if r, ok := revs[stream]; ok {
					expect = esdb.Revision(uint64(r))
				}
				data, _ := json.Marshal(payload{Writer: w, Seq: i})
				res, err := e.client.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{ExpectedRevision: expect},
					esdb.EventData{EventID: uuid.New(), EventType: "load", ContentType: esdb.ContentTypeJson, Data: data})
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				revs[stream] = int64(res.NextExpectedVersion)
				time.Sleep(time.Duration(rng.Intn(3000)) * time.Microsecond)
			}
		}(w)
	}

	<-started
	sub, err := e.client.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: esdb.Start{}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	seen := map[uuid.UUID]bool{}
	lastSeq := map[int]int{}
	var lastPos uint64
	var caughtUp bool
	for len(seen) < total {
		msg := sub.Recv()
		if msg.SubscriptionDropped != nil {
			t.Fatalf("dropped after %d events: %v", len(seen), msg.SubscriptionDropped.Error)
		}
		if msg.CaughtUp != nil {
			caughtUp = true
		}
		if msg.EventAppeared == nil {
			continue
		}
		ev := msg.EventAppeared.Event
		if ev.Position.Commit != lastPos+1 {
			t.Fatalf("position %d after %d: gap or disorder", ev.Position.Commit, lastPos)
		}
		lastPos = ev.Position.Commit
		if seen[ev.EventID] {
			t.Fatalf("event %s delivered twice", ev.EventID)
		}
		seen[ev.EventID] = true
		var p payload
		_ = json.Unmarshal(ev.Data, &p)
		if prev, ok := lastSeq[p.Writer]; ok && p.Seq != prev+1 {
			t.Fatalf("writer %d: seq %d after %d", p.Writer, p.Seq, prev)
		}
		lastSeq[p.Writer] = p.Seq
	}
	wg.Wait()
	if !caughtUp {
		t.Error("subscription never reported caught-up")
	}
	all := readAll(t, e.client, esdb.ReadAllOptions{From: esdb.Start{}}, uint64(total+10))
	if len(all) != total {
		t.Fatalf("$all holds %d events, want %d", len(all), total)
	}
	ids := map[uuid.UUID]bool{}
	for i, x := range all {
		if x.Event.Position.Commit != uint64(i+1) || ids[x.Event.EventID] {
			t.Fatalf("$all entry %d: position %d duplicate=%v", i, x.Event.Position.Commit, ids[x.Event.EventID])
		}
		ids[x.Event.EventID] = true
	}
}

// TestRestartMidLoadLosesNothing: the server is stopped and restarted on the same database while
// writers append; every acknowledged append is there afterwards, and retries are idempotent.
func TestRestartMidLoadLosesNothing(t *testing.T) {
	e := startEnv(t, eventlog.Config{})
	addr := e.srv.Addr()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const writers, perWriter = 16, 50
	var mu sync.Mutex
	acked := map[uuid.UUID]bool{}
	// One client throughout: it reconnects by itself (given enough discovery attempts to outlast the restart).
	client := newClient(t, e.srv.URL()+"&maxDiscoverAttempts=600&discoveryInterval=100")
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			stream := fmt.Sprintf("restart-%d", w)
			for i := 0; i < perWriter; i++ {
				data := ev("r", fmt.Sprintf(`{"w":%d,"i":%d}`, w, i))
				var expect esdb.ExpectedRevision = esdb.NoStream{}
				if i > 0 {
					expect = esdb.Revision(uint64(i - 1))
				}
				for attempt := 0; ; attempt++ {
					_, err := client.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{ExpectedRevision: expect}, data)
					if err == nil {
						mu.Lock()
						acked[data.EventID] = true
						mu.Unlock()
						break
					}
					if attempt > 400 || ctx.Err() != nil {
						t.Errorf("writer %d event %d: giving up: %v", w, i, err)
						return
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
		}(w)
	}
	time.Sleep(150 * time.Millisecond)
	t0 := time.Now()
	if err := e.srv.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("server closed in %v", time.Since(t0))
	time.Sleep(100 * time.Millisecond)
	srv, err := eventlog.Start(context.Background(), e.pool, eventlog.Config{Addr: addr, Dir: e.dir})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	wg.Wait()
	nc := newClient(t, srv.URL())

	all := readAll(t, nc, esdb.ReadAllOptions{From: esdb.Start{}}, 1_000_000)
	stored := map[uuid.UUID]int{}
	for i, x := range all {
		if x.Event.Position.Commit != uint64(i+1) {
			t.Fatalf("gap at %d", i)
		}
		stored[x.Event.EventID]++
	}
	for id := range acked {
		if stored[id] != 1 {
			t.Fatalf("acknowledged event %s stored %d times", id, stored[id])
		}
	}
	if len(acked) != writers*perWriter || len(all) != writers*perWriter {
		t.Fatalf("acked %d stored %d, want %d", len(acked), len(all), writers*perWriter)
	}
}

func TestFilteredSubscriptions(t *testing.T) {
	e := startEnv(t, eventlog.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := 0; i < 100; i++ {
		stream := fmt.Sprintf("other.thing-%d", i)
		typ := "other.v1"
		if i%10 == 0 {
			stream = fmt.Sprintf("chime.account-%d", i)
			typ = "chime.account.created.v1"
		}
		if _, err := e.client.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, ev(typ, `{}`)); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name   string
		filter *esdb.SubscriptionFilter
	}{
		{"stream prefix", &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{"chime."}}},
		{"event type prefix", &esdb.SubscriptionFilter{Type: esdb.EventFilterType, Prefixes: []string{"chime.account."}}},
		{"regex", &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Regex: `^chime\.account-\d+$`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sub, err := e.client.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: esdb.Start{}, Filter: tc.filter, MaxSearchWindow: 8, CheckpointInterval: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			got, checkpoints := 0, 0
			var lastCheckpoint uint64
			for got < 10 || lastCheckpoint < 100 {
				m := sub.Recv()
				switch {
				case m.SubscriptionDropped != nil:
					t.Fatal(m.SubscriptionDropped.Error)
				case m.EventAppeared != nil:
					if m.EventAppeared.Event.EventType != "chime.account.created.v1" {
						t.Fatalf("filter let through %s", m.EventAppeared.Event.StreamID)
					}
					got++
				case m.CheckPointReached != nil:
					if m.CheckPointReached.Commit < lastCheckpoint {
						t.Fatal("checkpoints went backwards")
					}
					lastCheckpoint = m.CheckPointReached.Commit
					checkpoints++
				}
			}
			if got != 10 || checkpoints < 5 {
				t.Fatalf("got %d events and %d checkpoints", got, checkpoints)
			}
		})
	}
	// A stream subscription from a revision, then live.
	sub, err := e.client.SubscribeToStream(ctx, "chime.account-0", esdb.SubscribeToStreamOptions{From: esdb.Start{}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	go func() {
		time.Sleep(50 * time.Millisecond)
		_, _ = e.client.AppendToStream(ctx, "chime.account-0", esdb.AppendToStreamOptions{ExpectedRevision: esdb.Revision(0)}, ev("chime.account.updated.v1", `{}`))
	}()
	var revs []uint64
	for len(revs) < 2 {
		m := sub.Recv()
		if m.SubscriptionDropped != nil {
			t.Fatal(m.SubscriptionDropped.Error)
		}
		if m.EventAppeared != nil {
			revs = append(revs, m.EventAppeared.Event.EventNumber)
		}
	}
	if revs[0] != 0 || revs[1] != 1 {
		t.Fatalf("stream subscription revisions %v", revs)
	}
}
