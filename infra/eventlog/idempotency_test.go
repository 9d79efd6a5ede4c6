package eventlog_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"

	"github.com/belfry/belfry/infra/eventlog"
)

// TestRetryWithAnyIsIdempotent: an append retried with expected revision Any (or StreamExists) and
// the same event ids, as a client does when the answer was lost, gets the original result and is
// stored once, also after a restart of the server; new ids are appended.
func TestRetryWithAnyIsIdempotent(t *testing.T) {
	e := startEnv(t, eventlog.Config{})
	ctx := context.Background()
	c := e.client
	if _, err := c.AppendToStream(ctx, "audit-1", esdb.AppendToStreamOptions{ExpectedRevision: esdb.Any{}}, ev("first", `{}`)); err != nil {
		t.Fatal(err)
	}
	batch := []esdb.EventData{ev("a", `{}`), ev("b", `{}`)}
	orig, err := c.AppendToStream(ctx, "audit-1", esdb.AppendToStreamOptions{ExpectedRevision: esdb.Any{}}, batch...)
	if err != nil {
		t.Fatal(err)
	}
	same := func(what string, expect esdb.ExpectedRevision, events ...esdb.EventData) {
		t.Helper()
		res, err := c.AppendToStream(ctx, "audit-1", esdb.AppendToStreamOptions{ExpectedRevision: expect}, events...)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if res.NextExpectedVersion != orig.NextExpectedVersion || res.CommitPosition != orig.CommitPosition {
			t.Fatalf("%s: got revision %d position %d, want the original %d / %d", what, res.NextExpectedVersion, res.CommitPosition,
				orig.NextExpectedVersion, orig.CommitPosition)
		}
	}
	same("retry with Any", esdb.Any{}, batch...)
	same("retry with StreamExists", esdb.StreamExists{}, batch...)
	same("retry of the last event alone", esdb.Any{}, batch[1])

	// After a restart the writer remembers nothing: the stored tail answers.
	addr := e.srv.Addr()
	if err := e.srv.Close(); err != nil {
		t.Fatal(err)
	}
	srv, err := eventlog.Start(ctx, e.pool, eventlog.Config{Addr: addr, Dir: e.dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	c = newClient(t, srv.URL())
	same("retry with Any after a restart", esdb.Any{}, batch...)

	// Not a retry: other ids, or the same ids in another order.
	if _, err := c.AppendToStream(ctx, "audit-1", esdb.AppendToStreamOptions{ExpectedRevision: esdb.Any{}}, batch[1], batch[0]); err != nil {
		t.Fatal(err)
	}
	evs, err := readAllStream(t, c, "audit-1", esdb.ReadStreamOptions{From: esdb.Start{}}, 100)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, x := range evs {
		types = append(types, x.Event.EventType)
	}
	if got, _ := json.Marshal(types); string(got) != `["first","a","b","b","a"]` {
		t.Fatalf("stream holds %s", got)
	}
}

// TestStoreIdentity: the server reports its store id in the read-only StoreStream; it is the id
// generated into the database, it differs between databases, and the stream cannot be written.
func TestStoreIdentity(t *testing.T) {
	e := startEnv(t, eventlog.Config{})
	ctx := context.Background()
	want, err := eventlog.StoreID(ctx, e.pool)
	if err != nil || want == uuid.Nil {
		t.Fatalf("store id %v: %v", want, err)
	}
	evs, err := readAllStream(t, e.client, eventlog.StoreStream, esdb.ReadStreamOptions{From: esdb.Start{}}, 1)
	if err != nil || len(evs) != 1 {
		t.Fatalf("read %s: %d events, %v", eventlog.StoreStream, len(evs), err)
	}
	var body struct{ StoreID uuid.UUID }
	if err := json.Unmarshal(evs[0].Event.Data, &body); err != nil || body.StoreID != want || evs[0].Event.EventID != want {
		t.Fatalf("reported %s (%v), database holds %s", evs[0].Event.Data, err, want)
	}
	other := startEnv(t, eventlog.Config{})
	if id, _ := eventlog.StoreID(ctx, other.pool); id == want {
		t.Fatal("two databases share a store id")
	}
	for _, stream := range []string{eventlog.StoreStream, "$$" + eventlog.StoreStream} {
		_, err = e.client.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{}, ev("forged", `{}`))
		if grpcCode(err) != codes.InvalidArgument {
			t.Fatalf("append to %s: want InvalidArgument, got %v", stream, err)
		}
	}
	if _, err := e.client.TombstoneStream(ctx, eventlog.StoreStream, esdb.TombstoneStreamOptions{ExpectedRevision: esdb.Any{}}); grpcCode(err) != codes.InvalidArgument {
		t.Fatalf("tombstone %s: want InvalidArgument, got %v", eventlog.StoreStream, err)
	}
}
