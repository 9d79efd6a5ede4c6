package eventlog

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
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

// proposedSeeds are AppendReq messages as the official client writes them, and variants.
func proposedSeeds() [][]byte {
	msg := func(pm *api.AppendReq_ProposedMessage) []byte {
		b, err := proto.Marshal(&api.AppendReq{Content: &api.AppendReq_ProposedMessage_{ProposedMessage: pm}})
		if err != nil {
			panic(err)
		}
		return b
	}
	id := uuidToProto(uuid.New())
	full := msg(&api.AppendReq_ProposedMessage{Id: id, Metadata: map[string]string{"type": "chime.account.created.v1", "content-type": "application/json"},
		CustomMetadata: []byte(`{"actor":"x"}`), Data: []byte(`{"name":"a"}`)})
	opts, _ := proto.Marshal(&api.AppendReq{Content: &api.AppendReq_Options_{Options: &api.AppendReq_Options{
		StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte("s")}, ExpectedStreamRevision: &api.AppendReq_Options_Any{Any: &shared.Empty{}}}}})
	return [][]byte{
		full,
		msg(&api.AppendReq_ProposedMessage{Id: id, Metadata: map[string]string{"type": "t", "content-type": "application/octet-stream"}, Data: []byte{}}),
		msg(&api.AppendReq_ProposedMessage{Id: &shared.UUID{Value: &shared.UUID_String_{String_: uuid.NewString()}}, Metadata: map[string]string{"type": "t"}}),
		msg(&api.AppendReq_ProposedMessage{Metadata: map[string]string{"type": "Ünï", "x": ""}, Data: bytes.Repeat([]byte{0}, 300)}),
		msg(&api.AppendReq_ProposedMessage{}),
		append(append([]byte{}, full...), full...),    // the message twice: proto merges
		append(append([]byte{}, full...), 0x08, 0x01), // an unknown field
		opts,
		{},
		{0x12, 0x05, 0x12, 0x03, 0x0a, 0x01, 0xff}, // a map entry whose key is not UTF-8
	}
}

// FuzzDecodeProposed: whenever the fast decoder accepts a message, proto.Unmarshal accepts it too
// and yields the same message; whatever it declines is left to proto.Unmarshal.
func FuzzDecodeProposed(f *testing.F) {
	for _, b := range proposedSeeds() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pm, ok := decodeProposed(b)
		checkDecodeProposedInto(t, b, ok)
		if !ok {
			return
		}
		var want api.AppendReq
		if err := proto.Unmarshal(b, &want); err != nil {
			t.Fatalf("fast decoder accepted what proto.Unmarshal refuses (%v): %x", err, b)
		}
		got := &api.AppendReq{Content: pm}
		if !proto.Equal(got, &want) {
			t.Fatalf("fast decoder gave %v, proto.Unmarshal %v, for %x", got, &want, b)
		}
	})
}

// checkDecodeProposedInto: the direct decoder accepts what decodeProposed accepts, and the event it
// yields is the one the handler takes from proto.Unmarshal's message (the same checks, the same error).
func checkDecodeProposedInto(t *testing.T, b []byte, want bool) {
	t.Helper()
	fast := proposedIn{}
	fast.fast = decodeProposedInto(b, &fast.p)
	if fast.fast != want {
		t.Fatalf("decodeProposedInto accepts %v, decodeProposed %v, for %x", fast.fast, want, b)
	}
	if !want {
		return
	}
	slow := proposedIn{}
	if err := proto.Unmarshal(b, &slow.req); err != nil {
		t.Fatalf("fast decoder accepted what proto.Unmarshal refuses (%v): %x", err, b)
	}
	got, gerr := fast.proposed()
	exp, eerr := slow.proposed()
	if fmt.Sprint(gerr) != fmt.Sprint(eerr) || !reflect.DeepEqual(got, exp) {
		t.Fatalf("direct decoding gave %+v (%v), proto.Unmarshal %+v (%v), for %x", got, gerr, exp, eerr, b)
	}
}

// TestDecodeProposedTakesClientMessages: the shape the official client writes is decoded by the fast
// path (the fuzz test checks it agrees with proto.Unmarshal), and the other shapes are declined.
func TestDecodeProposedTakesClientMessages(t *testing.T) {
	seeds := proposedSeeds()
	for i, want := range []bool{true, true, false, true, true, false, false, false, false, false} {
		if _, ok := decodeProposed(seeds[i]); ok != want {
			t.Errorf("seed %d: fast path %v, want %v", i, ok, want)
		}
		checkDecodeProposedInto(t, seeds[i], want)
	}
}

// successToProto is the reference: the AppendResp message tree that appendSuccess encodes directly.
func successToProto(res WriteResult) *api.AppendResp {
	success := &api.AppendResp_Success{}
	if res.Revision < 0 {
		success.CurrentRevisionOption = &api.AppendResp_Success_NoStream{NoStream: &shared.Empty{}}
	} else {
		success.CurrentRevisionOption = &api.AppendResp_Success_CurrentRevision{CurrentRevision: uint64(res.Revision)}
	}
	if res.Position > 0 {
		success.PositionOption = &api.AppendResp_Success_Position{Position: &api.AppendResp_Position{
			CommitPosition: res.Position, PreparePosition: res.Position}}
	} else {
		success.PositionOption = &api.AppendResp_Success_NoPosition{NoPosition: &shared.Empty{}}
	}
	return &api.AppendResp{Result: &api.AppendResp_Success_{Success: success}}
}

// TestAppendSuccessMatchesProtoMarshal: the hand-written AppendResp is byte for byte what
// proto.Marshal writes for the message tree, for revisions and positions at their edges.
func TestAppendSuccessMatchesProtoMarshal(t *testing.T) {
	for _, res := range []WriteResult{{-1, 0}, {0, 0}, {0, 1}, {-1, 5}, {127, 128}, {1 << 40, 1 << 62}, {math.MaxInt64, math.MaxInt64}} {
		want, err := proto.MarshalOptions{Deterministic: true}.Marshal(successToProto(res))
		if err != nil {
			t.Fatal(err)
		}
		got := appendSuccess([]byte("prefix"), res)
		if string(got[:6]) != "prefix" {
			t.Fatalf("%+v: appendSuccess overwrote the buffer it appends to", res)
		}
		if !bytes.Equal(got[6:], want) {
			t.Errorf("%+v: encoded %x, proto.Marshal writes %x", res, got[6:], want)
		}
	}
}
