// Package wirecodec replaces gRPC's "proto" codec, in the processes that import it, with one that
// decodes the message a catch-up read receives by the hundred thousand, an EventStoreDB ReadResp
// carrying an event, with a decoder written for it, and everything else as gRPC's own codec does.
//
// Invariant: for every input, Unmarshal leaves the message equal (proto.Equal) to what gRPC's proto
// codec leaves, or fails as it fails. The fast decoder handles exactly the wire form of an event
// read (the fields of ReadResp.event, each message field once, valid UTF-8 in every string field);
// on anything else (another content, an unknown or repeated message field, a wrong wire type,
// invalid UTF-8, a truncated message) it gives up and the message is decoded by gRPC's codec from
// the start. A fuzz test holds the two decoders to the same result.
//
// The replacement is registered by init, as gRPC requires of codecs: import the package (for its
// side effect) from main.
package wirecodec

import (
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/proto" // registers the codec this one wraps, before init
	"google.golang.org/grpc/mem"
)

func init() {
	encoding.RegisterCodecV2(Codec{Base: encoding.GetCodecV2("proto")})
}

// Codec is gRPC's proto codec (Base) with the fast decoder of event reads.
type Codec struct{ Base encoding.CodecV2 }

// Name is the codec's content subtype: this codec stands in for gRPC's proto codec.
func (Codec) Name() string { return "proto" }

// Marshal is the base codec's.
func (c Codec) Marshal(v any) (mem.BufferSlice, error) { return c.Base.Marshal(v) }

// Unmarshal decodes data into v: a ReadResp with the fast decoder when it can, anything else (and
// a ReadResp it gives up on) with the base codec.
func (c Codec) Unmarshal(data mem.BufferSlice, v any) error {
	if m, ok := v.(*streams.ReadResp); ok {
		m.Reset() // as proto.Unmarshal does: nothing of an earlier message survives
		buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
		fast := DecodeReadResp(buf.ReadOnlyData(), m)
		buf.Free()
		if fast {
			return nil
		}
		m.Reset()
	}
	return c.Base.Unmarshal(data, v)
}
