package eventlog

import (
	"strconv"
	"unicode/utf8"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
)

// encodedResp is a ReadResp already in protobuf wire form. The server's codec sends its bytes as they
// are, so an event read from Postgres or the ring goes onto the wire without building a message tree
// (ReadResp, ReadEvent, RecordedEvent, UUID, StreamIdentifier, a metadata map) per event.
//
// The bytes must not change after Send: the transport may still hold them when Send returns.
type encodedResp []byte

// wireCodec is the proto codec that passes encodedResp through. Every other message is handled by
// gRPC's own proto codec, so requests and the other responses are unaffected.
type wireCodec struct{ encoding.CodecV2 }

func newWireCodec() wireCodec { return wireCodec{encoding.GetCodecV2(proto.Name)} }

func (c wireCodec) Marshal(v any) (mem.BufferSlice, error) {
	if e, ok := v.(encodedResp); ok {
		return mem.BufferSlice{mem.SliceBuffer(e)}, nil
	}
	return c.CodecV2.Marshal(v)
}

// Unmarshal decodes the proposed-event messages of an append (all but its first message) directly
// into the generated types, or into a Proposed (proposedIn), without reflection; every other message,
// and any proposed message that is not in the plain shape the official clients write, goes to gRPC's
// proto codec, so the result (and every error) is exactly what proto.Unmarshal gives.
func (c wireCodec) Unmarshal(data mem.BufferSlice, v any) error {
	switch m := v.(type) {
	case *proposedIn:
		buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
		m.fast = decodeProposedInto(buf.ReadOnlyData(), &m.p)
		buf.Free()
		if m.fast {
			return nil
		}
		m.req = api.AppendReq{}
		return c.CodecV2.Unmarshal(data, &m.req)
	case *api.AppendReq:
		buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
		pm, ok := decodeProposed(buf.ReadOnlyData())
		buf.Free()
		if ok {
			m.Content = pm
			return nil
		}
	}
	return c.CodecV2.Unmarshal(data, v)
}

// proposedIn receives an append message after the first: the proposed event, decoded straight into
// p (fast), or else the message as proto.Unmarshal makes it (req).
type proposedIn struct {
	fast bool
	p    Proposed // the id, the "type" and "content-type" metadata entries, data and custom metadata
	req  api.AppendReq
}

// Field numbers of event_store.client.streams.AppendReq and its ProposedMessage.
const (
	fAppendProposed = 2 // AppendReq.proposed_message
	fPropID         = 1
	fPropMetadata   = 2 // map<string, string>
	fPropCustom     = 3
	fPropData       = 4
)

// decodeProposed decodes an AppendReq that carries a ProposedMessage whose id is a structured UUID.
// It reports false for anything else — another field, a field given twice, a string UUID, a wire
// type or UTF-8 error — and the caller then leaves the message to proto.Unmarshal.
func decodeProposed(b []byte) (*api.AppendReq_ProposedMessage_, bool) {
	// One allocation for the message tree of the event, one for its data and custom metadata.
	a := &struct {
		content api.AppendReq_ProposedMessage_
		pm      api.AppendReq_ProposedMessage
		id      shared.UUID
		value   shared.UUID_Structured_
		st      shared.UUID_Structured
	}{}
	a.content.ProposedMessage = &a.pm
	pm := &a.pm
	seenID := false
	ok := scanProposed(b, &a.st, &seenID, func(k, v string) {
		if pm.Metadata == nil {
			pm.Metadata = make(map[string]string, 2)
		}
		pm.Metadata[k] = v
	}, &pm.CustomMetadata, &pm.Data)
	if !ok {
		return nil, false
	}
	if seenID {
		a.value.Structured = &a.st
		a.id.Value = &a.value
		pm.Id = &a.id
	}
	return &a.content, true
}

// decodeProposedInto is decodeProposed for the fields a Proposed keeps: the id (the nil UUID when
// absent), the last "type" and "content-type" metadata entries, data and custom metadata (nil when
// absent or empty). It reports false where decodeProposed does.
func decodeProposedInto(b []byte, p *Proposed) bool {
	*p = Proposed{}
	var st shared.UUID_Structured
	var seenID bool
	ok := scanProposed(b, &st, &seenID, func(k, v string) {
		switch k {
		case "type":
			p.Type = v
		case "content-type":
			p.ContentType = v
		}
	}, &p.Metadata, &p.Data)
	if !ok {
		return false
	}
	for i := 0; i < 8; i++ {
		p.EventID[i] = byte(uint64(st.MostSignificantBits) >> (56 - 8*i))
		p.EventID[8+i] = byte(uint64(st.LeastSignificantBits) >> (56 - 8*i))
	}
	return true
}

// scanProposed walks an AppendReq that carries a ProposedMessage in the plain shape: the id's
// structured value goes to st (seenID set), each metadata entry to entry, and copies of custom
// metadata and data (empty ones as []byte{}) to custom and data.
func scanProposed(b []byte, st *shared.UUID_Structured, seenID *bool, entry func(k, v string), custom, data *[]byte) bool {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 || num != fAppendProposed || typ != protowire.BytesType {
		return false
	}
	msg, m := protowire.ConsumeBytes(b[n:])
	if m < 0 || n+m != len(b) {
		return false
	}
	var payload []byte
	var seen [5]bool
	for len(msg) > 0 {
		num, typ, n := protowire.ConsumeTag(msg)
		if n < 0 || typ != protowire.BytesType || num < fPropID || num > fPropData || (seen[num] && num != fPropMetadata) {
			return false
		}
		seen[num] = true
		v, m := protowire.ConsumeBytes(msg[n:])
		if m < 0 {
			return false
		}
		msg = msg[n+m:]
		switch num {
		case fPropID:
			if !decodeStructuredUUID(v, st) {
				return false
			}
			*seenID = true
		case fPropMetadata:
			k, val, ok := decodeStringEntry(v)
			if !ok {
				return false
			}
			entry(k, val)
		case fPropCustom:
			*custom, payload = carve(payload, v, len(msg))
		case fPropData:
			*data, payload = carve(payload, v, len(msg))
		}
	}
	return true
}

// carve copies v into the free part of payload, allocating room for v and the rest bytes still to
// decode when it does not fit, and returns the copy (never nil) and the remaining room.
func carve(payload, v []byte, rest int) (cp, remaining []byte) {
	if len(v) == 0 {
		return []byte{}, payload
	}
	if cap(payload)-len(payload) < len(v) {
		payload = make([]byte, 0, len(v)+rest)
	}
	start := len(payload)
	payload = append(payload, v...)
	return payload[start:len(payload):len(payload)], payload[len(payload):]
}

// decodeStructuredUUID decodes a UUID message holding a structured value into st.
func decodeStructuredUUID(b []byte, st *shared.UUID_Structured) bool {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 || num != fUUIDStructured || typ != protowire.BytesType {
		return false
	}
	v, m := protowire.ConsumeBytes(b[n:])
	if m < 0 || n+m != len(b) {
		return false
	}
	var seen [3]bool
	for len(v) > 0 {
		num, typ, n := protowire.ConsumeTag(v)
		if n < 0 || typ != protowire.VarintType || (num != fStructMost && num != fStructLeast) || seen[num] {
			return false
		}
		seen[num] = true
		x, m := protowire.ConsumeVarint(v[n:])
		if m < 0 {
			return false
		}
		v = v[n+m:]
		if num == fStructMost {
			st.MostSignificantBits = int64(x)
		} else {
			st.LeastSignificantBits = int64(x)
		}
	}
	return true
}

// decodeStringEntry decodes a map<string, string> entry (key 1, value 2, each at most once).
func decodeStringEntry(b []byte) (k, v string, ok bool) {
	var seen [3]bool
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || typ != protowire.BytesType || (num != 1 && num != 2) || seen[num] {
			return "", "", false
		}
		seen[num] = true
		s, m := protowire.ConsumeBytes(b[n:])
		if m < 0 || !utf8.Valid(s) {
			return "", "", false
		}
		b = b[n+m:]
		if num == 1 {
			k = internKey(s)
		} else {
			v = internValue(s)
		}
	}
	return k, v, true
}

// internKey and internValue return the strings every append repeats without allocating.
func internKey(b []byte) string {
	switch string(b) {
	case "type":
		return "type"
	case "content-type":
		return "content-type"
	}
	return string(b)
}

func internValue(b []byte) string {
	switch string(b) {
	case "application/json":
		return "application/json"
	case "application/octet-stream":
		return "application/octet-stream"
	}
	return string(b)
}

// Field numbers of event_store.client.streams.ReadResp and the messages inside it.
const (
	fReadRespEvent        = 1 // ReadResp.event (ReadEvent)
	fReadEventEvent       = 1 // ReadEvent.event (RecordedEvent)
	fReadEventCommitPos   = 3 // ReadEvent.commit_position
	fRecID                = 1 // RecordedEvent.id (UUID)
	fRecStream            = 2 // RecordedEvent.stream_identifier (StreamIdentifier)
	fRecRevision          = 3
	fRecPreparePos        = 4
	fRecCommitPos         = 5
	fRecMetadata          = 6 // map<string, string>
	fRecCustomMetadata    = 7
	fRecData              = 8
	fUUIDStructured       = 1 // UUID.structured
	fStructMost           = 1
	fStructLeast          = 2
	fStreamIdentifierName = 3
)

// appendEvent appends the wire form of the ReadResp that carries r, field for field what proto.Marshal
// writes for eventToProto(r) (zero scalars and empty bytes left out, as proto3 does).
func appendEvent(b []byte, r *Record) []byte {
	var most, least uint64
	for i := 0; i < 8; i++ {
		most = most<<8 | uint64(r.EventID[i])
		least = least<<8 | uint64(r.EventID[8+i])
	}
	structured := sizeVarintField(most) + sizeVarintField(least)
	uuidMsg := protowire.SizeTag(fUUIDStructured) + protowire.SizeBytes(structured)
	streamMsg := 0
	if len(r.Stream) > 0 {
		streamMsg = protowire.SizeTag(fStreamIdentifierName) + protowire.SizeBytes(len(r.Stream))
	}
	var createdBuf [20]byte
	created := strconv.AppendInt(createdBuf[:0], r.Created, 10)
	entries := [2][2]string{{"type", r.Type}, {"content-type", r.ContentType}}
	metaSize := 0
	for _, kv := range entries {
		metaSize += protowire.SizeTag(fRecMetadata) + protowire.SizeBytes(sizeEntry(len(kv[0]), len(kv[1])))
	}
	metaSize += protowire.SizeTag(fRecMetadata) + protowire.SizeBytes(sizeEntry(len("created"), len(created)))

	rec := protowire.SizeTag(fRecID) + protowire.SizeBytes(uuidMsg) +
		protowire.SizeTag(fRecStream) + protowire.SizeBytes(streamMsg) +
		sizeVarintField(r.Revision) + 2*sizeVarintField(r.Position) + metaSize +
		sizeBytesField(len(r.Metadata)) + sizeBytesField(len(r.Data))
	readEvent := protowire.SizeTag(fReadEventEvent) + protowire.SizeBytes(rec) +
		protowire.SizeTag(fReadEventCommitPos) + protowire.SizeVarint(r.Position)

	b = protowire.AppendTag(b, fReadRespEvent, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(readEvent))
	b = protowire.AppendTag(b, fReadEventEvent, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(rec))

	b = protowire.AppendTag(b, fRecID, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(uuidMsg))
	b = protowire.AppendTag(b, fUUIDStructured, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(structured))
	b = appendVarintField(b, fStructMost, most)
	b = appendVarintField(b, fStructLeast, least)

	b = protowire.AppendTag(b, fRecStream, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(streamMsg))
	if len(r.Stream) > 0 {
		b = protowire.AppendTag(b, fStreamIdentifierName, protowire.BytesType)
		b = protowire.AppendString(b, r.Stream)
	}
	b = appendVarintField(b, fRecRevision, r.Revision)
	b = appendVarintField(b, fRecPreparePos, r.Position)
	b = appendVarintField(b, fRecCommitPos, r.Position)
	for _, kv := range entries {
		b = appendEntry(b, kv[0], kv[1])
	}
	b = protowire.AppendTag(b, fRecMetadata, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(sizeEntry(len("created"), len(created))))
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, "created")
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendBytes(b, created)
	if len(r.Metadata) > 0 {
		b = protowire.AppendTag(b, fRecCustomMetadata, protowire.BytesType)
		b = protowire.AppendBytes(b, r.Metadata)
	}
	if len(r.Data) > 0 {
		b = protowire.AppendTag(b, fRecData, protowire.BytesType)
		b = protowire.AppendBytes(b, r.Data)
	}
	b = protowire.AppendTag(b, fReadEventCommitPos, protowire.VarintType)
	return protowire.AppendVarint(b, r.Position)
}

// Field numbers of event_store.client.streams.AppendResp and its Success.
const (
	fAppendRespSuccess = 1 // AppendResp.success
	fSuccessRevision   = 1 // Success.current_revision (oneof)
	fSuccessNoStream   = 2 // Success.no_stream (oneof, Empty)
	fSuccessPosition   = 3 // Success.position (oneof, Position{commit_position 1, prepare_position 2})
	fSuccessNoPosition = 4 // Success.no_position (oneof, Empty)
)

// appendSuccess appends the wire form of the AppendResp that reports res, what proto.Marshal writes
// for it: the current revision (or no_stream for a negative one), the position (or no_position for 0).
func appendSuccess(b []byte, res WriteResult) []byte {
	success := 2 // the no_stream or no_position field with an empty message: tag and length 0
	if res.Revision >= 0 {
		success = 1 + protowire.SizeVarint(uint64(res.Revision)) // oneof: written even when 0
	}
	position := 2 * sizeVarintField(res.Position)
	if res.Position > 0 {
		success += 1 + protowire.SizeBytes(position)
	} else {
		success += 2
	}
	b = protowire.AppendTag(b, fAppendRespSuccess, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(success))
	if res.Revision >= 0 {
		b = protowire.AppendTag(b, fSuccessRevision, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(res.Revision))
	} else {
		b = protowire.AppendTag(b, fSuccessNoStream, protowire.BytesType)
		b = protowire.AppendVarint(b, 0)
	}
	if res.Position > 0 {
		b = protowire.AppendTag(b, fSuccessPosition, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(position))
		b = appendVarintField(b, 1, res.Position)
		return appendVarintField(b, 2, res.Position)
	}
	b = protowire.AppendTag(b, fSuccessNoPosition, protowire.BytesType)
	return protowire.AppendVarint(b, 0)
}

// sizeVarintField is the size of a varint field with a one-byte tag (field numbers below 16),
// 0 for a zero value (proto3 leaves it out).
func sizeVarintField(v uint64) int {
	if v == 0 {
		return 0
	}
	return 1 + protowire.SizeVarint(v)
}

func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// sizeBytesField is the size of a bytes field with a one-byte tag, 0 when empty.
func sizeBytesField(n int) int {
	if n == 0 {
		return 0
	}
	return 1 + protowire.SizeBytes(n)
}

// sizeEntry is the size of a map<string, string> entry message (key 1, value 2; both always written,
// as proto.Marshal does for map entries).
func sizeEntry(k, v int) int { return 2 + protowire.SizeBytes(k) + protowire.SizeBytes(v) }

func appendEntry(b []byte, k, v string) []byte {
	b = protowire.AppendTag(b, fRecMetadata, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(sizeEntry(len(k), len(v))))
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, k)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	return protowire.AppendString(b, v)
}

// eventSender encodes events into large shared slabs and sends each as one encodedResp. A slab is
// never written again where a sent message lies, so the transport may keep referring to it; the
// garbage collector frees it once every message in it is written.
type eventSender struct {
	stream grpc.ServerStream
	slab   []byte
}

// slabSize is the size of one encoding slab (events larger than this get a slab of their own).
const slabSize = 256 << 10

func (s *eventSender) send(r *Record) error {
	bound := len(r.Stream) + len(r.Type) + len(r.ContentType) + len(r.Data) + len(r.Metadata) + 256
	if cap(s.slab)-len(s.slab) < bound {
		s.slab = make([]byte, 0, max(slabSize, bound))
	}
	start := len(s.slab)
	s.slab = appendEvent(s.slab, r)
	return s.stream.SendMsg(encodedResp(s.slab[start:len(s.slab):len(s.slab)]))
}
