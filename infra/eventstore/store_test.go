package eventstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/belfry/belfry/domain/envelope"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/infra/eventlog/eventlogtest"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// counter is a tiny decider: Add appends Added{N}; the state is the sum; Add with N<=0 is invalid.
type added struct{ N int }
type add struct{ N, Min int }

var errInvalid = &domain.Error{Kind: domain.KindInvalid, Msg: "n must be positive"}

var counter = eventstore.Decider[int, add, added]{
	Initial: func() int { return 0 },
	Evolve:  func(s int, e added) int { return s + e.N },
	Decide: func(s int, c add, _ time.Time) ([]added, error) {
		if c.N <= 0 || s < c.Min {
			return nil, errInvalid
		}
		return []added{{N: c.N}}, nil
	},
	Decode: func(t string, b []byte) (added, error) {
		var e added
		err := json.Unmarshal(b, &e)
		return e, err
	},
	Type: func(added) string { return "test.added.v1" },
}

func client(t *testing.T) *esdb.Client {
	_, c := eventlogtest.Start(t)
	return c
}

// TestCommandsFromTwoProcessesNeverLoseUpdates runs commands on one stream through two repositories
// (as two Belfry processes would): expected revisions and retries keep every acknowledged update.
func TestCommandsFromTwoProcessesNeverLoseUpdates(t *testing.T) {
	c := client(t)
	repos := []*eventstore.Repository[int, add, added]{
		eventstore.NewRepository(c, counter, nil), eventstore.NewRepository(c, counter, nil),
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := 0
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := repos[i%2].Execute(ctx, "test.counter-1", add{N: 1})
			if err == nil {
				mu.Lock()
				acked++
				mu.Unlock()
			} else if !errors.Is(err, eventstore.ErrConcurrency) {
				t.Errorf("command %d: %v", i, err)
			}
		}(i)
	}
	wg.Wait()
	fresh := eventstore.NewRepository(c, counter, nil)
	sum, rev, err := fresh.Load(ctx, "test.counter-1")
	if err != nil {
		t.Fatal(err)
	}
	if sum != acked || rev != int64(acked-1) {
		t.Fatalf("acked %d commands, stream holds sum %d at revision %d", acked, sum, rev)
	}
	if acked < 30 {
		t.Fatalf("only %d of 40 commands succeeded", acked)
	}
}

func TestRejectedCommandStoresNothingAndEnvelopeIsStamped(t *testing.T) {
	c := client(t)
	repo := eventstore.NewRepository(c, counter, func() time.Time { return time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC) })
	ctx := envelope.With(context.Background(), envelope.Envelope{ActorType: "accessKey", Actor: "AKIATEST", RequestID: "req-1", SourceIP: "127.0.0.1"})
	if _, err := repo.Execute(ctx, "test.counter-2", add{N: 0}); !errors.Is(err, errInvalid) {
		t.Fatalf("want invalid, got %v", err)
	}
	if _, rev, _ := repo.Load(ctx, "test.counter-2"); rev != -1 {
		t.Fatalf("a rejected command created the stream (revision %d)", rev)
	}
	res, err := repo.Execute(ctx, "test.counter-2", add{N: 5})
	if err != nil || res.State != 5 || res.Revision != 0 || res.Position == 0 {
		t.Fatalf("execute: %+v %v", res, err)
	}
	rs, err := c.ReadStream(ctx, "test.counter-2", esdb.ReadStreamOptions{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	ev, err := rs.Recv()
	if err != nil {
		t.Fatal(err)
	}
	env := envelope.Parse(ev.Event.UserMetadata)
	if env.Actor != "AKIATEST" || env.RequestID != "req-1" || env.SourceIP != "127.0.0.1" || env.EventID != ev.Event.EventID.String() ||
		env.SchemaVersion != envelope.SchemaVersion || !env.OccurredAt.Equal(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("envelope: %+v", env)
	}

}

// TestStaleCacheNeverDecidesAlone: a refusal decided on a cached state that another process has moved
// past is checked again on the fresh stream.
func TestStaleCacheNeverDecidesAlone(t *testing.T) {
	c := client(t)
	ctx := context.Background()
	a := eventstore.NewRepository(c, counter, nil)
	b := eventstore.NewRepository(c, counter, nil)
	if _, err := a.Execute(ctx, "test.counter-3", add{N: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Execute(ctx, "test.counter-3", add{N: 5}); err != nil {
		t.Fatal(err)
	}
	res, err := a.Execute(ctx, "test.counter-3", add{N: 1, Min: 5})
	if err != nil || res.State != 7 {
		t.Fatalf("a stale cache refused a valid command: %+v %v", res, err)
	}
}

// TestPanickingDecisionDoesNotWedgeTheStream: a decision that panics answers with an error, and the
// next command on the same stream runs normally.
func TestPanickingDecisionDoesNotWedgeTheStream(t *testing.T) {
	c := client(t)
	ctx := context.Background()
	repo := eventstore.NewRepository(c, counter, nil)
	_, err := repo.ExecuteFunc(ctx, "test.counter-4", func(int, time.Time) ([]added, error) { panic("boom") })
	if err == nil {
		t.Fatal("a panicking decision must fail the command")
	}
	res, err := repo.Execute(ctx, "test.counter-4", add{N: 2})
	if err != nil || res.State != 2 {
		t.Fatalf("the stream is wedged: %+v %v", res, err)
	}
}

// TestDeletedStreamIsNotFoldedFromTheCache: a stream deleted (through EventStore-Client-Go) after it
// was cached loads as a new stream, as it does for a fresh repository, and a command on it appends at
// the revision the log assigns, so later loads do not fold that event twice.
func TestDeletedStreamIsNotFoldedFromTheCache(t *testing.T) {
	c := client(t)
	ctx := context.Background()
	repo := eventstore.NewRepository(c, counter, nil)
	for range 3 {
		if _, err := repo.Execute(ctx, "test.counter-5", add{N: 5}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.DeleteStream(ctx, "test.counter-5", esdb.DeleteStreamOptions{ExpectedRevision: esdb.Revision(2)}); err != nil {
		t.Fatal(err)
	}
	if sum, rev, err := repo.Load(ctx, "test.counter-5"); err != nil || sum != 0 || rev != -1 {
		t.Fatalf("a deleted stream loaded from the cache: sum=%d rev=%d err=%v", sum, rev, err)
	}
	res, err := repo.Execute(ctx, "test.counter-5", add{N: 1})
	if err != nil || res.State != 1 || res.Revision != 3 {
		t.Fatalf("recreate: %+v %v (want state 1 at revision 3, after the deleted 0..2)", res, err)
	}
	sum, rev, err := repo.Load(ctx, "test.counter-5")
	fresh, freshRev, ferr := eventstore.NewRepository(c, counter, nil).Load(ctx, "test.counter-5")
	if err != nil || ferr != nil || sum != 1 || rev != 3 || fresh != sum || freshRev != rev {
		t.Fatalf("cached %d@%d (%v), fresh %d@%d (%v): want 1@3 for both", sum, rev, err, fresh, freshRev, ferr)
	}
}

// TestInspectCachedAndLatest: Inspect answers from the cache without reading the stream, so another
// process's append is not in it; with latest it reads the stream up to its end and is.
func TestInspectCachedAndLatest(t *testing.T) {
	c := client(t)
	ctx := context.Background()
	a := eventstore.NewRepository(c, counter, nil)
	b := eventstore.NewRepository(c, counter, nil)
	if _, err := a.Execute(ctx, "test.counter-4", add{N: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Execute(ctx, "test.counter-4", add{N: 5}); err != nil {
		t.Fatal(err)
	}
	seen := func(latest bool) (n int) {
		t.Helper()
		if err := a.Inspect(ctx, "test.counter-4", latest, func(s int) error { n = s; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := seen(false); n != 1 {
		t.Fatalf("cached: %d, want 1 (this repository's own state)", n)
	}
	if n := seen(true); n != 6 {
		t.Fatalf("latest: %d, want 6", n)
	}
	var none int
	if err := a.Inspect(ctx, "test.counter-none", false, func(s int) error { none = s + 100; return nil }); err != nil || none != 100 {
		t.Fatalf("a missing stream: %d %v", none, err)
	}
}
