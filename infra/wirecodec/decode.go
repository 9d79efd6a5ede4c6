package wirecodec

import (
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
		ev = &streams.ReadResp_ReadEvent{}
		if !readEvent(v, ev) {
			return false
		}
		b = rest
	}
	if ev == nil {
		return false
	}
	m.Content = &streams.ReadResp_Event{Event: ev}
	return true
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
func readEvent(b []byte, ev *streams.ReadResp_ReadEvent) bool {
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
			ev.Position, b = &streams.ReadResp_ReadEvent_CommitPosition{CommitPosition: x}, rest
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
			ev.Event = &streams.ReadResp_ReadEvent_RecordedEvent{}
			ok = recorded(v, ev.Event)
		case num == 2 && ev.Link == nil:
			ev.Link = &streams.ReadResp_ReadEvent_RecordedEvent{}
			ok = recorded(v, ev.Link)
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

// recorded decodes a RecordedEvent.
func recorded(b []byte, r *streams.ReadResp_ReadEvent_RecordedEvent) bool {
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
		if !ok || !recordedBytes(num, v, r) {
			return false
		}
		b = rest
	}
	return true
}

// recordedBytes sets the bytes-typed field num of r from v.
func recordedBytes(num protowire.Number, v []byte, r *streams.ReadResp_ReadEvent_RecordedEvent) bool {
	switch num {
	case 1:
		if r.Id != nil {
			return false
		}
		r.Id = &shared.UUID{}
		return uuid(v, r.Id)
	case 2:
		if r.StreamIdentifier != nil {
			return false
		}
		r.StreamIdentifier = &shared.StreamIdentifier{}
		return streamID(v, r.StreamIdentifier)
	case 6:
		k, val, ok := mapEntry(v)
		if !ok {
			return false
		}
		if r.Metadata == nil {
			r.Metadata = make(map[string]string, 4)
		}
		r.Metadata[k] = val
	case 7:
		r.CustomMetadata = clone(v)
	case 8:
		r.Data = clone(v)
	default:
		return false
	}
	return true
}

// clone copies v; an empty value decodes to nil, as protobuf-go decodes a proto3 bytes field.
func clone(v []byte) []byte {
	if len(v) == 0 {
		return nil
	}
	return append(make([]byte, 0, len(v)), v...)
}

// uuid decodes a UUID: structured (1: most (1), least (2) significant bits) or string (2).
func uuid(b []byte, u *shared.UUID) bool {
	for len(b) > 0 {
		num, v, rest, ok := field(b)
		if !ok || u.Value != nil {
			return false
		}
		switch num {
		case 1:
			s := &shared.UUID_Structured{}
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
			u.Value = &shared.UUID_Structured_{Structured: s}
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

// streamID decodes a StreamIdentifier: stream_name (3, bytes).
func streamID(b []byte, s *shared.StreamIdentifier) bool {
	for len(b) > 0 {
		num, v, rest, ok := field(b)
		if !ok || num != 3 {
			return false
		}
		s.StreamName, b = clone(v), rest
	}
	return true
}

// mapEntry decodes one entry of a map<string, string>: key (1), value (2), each valid UTF-8.
func mapEntry(b []byte) (k, v string, ok bool) {
	for len(b) > 0 {
		num, x, rest, ok := field(b)
		if !ok || !utf8.Valid(x) {
			return "", "", false
		}
		switch num {
		case 1:
			k = string(x)
		case 2:
			v = string(x)
		default:
			return "", "", false
		}
		b = rest
	}
	return k, v, true
}
