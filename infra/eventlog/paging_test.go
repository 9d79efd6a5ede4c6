package eventlog_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/belfry/belfry/infra/eventlog"
)

// stored is what a test appended, to compare with what reads return.
type stored struct {
	id                       uuid.UUID
	stream, typ, contentType string
	data, meta               []byte
	revision, position       uint64
}

// appendMixed appends single events (one-row groups) and batches (multi-row groups, concurrently, so
// that groups hold several requests) with empty, binary, non-ASCII and large payloads, and returns
// them in position order.
func appendMixed(t *testing.T, c *esdb.Client) []stored {
	t.Helper()
	ctx := context.Background()
	var mu sync.Mutex
	var out []stored
	write := func(stream string, expect esdb.ExpectedRevision, evs ...esdb.EventData) {
		res, err := c.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{ExpectedRevision: expect}, evs...)
		if err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		first := res.CommitPosition - uint64(len(evs)) + 1
		for i, e := range evs {
			ct := "application/octet-stream"
			if e.ContentType == esdb.ContentTypeJson {
				ct = "application/json"
			}
			out = append(out, stored{id: e.EventID, stream: stream, typ: e.EventType, contentType: ct, data: e.Data, meta: e.Metadata,
				revision: res.NextExpectedVersion - uint64(len(evs)) + 1 + uint64(i), position: first + uint64(i)})
		}
	}
	big := bytes.Repeat([]byte("0123456789"), 20_000)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			stream := fmt.Sprintf("paged-Ünï-%d", w)
			for i := 0; i < 6; i++ {
				evs := make([]esdb.EventData, 5+i)
				for j := range evs {
					evs[j] = esdb.EventData{EventID: uuid.New(), EventType: fmt.Sprintf("t.%d", j%3), ContentType: esdb.ContentTypeJson,
						Data: []byte(fmt.Sprintf(`{"w":%d,"i":%d,"j":%d}`, w, i, j)), Metadata: []byte(fmt.Sprintf(`{"m":%d}`, j))}
				}
				evs[0].Data = []byte{}
				evs[1].Metadata = nil
				evs[2].ContentType = esdb.ContentTypeBinary
				evs[2].Data = []byte{0, 1, 2, 255}
				if w == 0 && i == 3 {
					evs[3].Data = big
				}
				var expect esdb.ExpectedRevision = esdb.Any{}
				write(stream, expect, evs...)
				write(fmt.Sprintf("single-%d", w), esdb.Any{}, esdb.EventData{EventID: uuid.New(), EventType: "single", ContentType: esdb.ContentTypeJson, Data: []byte(`{}`)})
			}
		}(w)
	}
	wg.Wait()
	// Position order.
	byPos := make([]stored, len(out))
	for _, s := range out {
		if s.position < 1 || s.position > uint64(len(out)) {
			t.Fatalf("position %d outside 1..%d: positions are not gapless", s.position, len(out))
		}
		byPos[s.position-1] = s
	}
	return byPos
}

func sameEvent(t *testing.T, what string, got *esdb.RecordedEvent, want stored) {
	t.Helper()
	if got.EventID != want.id || got.StreamID != want.stream || got.EventType != want.typ || got.ContentType != want.contentType ||
		got.EventNumber != want.revision || got.Position.Commit != want.position || got.Position.Prepare != want.position ||
		!bytes.Equal(got.Data, want.data) || !bytes.Equal(got.UserMetadata, want.meta) || got.CreatedDate.IsZero() ||
		time.Since(got.CreatedDate) > time.Hour {
		t.Fatalf("%s: got %s/%d at %d type %q ct %q data %d bytes meta %q created %v; want %s/%d at %d type %q ct %q data %d bytes meta %q",
			what, got.StreamID, got.EventNumber, got.Position.Commit, got.EventType, got.ContentType, len(got.Data), got.UserMetadata, got.CreatedDate,
			want.stream, want.revision, want.position, want.typ, want.contentType, len(want.data), want.meta)
	}
}

// TestReadsAcrossPages: with pages of 7 records and a ring of 16, reads come from Postgres in many
// pages read ahead of the sender; every event comes back byte for byte, in order, once, whether it
// was committed alone (INSERT) or in a group (COPY), for $all and stream reads in both directions,
// with counts that end inside a page, and through a filtered subscription from catch-up
// to live.
func TestReadsAcrossPages(t *testing.T) {
	readsAcrossPages(t, eventlog.LogConfig{RingSize: 16})
}

// TestReadsAcrossTheRingsBytes: the same when the ring is bounded by its bytes (a few hundred: only
// the newest records stay in memory, the rest is read from PostgreSQL).
func TestReadsAcrossTheRingsBytes(t *testing.T) {
	readsAcrossPages(t, eventlog.LogConfig{RingBytes: 900})
}

func readsAcrossPages(t *testing.T, lc eventlog.LogConfig) {
	e := startEnv(t, eventlog.Config{ReadPageSize: 7, Log: lc})
	want := appendMixed(t, e.client)
	n := uint64(len(want))

	all := readAll(t, e.client, esdb.ReadAllOptions{From: esdb.Start{}}, ^uint64(0))
	if uint64(len(all)) != n {
		t.Fatalf("ReadAll returned %d events, want %d", len(all), n)
	}
	for i, x := range all {
		sameEvent(t, "ReadAll forwards", x.Event, want[i])
	}
	part := readAll(t, e.client, esdb.ReadAllOptions{From: esdb.Position{Commit: 5, Prepare: 5}}, 10)
	if len(part) != 10 || part[0].Event.Position.Commit != 5 || part[9].Event.Position.Commit != 14 {
		t.Fatalf("10 events from position 5: %v", positions(part))
	}
	back := readAll(t, e.client, esdb.ReadAllOptions{From: esdb.End{}, Direction: esdb.Backwards}, 20)
	if len(back) != 20 {
		t.Fatalf("backwards: %d events", len(back))
	}
	for i, x := range back {
		sameEvent(t, "ReadAll backwards", x.Event, want[n-1-uint64(i)])
	}
	var singles []stored
	for _, s := range want {
		if strings.HasPrefix(s.stream, "single-") {
			singles = append(singles, s)
		}
	}

	stream := "paged-Ünï-0"
	var inStream []stored
	for _, s := range want {
		if s.stream == stream {
			inStream = append(inStream, s)
		}
	}
	fw, err := readAllStream(t, e.client, stream, esdb.ReadStreamOptions{}, ^uint64(0))
	if err != nil || len(fw) != len(inStream) {
		t.Fatalf("stream forwards: %d events (%v), want %d", len(fw), err, len(inStream))
	}
	for i, x := range fw {
		sameEvent(t, "stream forwards", x.Event, inStream[i])
	}
	bw, err := readAllStream(t, e.client, stream, esdb.ReadStreamOptions{From: esdb.End{}, Direction: esdb.Backwards}, 8)
	if err != nil || len(bw) != 8 {
		t.Fatalf("stream backwards: %d events (%v)", len(bw), err)
	}
	for i, x := range bw {
		sameEvent(t, "stream backwards", x.Event, inStream[len(inStream)-1-i])
	}

	subscribeAcrossPages(t, e.client, singles)
}

// subscribeAcrossPages subscribes to $all filtered on "single-" from the start: the catch-up reads
// many pages ahead, then an event appended afterwards arrives live.
func subscribeAcrossPages(t *testing.T, c *esdb.Client, singles []stored) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sub, err := c.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: esdb.Start{},
		Filter: &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{"single-"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	next := func() *esdb.RecordedEvent {
		for {
			ev := sub.Recv()
			if ev.SubscriptionDropped != nil {
				t.Fatalf("subscription dropped: %v", ev.SubscriptionDropped.Error)
			}
			if ev.EventAppeared != nil {
				return ev.EventAppeared.Event
			}
		}
	}
	for i := range singles {
		sameEvent(t, "subscription catch-up", next(), singles[i])
	}
	id := uuid.New()
	if _, err := c.AppendToStream(ctx, "single-live", esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}},
		esdb.EventData{EventID: id, EventType: "live", ContentType: esdb.ContentTypeJson, Data: []byte(`{"live":true}`)}); err != nil {
		t.Fatal(err)
	}
	if got := next(); got.EventID != id {
		t.Fatalf("live event: got %s, want %s", got.EventID, id)
	}
}
