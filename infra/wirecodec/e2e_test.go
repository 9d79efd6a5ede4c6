package wirecodec_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/belfry/belfry/infra/eventlog/eventlogtest"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestTheOfficialClientReadsThroughTheCodec: the official client, on this process's codec, reads
// from the embedded log every event as appended (ids, types, data, metadata, revisions, positions),
// through ReadAll, a stream read and a catch-up subscription.
func TestTheOfficialClientReadsThroughTheCodec(t *testing.T) {
	_, client := eventlogtest.Start(t)
	ctx := context.Background()
	var sent []esdb.EventData
	for i, data := range []string{`{"n":1}`, ``, `{"ünï":"cödé"}`, `[]`} {
		ev := esdb.EventData{EventID: uuid.New(), EventType: "test.codec.v1", ContentType: esdb.ContentTypeJson, Data: []byte(data)}
		if i%2 == 1 {
			ev.ContentType, ev.Metadata = esdb.ContentTypeBinary, []byte(`{"actor":"a"}`)
		}
		sent = append(sent, ev)
	}
	if _, err := client.AppendToStream(ctx, "codec-1", esdb.AppendToStreamOptions{}, sent...); err != nil {
		t.Fatal(err)
	}
	check := func(how string, got []*esdb.RecordedEvent) {
		t.Helper()
		if len(got) != len(sent) {
			t.Fatalf("%s: %d events, want %d", how, len(got), len(sent))
		}
		for i, r := range got {
			w := sent[i]
			if r.EventID != w.EventID || r.EventType != w.EventType || string(r.Data) != string(w.Data) ||
				string(r.UserMetadata) != string(w.Metadata) || r.EventNumber != uint64(i) || r.StreamID != "codec-1" ||
				r.Position.Commit == 0 || r.CreatedDate.IsZero() || (r.ContentType == "application/json") != (w.ContentType == esdb.ContentTypeJson) {
				t.Fatalf("%s: event %d is %+v, appended %+v", how, i, r, w)
			}
		}
	}
	collect := func(rs *esdb.ReadStream) []*esdb.RecordedEvent {
		defer rs.Close()
		var out []*esdb.RecordedEvent
		for {
			re, err := rs.Recv()
			if errors.Is(err, io.EOF) {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			if re.Event.StreamID == "codec-1" {
				out = append(out, re.Event)
			}
		}
	}
	rs, err := client.ReadAll(ctx, esdb.ReadAllOptions{From: esdb.Start{}}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	check("ReadAll", collect(rs))
	if rs, err = client.ReadStream(ctx, "codec-1", esdb.ReadStreamOptions{From: esdb.Start{}}, 1000); err != nil {
		t.Fatal(err)
	}
	check("ReadStream", collect(rs))
	sub, err := client.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: esdb.Start{}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var got []*esdb.RecordedEvent
	for len(got) < len(sent) {
		e := sub.Recv()
		if e.SubscriptionDropped != nil {
			t.Fatal(e.SubscriptionDropped.Error)
		}
		if e.EventAppeared != nil && e.EventAppeared.Event.StreamID == "codec-1" {
			got = append(got, e.EventAppeared.Event)
		}
	}
	check("SubscribeToAll", got)
}
