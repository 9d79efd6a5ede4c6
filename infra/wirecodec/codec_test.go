package wirecodec_test

import (
	"testing"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"

	"github.com/belfry/belfry/infra/wirecodec"
)

// event is a ReadResp as the event log sends it for one event of $all (id structured or a
// string, with or without a link, a position or none).
func event(stringID, link, noPosition bool) *streams.ReadResp {
	rec := func(stream string, rev uint64) *streams.ReadResp_ReadEvent_RecordedEvent {
		r := &streams.ReadResp_ReadEvent_RecordedEvent{
			Id:               &shared.UUID{Value: &shared.UUID_Structured_{Structured: &shared.UUID_Structured{MostSignificantBits: -42, LeastSignificantBits: 1 << 62}}},
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(stream)},
			StreamRevision:   rev, PreparePosition: 1234567, CommitPosition: 1234567,
			Metadata:       map[string]string{"type": "chime.account.renamed.v1", "content-type": "application/json", "created": "17329876543210000"},
			CustomMetadata: []byte(`{"actor":"arn:aws:iam::111122223333:user/x","requestId":"r-1"}`),
			Data:           []byte(`{"name":"Bench ünïcode"}`),
		}
		if stringID {
			r.Id = &shared.UUID{Value: &shared.UUID_String_{String_: "0b8e7a52-4c52-4b6e-9b0b-6f7d3c3f3a10"}}
		}
		return r
	}
	ev := &streams.ReadResp_ReadEvent{Event: rec("chime.account-1", 9), Position: &streams.ReadResp_ReadEvent_CommitPosition{CommitPosition: 1234567}}
	if link {
		ev.Link = rec("$ce-chime.account", 77)
		ev.Link.Data = []byte("9@chime.account-1")
	}
	if noPosition {
		ev.Position = &streams.ReadResp_ReadEvent_NoPosition{NoPosition: &shared.Empty{}}
	}
	return &streams.ReadResp{Content: &streams.ReadResp_Event{Event: ev}}
}

// messages are the seeds: events in every shape, and ReadResps the fast decoder leaves to the base
// codec (another content, an empty event, empty fields).
func messages() []*streams.ReadResp {
	var out []*streams.ReadResp
	for i := range 8 {
		out = append(out, event(i&1 != 0, i&2 != 0, i&4 != 0))
	}
	empty := event(false, false, false)
	rec := empty.GetEvent().Event
	rec.Data, rec.CustomMetadata, rec.Metadata, rec.StreamIdentifier.StreamName = nil, []byte{}, nil, nil
	out = append(out, empty,
		&streams.ReadResp{Content: &streams.ReadResp_Checkpoint_{Checkpoint: &streams.ReadResp_Checkpoint{CommitPosition: 5, PreparePosition: 5}}},
		&streams.ReadResp{Content: &streams.ReadResp_Event{Event: &streams.ReadResp_ReadEvent{}}},
		&streams.ReadResp{})
	return out
}

// decodeBoth decodes data with gRPC's proto codec and with this package's.
func decodeBoth(data []byte) (base, fast *streams.ReadResp, baseErr, fastErr error) {
	base, fast = &streams.ReadResp{}, &streams.ReadResp{}
	baseErr = proto.Unmarshal(data, base)
	fastErr = encoding.GetCodecV2("proto").Unmarshal(mem.BufferSlice{mem.SliceBuffer(data)}, fast)
	return base, fast, baseErr, fastErr
}

// TestEventReadsDecodeAsTheBaseCodecDecodesThem: every seed decodes to what protobuf-go decodes,
// and the event reads take the fast path.
func TestEventReadsDecodeAsTheBaseCodecDecodesThem(t *testing.T) {
	if _, ok := encoding.GetCodecV2("proto").(wirecodec.Codec); !ok {
		t.Fatalf("gRPC's proto codec is %T, not wirecodec.Codec", encoding.GetCodecV2("proto"))
	}
	for i, m := range messages() {
		data, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		base, fast, baseErr, fastErr := decodeBoth(data)
		if baseErr != nil || fastErr != nil || !proto.Equal(base, fast) {
			t.Fatalf("message %d: base %v (%v), fast %v (%v)", i, base, baseErr, fast, fastErr)
		}
		if took := wirecodec.DecodeReadResp(data, &streams.ReadResp{}); took != (i < 9 || i == 10) {
			t.Fatalf("message %d: the fast decoder took it: %v", i, took)
		}
	}
	// A message decoded into again keeps nothing of the one before (unknown fields included).
	reused := &streams.ReadResp{}
	codec := encoding.GetCodecV2("proto")
	data, _ := proto.Marshal(event(false, false, false))
	for _, in := range [][]byte{{0x9a, 0x06, 0x00}, data} {
		if err := codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(in)}, reused); err != nil {
			t.Fatal(err)
		}
	}
	if !proto.Equal(reused, event(false, false, false)) {
		t.Fatalf("decoded into a used message: %v", reused)
	}
	// The decoded fields do not share the buffer the message came in.
	data, _ = proto.Marshal(event(false, true, false))
	var m streams.ReadResp
	if !wirecodec.DecodeReadResp(data, &m) {
		t.Fatal("an event read was left to the base codec")
	}
	clear(data)
	if got := string(m.GetEvent().Event.Data); got != `{"name":"Bench ünïcode"}` {
		t.Fatalf("the data changed with the buffer: %q", got)
	}
}

// FuzzDecodeReadResp: on any input, the codec decodes what protobuf-go decodes, or fails as it fails.
func FuzzDecodeReadResp(f *testing.F) {
	for _, m := range messages() {
		data, _ := proto.Marshal(m)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		base, fast, baseErr, fastErr := decodeBoth(data)
		if (baseErr == nil) != (fastErr == nil) {
			t.Fatalf("base error %v, fast error %v", baseErr, fastErr)
		}
		if baseErr == nil && !proto.Equal(base, fast) {
			t.Fatalf("base %v\nfast %v", base, fast)
		}
	})
}
