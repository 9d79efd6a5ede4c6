package wirecodec

import (
	"sync/atomic"
	"unicode/utf8"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"google.golang.org/protobuf/encoding/protowire"
)

// DecodeReadResp decodes b, a ReadResp whose content is an event, into m (empty), copying every
// string and byte field out of b; false when b is anything else (m is then partly filled: reset it
// before decoding b another way).
func DecodeReadResp(b []byte, m *streams.ReadResp) bool {
	var ev *streams.ReadResp_ReadEvent
	for len(b) > 0 {
		num, v, rest, ok := field(b)
		if !ok || num != 1 || ev != nil {
			return false
		}
		blk := &block{}
		ev = &blk.read
		if !readEvent(v, ev, blk) {
			return false
		}
		blk.content.Event = ev
		m.Content = &blk.content
		b = rest
	}
	return ev != nil
}

// block holds the fixed messages of one event read, allocated together: one allocation where
// protobuf-go makes one per message (the event's own, and a link's, are allocated apart).
type block struct {
	content    streams.ReadResp_Event
	read       streams.ReadResp_ReadEvent
	event      streams.ReadResp_ReadEvent_RecordedEvent
	commit     streams.ReadResp_ReadEvent_CommitPosition
	id         shared.UUID
	structured shared.UUID_Structured_
	bits       shared.UUID_Structured
	stream     shared.StreamIdentifier
	eventTaken bool // event, id, structured, bits and stream are in use
}

// field consumes one field of b whose wire type is bytes; v is its value (never nil when ok),
// sharing b's memory.
func field(b []byte) (num protowire.Number, v []byte, rest []byte, ok bool) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 || typ != protowire.BytesType {
		return 0, nil, nil, false
	}
	v, m := protowire.ConsumeBytes(b[n:])
	if m < 0 {
		return 0, nil, nil, false
	}
	if v == nil {
		v = []byte{}
	}
	return num, v, b[n+m:], true
}

// varint consumes one varint field of b.
func varint(b []byte) (num protowire.Number, x uint64, rest []byte, ok bool) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 || typ != protowire.VarintType {
		return 0, 0, nil, false
	}
	x, m := protowire.ConsumeVarint(b[n:])
	if m < 0 {
		return 0, 0, nil, false
	}
	return num, x, b[n+m:], true
}

// tag peeks at the next field's number and wire type.
func tag(b []byte) (protowire.Number, protowire.Type, bool) {
	num, typ, n := protowire.ConsumeTag(b)
	return num, typ, n > 0
}

// readEvent decodes a ReadEvent: event (1), link (2), commit_position (3) or no_position (4, empty).
func readEvent(b []byte, ev *streams.ReadResp_ReadEvent, blk *block) bool {
	for len(b) > 0 {
		num, typ, ok := tag(b)
		if !ok {
			return false
		}
		if num == 3 {
			_, x, rest, ok := varint(b)
			if !ok {
				return false
			}
			blk.commit.CommitPosition = x
			ev.Position, b = &blk.commit, rest
			continue
		}
		if typ != protowire.BytesType {
			return false
		}
		_, v, rest, ok := field(b)
		if !ok {
			return false
		}
		switch {
		case num == 1 && ev.Event == nil:
			ev.Event = blk.recorded()
			ok = recorded(v, ev.Event, blk)
		case num == 2 && ev.Link == nil:
			ev.Link = blk.recorded()
			ok = recorded(v, ev.Link, blk)
		case num == 4 && len(v) == 0:
			if _, again := ev.Position.(*streams.ReadResp_ReadEvent_NoPosition); again {
				return false // a repeated message field merges: left to the base codec
			}
			ev.Position = &streams.ReadResp_ReadEvent_NoPosition{NoPosition: &shared.Empty{}}
		default:
			return false
		}
		if !ok {
			return false
		}
		b = rest
	}
	return true
}

// recorded is a RecordedEvent to decode into: the block's own the first time, a new one after.
func (blk *block) recorded() *streams.ReadResp_ReadEvent_RecordedEvent {
	if blk.eventTaken {
		return &streams.ReadResp_ReadEvent_RecordedEvent{}
	}
	blk.eventTaken = true
	return &blk.event
}

// recorded decodes a RecordedEvent (with the block's id and stream messages when r is the block's).
func recorded(b []byte, r *streams.ReadResp_ReadEvent_RecordedEvent, blk *block) bool {
	own := r == &blk.event
	var slab []byte // the bytes fields, copied into one allocation
	if n := bytesLen(b); n > 0 {
		slab = make([]byte, 0, n)
	}
	for len(b) > 0 {
		num, typ, ok := tag(b)
		if !ok {
			return false
		}
		if num >= 3 && num <= 5 {
			_, x, rest, ok := varint(b)
			if !ok {
				return false
			}
			switch num {
			case 3:
				r.StreamRevision = x
			case 4:
				r.PreparePosition = x
			default:
				r.CommitPosition = x
			}
			b = rest
			continue
		}
		if typ != protowire.BytesType {
			return false
		}
		_, v, rest, ok := field(b)
		if !ok || !recordedBytes(num, v, r, own, blk, &slab) {
			return false
		}
		b = rest
	}
	return true
}

// bytesLen is the length of the bytes fields of a RecordedEvent (stream name, custom metadata,
// data) as b holds them, for one slab to copy them into (0 when b is not well formed: the fields
// then get their own allocations, or the decoding gives up).
func bytesLen(b []byte) int {
	n := 0
	for len(b) > 0 {
		num, typ, tn := protowire.ConsumeTag(b)
		if tn < 0 {
			return 0
		}
		vn := protowire.ConsumeFieldValue(num, typ, b[tn:])
		if vn < 0 {
			return 0
		}
		switch num {
		case 2, 7, 8:
			n += vn // the stream name is inside its message: vn bounds it
		}
		b = b[tn+vn:]
	}
	return n
}

// recordedBytes sets the bytes-typed field num of r from v; own says that r is the block's event,
// whose id and stream messages are the block's; bytes values are copied into *slab.
func recordedBytes(num protowire.Number, v []byte, r *streams.ReadResp_ReadEvent_RecordedEvent, own bool, blk *block, slab *[]byte) bool {
	switch num {
	case 1:
		if r.Id != nil {
			return false
		}
		if own {
			r.Id = &blk.id
		} else {
			r.Id = new(shared.UUID)
		}
		return uuid(v, r.Id, own, blk)
	case 2:
		if r.StreamIdentifier != nil {
			return false
		}
		if own {
			r.StreamIdentifier = &blk.stream
		} else {
			r.StreamIdentifier = new(shared.StreamIdentifier)
		}
		return streamID(v, r.StreamIdentifier, slab)
	case 6:
		k, val, ok := mapEntry(v)
		if !ok {
			return false
		}
		if r.Metadata == nil {
			r.Metadata = make(map[string]string, 3)
		}
		r.Metadata[k] = val
	case 7:
		r.CustomMetadata = clone(v, slab)
	case 8:
		r.Data = clone(v, slab)
	default:
		return false
	}
	return true
}

// clone copies v into the free capacity of *slab (a new allocation when it has too little), capped
// so that appending to the copy never writes over the next; an empty value decodes to nil, as
// protobuf-go decodes a proto3 bytes field.
func clone(v []byte, slab *[]byte) []byte {
	if len(v) == 0 {
		return nil
	}
	s := *slab
	if cap(s)-len(s) < len(v) {
		return append(make([]byte, 0, len(v)), v...)
	}
	start := len(s)
	s = append(s, v...)
	*slab = s
	return s[start:len(s):len(s)]
}

// uuid decodes a UUID: structured (1: most (1), least (2) significant bits) or string (2); own:
// with the block's messages.
func uuid(b []byte, u *shared.UUID, own bool, blk *block) bool {
	for len(b) > 0 {
		num, v, rest, ok := field(b)
		if !ok || u.Value != nil {
			return false
		}
		switch num {
		case 1:
			s, wrap := &shared.UUID_Structured{}, &shared.UUID_Structured_{}
			if own {
				s, wrap = &blk.bits, &blk.structured
			}
			for len(v) > 0 {
				n, x, r, ok := varint(v)
				if !ok {
					return false
				}
				switch n {
				case 1:
					s.MostSignificantBits = int64(x)
				case 2:
					s.LeastSignificantBits = int64(x)
				default:
					return false
				}
				v = r
			}
			wrap.Structured = s
			u.Value = wrap
		case 2:
			if !utf8.Valid(v) {
				return false
			}
			u.Value = &shared.UUID_String_{String_: string(v)}
		default:
			return false
		}
		b = rest
	}
	return true
}

// streamID decodes a StreamIdentifier: stream_name (3, bytes), copied into *slab.
func streamID(b []byte, s *shared.StreamIdentifier, slab *[]byte) bool {
	for len(b) > 0 {
		num, v, rest, ok := field(b)
		if !ok || num != 3 {
			return false
		}
		s.StreamName, b = clone(v, slab), rest
	}
	return true
}

// mapEntry decodes one entry of a map<string, string>: key (1), value (2), each valid UTF-8. Keys,
// and the values of every key but "created" (a time, new with each event), are interned.
func mapEntry(b []byte) (k, v string, ok bool) {
	var val []byte
	for len(b) > 0 {
		num, x, rest, ok := field(b)
		if !ok || !utf8.Valid(x) {
			return "", "", false
		}
		switch num {
		case 1:
			k = intern(x)
		case 2:
			val = x
		default:
			return "", "", false
		}
		b = rest
	}
	if k == "created" {
		return k, string(val), true
	}
	return k, intern(val), true
}

// interned is a bounded table of the strings event reads repeat (metadata keys, event types,
// content types), read and written without locks: a slot holds the last string hashed to it.
var interned [1 << 12]atomic.Pointer[string]

// intern returns string(b), from the table when the string is in it.
func intern(b []byte) string {
	if len(b) > 128 {
		return string(b)
	}
	h := uint32(2166136261) // FNV-1a
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	slot := &interned[h&(uint32(len(interned))-1)]
	if p := slot.Load(); p != nil && *p == string(b) {
		return *p
	}
	s := string(b)
	slot.Store(&s)
	return s
}
