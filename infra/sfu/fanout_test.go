package sfu

import (
	"sync/atomic"
	"testing"

	"github.com/pion/rtp"
)

// TestSlowSubscriberLosesOnlyItsOwnPackets: a subscriber whose writer is stuck (its queue never
// drains) neither blocks the fan-out nor costs the other subscriber a packet; only its own copies
// beyond its queue are dropped and counted.
func TestSlowSubscriberLosesOnlyItsOwnPackets(t *testing.T) {
	t.Parallel()
	stuck := &downTrack{q: make(chan *rtp.Packet, 8)}
	healthy := &downTrack{q: make(chan *rtp.Packet, 1000)}
	pub := &publication{subs: map[*Participant]*downTrack{{id: "stuck"}: stuck, {id: "healthy"}: healthy}}
	var dropped atomic.Uint64
	for i := range 500 {
		pub.fanOut(&rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(i)}, Payload: []byte{1}}, &dropped)
	}
	if len(healthy.q) != 500 || len(stuck.q) != 8 || dropped.Load() != 492 {
		t.Fatalf("healthy %d, stuck %d, dropped %d", len(healthy.q), len(stuck.q), dropped.Load())
	}
	for i := range 500 {
		if p := <-healthy.q; p.SequenceNumber != uint16(i) {
			t.Fatalf("packet %d arrived as %d", i, p.SequenceNumber)
		}
	}
}
