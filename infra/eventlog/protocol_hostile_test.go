package eventlog_test

import (
	"context"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"google.golang.org/grpc/codes"

	"github.com/belfry/belfry/infra/eventlog"
)

// TestHugeMaxAgeHidesNothing: a $maxAge too large for a time.Duration (15,296,744,073 s, about 485 years: a
// "keep for ever" value KurrentDB takes, its TimeSpan reaching 29,000 years) keeps every event. The
// seconds were multiplied into nanoseconds, which wrapped to a negative age: the cut-off fell centuries
// in the future and every event of the stream vanished from its reads.
func TestHugeMaxAgeHidesNothing(t *testing.T) {
	e := startEnv(t, eventlog.Config{})
	ctx := context.Background()
	c := e.client
	if _, err := c.AppendToStream(ctx, "aged", esdb.AppendToStreamOptions{}, ev("a", `{}`), ev("b", `{}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AppendToStream(ctx, "$$aged", esdb.AppendToStreamOptions{}, ev("$metadata", `{"$maxAge":15296744073}`)); err != nil {
		t.Fatal(err)
	}
	evs, err := readAllStream(t, c, "aged", esdb.ReadStreamOptions{}, 10)
	if err != nil || len(evs) != 2 {
		t.Fatalf("read a stream whose $maxAge is 485 years: %d events, %v; want both", len(evs), err)
	}
}

// TestSoftDeleteOfMissingStream: soft-deleting a stream that has no events with expected revision Any
// or NoStream succeeds, as in KurrentDB, and the stream can then be written from revision 0. It was
// refused with a wrong-expected-version error that named the expectation it claimed was wrong: "any".
func TestSoftDeleteOfMissingStream(t *testing.T) {
	e := startEnv(t, eventlog.Config{})
	ctx := context.Background()
	c := e.client
	for _, tc := range []struct {
		stream string
		expect esdb.ExpectedRevision
	}{{"never-any", esdb.Any{}}, {"never-none", esdb.NoStream{}}} {
		if _, err := c.DeleteStream(ctx, tc.stream, esdb.DeleteStreamOptions{ExpectedRevision: tc.expect}); err != nil {
			t.Fatalf("soft delete of the missing stream %s: %v", tc.stream, err)
		}
		if _, err := readAllStream(t, c, tc.stream, esdb.ReadStreamOptions{}, 10); esdbCode(err) != esdb.ErrorCodeResourceNotFound {
			t.Fatalf("read %s after its delete: want not found, got %v", tc.stream, err)
		}
		res, err := c.AppendToStream(ctx, tc.stream, esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, ev("a", `{}`))
		if err != nil || res.NextExpectedVersion != 0 {
			t.Fatalf("append to %s after its delete: %+v, %v", tc.stream, res, err)
		}
		if evs, err := readAllStream(t, c, tc.stream, esdb.ReadStreamOptions{}, 10); err != nil || len(evs) != 1 {
			t.Fatalf("read %s: %d events, %v", tc.stream, len(evs), err)
		}
	}
	// An expected revision the missing stream does not have is still refused.
	if _, err := c.DeleteStream(ctx, "never-exists", esdb.DeleteStreamOptions{ExpectedRevision: esdb.StreamExists{}}); grpcCode(err) != codes.FailedPrecondition {
		t.Fatalf("delete of a missing stream expecting it to exist: want wrong expected version, got %v", err)
	}
}

// TestForgedTombstoneTypeEndsNoSubscription: an event a client appends with the type "$streamDeleted"
// is an ordinary event of a live stream (reads and appends go on), and a subscription to the stream
// delivers it and what follows. The live part of a stream subscription took any event of that type
// for the tombstone and ended with stream-deleted; the tombstone is the event at TombstoneRevision.
func TestForgedTombstoneTypeEndsNoSubscription(t *testing.T) {
	e := startEnv(t, eventlog.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := e.client
	if _, err := c.AppendToStream(ctx, "victim", esdb.AppendToStreamOptions{}, ev("a", `{}`)); err != nil {
		t.Fatal(err)
	}
	sub, err := c.SubscribeToStream(ctx, "victim", esdb.SubscribeToStreamOptions{From: esdb.Start{}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	recv := func() *esdb.ResolvedEvent {
		t.Helper()
		for {
			m := sub.Recv()
			if m.SubscriptionDropped != nil {
				t.Fatalf("subscription dropped: %v", m.SubscriptionDropped.Error)
			}
			if m.EventAppeared != nil {
				return m.EventAppeared
			}
		}
	}
	if got := recv(); got.Event.EventType != "a" {
		t.Fatalf("first event %s", got.Event.EventType)
	}
	// Live now: a forged tombstone type, then an ordinary event.
	if _, err := c.AppendToStream(ctx, "victim", esdb.AppendToStreamOptions{}, ev("$streamDeleted", `{}`), ev("b", `{}`)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"$streamDeleted", "b"} {
		if got := recv(); got.Event.EventType != want {
			t.Fatalf("got %s, want %s", got.Event.EventType, want)
		}
	}
	// The real tombstone still ends it.
	if _, err := c.TombstoneStream(ctx, "victim", esdb.TombstoneStreamOptions{ExpectedRevision: esdb.Any{}}); err != nil {
		t.Fatal(err)
	}
	for {
		m := sub.Recv()
		if m.SubscriptionDropped != nil {
			if grpcCode(m.SubscriptionDropped.Error) != codes.FailedPrecondition {
				t.Fatalf("after the tombstone: want stream deleted, got %v", m.SubscriptionDropped.Error)
			}
			return
		}
		if m.EventAppeared != nil {
			t.Fatalf("after the tombstone: event %s", m.EventAppeared.Event.EventType)
		}
	}
}

// TestMetadataRetryWithAnyIsIdempotent: a metadata append retried with expected revision Any and the
// same event id is answered with the original result and stored once, as for any other stream. The
// retry check skipped metadata streams, so the retry stored the event a second time.
func TestMetadataRetryWithAnyIsIdempotent(t *testing.T) {
	e := startEnv(t, eventlog.Config{})
	ctx := context.Background()
	c := e.client
	if _, err := c.AppendToStream(ctx, "m", esdb.AppendToStreamOptions{}, ev("a", `{}`)); err != nil {
		t.Fatal(err)
	}
	meta := ev("$metadata", `{"$maxCount":5}`)
	orig, err := c.AppendToStream(ctx, "$$m", esdb.AppendToStreamOptions{ExpectedRevision: esdb.Any{}}, meta)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.AppendToStream(ctx, "$$m", esdb.AppendToStreamOptions{ExpectedRevision: esdb.Any{}}, meta)
	if err != nil {
		t.Fatal(err)
	}
	if again.NextExpectedVersion != orig.NextExpectedVersion || again.CommitPosition != orig.CommitPosition {
		t.Fatalf("retry answered revision %d position %d, want the original %d / %d", again.NextExpectedVersion,
			again.CommitPosition, orig.NextExpectedVersion, orig.CommitPosition)
	}
	n := 0
	for _, x := range readAll(t, c, esdb.ReadAllOptions{From: esdb.Start{}}, 100) {
		if x.Event.EventID == meta.EventID {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the metadata event is stored %d times", n)
	}
}
