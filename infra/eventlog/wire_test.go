package eventlog

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
)

// eventToProto is the reference: the ReadResp message tree that appendEvent encodes directly.
func eventToProto(r *Record) *api.ReadResp {
	return &api.ReadResp{Content: &api.ReadResp_Event{Event: &api.ReadResp_ReadEvent{
		Event: &api.ReadResp_ReadEvent_RecordedEvent{
			Id:               uuidToProto(r.EventID),
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(r.Stream)},
			StreamRevision:   r.Revision,
			PreparePosition:  r.Position,
			CommitPosition:   r.Position,
			Metadata: map[string]string{
				"type":         r.Type,
				"content-type": r.ContentType,
				"created":      strconv.FormatInt(r.Created, 10),
			},
			CustomMetadata: r.Metadata,
			Data:           r.Data,
		},
		Position: &api.ReadResp_ReadEvent_CommitPosition{CommitPosition: r.Position},
	}}}
}

func uuidToProto(u uuid.UUID) *shared.UUID {
	var most, least uint64
	for i := 0; i < 8; i++ {
		most = most<<8 | uint64(u[i])
		least = least<<8 | uint64(u[8+i])
	}
	return &shared.UUID{Value: &shared.UUID_Structured_{Structured: &shared.UUID_Structured{
		MostSignificantBits: int64(most), LeastSignificantBits: int64(least)}}}
}

// TestAppendEventMatchesProtoMarshal: the hand-written encoding of a ReadResp is the one
// proto.Marshal writes for the message tree (same size, same message once decoded), for zero and
// extreme scalars, empty and large payloads and non-ASCII names.
func TestAppendEventMatchesProtoMarshal(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 300_000)
	recs := []Record{
		{Position: 1, Stream: "s", Revision: 0, EventID: uuid.New(), Type: "t", ContentType: "application/json", Created: 1, Data: []byte(`{}`), Metadata: []byte{}},
		{Position: 127, Stream: "chime.account-Ünïcödé", Revision: 128, EventID: uuid.New(), Type: "chime.account.renamed.v1",
			ContentType: "application/octet-stream", Created: 17_000_000_000_000_000, Data: []byte{}, Metadata: []byte(`{"actor":"x"}`)},
		{Position: math.MaxInt64, Stream: "$$x", Revision: TombstoneRevision, EventID: uuid.UUID{}, Type: "$streamDeleted",
			ContentType: "", Created: -5, Data: nil, Metadata: nil},
		{Position: 1 << 40, Stream: strings.Repeat("n", 200), Revision: 1 << 20, EventID: uuid.MustParse("ffffffff-ffff-ffff-ffff-ffffffffffff"),
			Type: strings.Repeat("t", 300), ContentType: "application/json", Created: 0, Data: big, Metadata: big[:20_000]},
	}
	for i := range recs {
		r := &recs[i]
		want := eventToProto(r)
		got := appendEvent([]byte("prefix"), r)
		if string(got[:6]) != "prefix" {
			t.Fatalf("record %d: appendEvent overwrote the buffer it appends to", i)
		}
		got = got[6:]
		if n := proto.Size(want); n != len(got) {
			t.Errorf("record %d: encoded %d bytes, proto.Marshal writes %d", i, len(got), n)
		}
		var dec api.ReadResp
		if err := proto.Unmarshal(got, &dec); err != nil {
			t.Fatalf("record %d: the encoding does not decode: %v", i, err)
		}
		if !proto.Equal(&dec, want) {
			t.Errorf("record %d: decoded %v, want %v", i, &dec, want)
		}
	}
}
