package eventlog_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/belfry/belfry/infra/eventlog"
)

// TestAppendSizeCountsEventTypes: an append of events without data or metadata but with long event
// types counts the types towards MaxAppendSize, as KurrentDB does (Event.SizeOnDisk: data, metadata
// and twice the type's length). Counting only data and metadata, a client could stream events without
// end, every one held in memory until the request ends.
func TestAppendSizeCountsEventTypes(t *testing.T) {
	e := startEnv(t, eventlog.Config{})
	typ := strings.Repeat("t", 1000)
	var evs []esdb.EventData
	for i := 0; i*2*len(typ) <= eventlog.MaxAppendSize; i++ {
		evs = append(evs, esdb.EventData{EventID: uuid.New(), EventType: typ, ContentType: esdb.ContentTypeBinary})
	}
	_, err := e.client.AppendToStream(context.Background(), "types", esdb.AppendToStreamOptions{}, evs...)
	if grpcCode(err) != codes.InvalidArgument {
		t.Fatalf("an append of %d events of %d-byte types: want InvalidArgument, got %v", len(evs), len(typ), err)
	}
	if all := readAll(t, e.client, esdb.ReadAllOptions{From: esdb.Start{}}, 10); len(all) != 0 {
		t.Fatalf("the refused append stored %d events", len(all))
	}
	// Just under the limit is taken.
	if _, err := e.client.AppendToStream(context.Background(), "types", esdb.AppendToStreamOptions{}, evs[:len(evs)-2]...); err != nil {
		t.Fatalf("an append under the limit: %v", err)
	}
}

// TestMetadataStreamIsNotDeleted: deleting or tombstoning a metadata stream "$$x" is refused with
// InvalidArgument; it used to be applied to the writer's cached state of x, so that x then refused
// every append as deleted (or hid its events) while reads of x showed it alive.
func TestMetadataStreamIsNotDeleted(t *testing.T) {
	e := startEnv(t, eventlog.Config{})
	ctx := context.Background()
	c := e.client
	if _, err := c.AppendToStream(ctx, "x", esdb.AppendToStreamOptions{}, ev("a", `{}`)); err != nil {
		t.Fatal(err)
	}
	md := esdb.StreamMetadata{}
	md.SetMaxCount(10)
	if _, err := c.SetStreamMetadata(ctx, "x", esdb.AppendToStreamOptions{}, md); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TombstoneStream(ctx, "$$x", esdb.TombstoneStreamOptions{ExpectedRevision: esdb.Any{}}); grpcCode(err) != codes.InvalidArgument {
		t.Errorf("tombstone $$x: want InvalidArgument, got %v", err)
	}
	if _, err := c.DeleteStream(ctx, "$$x", esdb.DeleteStreamOptions{ExpectedRevision: esdb.Any{}}); grpcCode(err) != codes.InvalidArgument {
		t.Errorf("delete $$x: want InvalidArgument, got %v", err)
	}
	if _, err := c.AppendToStream(ctx, "x", esdb.AppendToStreamOptions{ExpectedRevision: esdb.Revision(0)}, ev("b", `{}`)); err != nil {
		t.Fatalf("append to x after the refused deletes of $$x: %v", err)
	}
	evs, err := readAllStream(t, c, "x", esdb.ReadStreamOptions{}, 10)
	if err != nil || len(evs) != 2 {
		t.Fatalf("read x: %d events, %v", len(evs), err)
	}
	if _, err := c.SetStreamMetadata(ctx, "x", esdb.AppendToStreamOptions{ExpectedRevision: esdb.Revision(0)}, md); err != nil {
		t.Fatalf("metadata of x at its revision: %v", err)
	}
}

// TestAppendWithoutMessagesIsInvalid: an append stream the client closes without sending a message
// answers InvalidArgument, not Unknown "EOF".
func TestAppendWithoutMessagesIsInvalid(t *testing.T) {
	e := startEnv(t, eventlog.Config{})
	c := api.NewStreamsClient(rawConn(t, e.srv, e.srv.Credentials()))
	s, err := c.Append(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CloseAndRecv(); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("append without messages: want InvalidArgument, got %v", err)
	}
}

// TestOversizedFiltersAreRefused: a subscription filter is bounded (regex length, number and length of
// prefixes) and anything beyond answers InvalidArgument at once. A 1 MiB regex used to be compiled
// (about 2 s of CPU and 50 MB of heap, kept for the subscription's life: 50 times the request), and
// hundreds of thousands of prefixes were each tried against every event scanned.
func TestOversizedFiltersAreRefused(t *testing.T) {
	e := startEnv(t, eventlog.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	many := make([]string, 100_000)
	for i := range many {
		many[i] = fmt.Sprintf("p%d", i)
	}
	cases := []struct {
		name   string
		filter *esdb.SubscriptionFilter
	}{
		{"1 MiB regex", &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Regex: strings.Repeat("(a|b)", 200_000)}},
		{"100000 prefixes", &esdb.SubscriptionFilter{Type: esdb.EventFilterType, Prefixes: many}},
		{"a prefix longer than any name", &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{strings.Repeat("x", eventlog.MaxNameLength+1)}}},
	}
	for _, tc := range cases {
		sub, err := e.client.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: esdb.Start{}, Filter: tc.filter})
		if err == nil {
			sub.Close()
		}
		if grpcCode(err) != codes.InvalidArgument {
			t.Errorf("%s: want InvalidArgument, got %v", tc.name, err)
		}
	}
	// Filters of ordinary size still work.
	sub, err := e.client.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: esdb.Start{},
		Filter: &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: many[:100], Regex: ""}})
	if err != nil {
		t.Fatalf("a filter of 100 prefixes: %v", err)
	}
	sub.Close()
}
