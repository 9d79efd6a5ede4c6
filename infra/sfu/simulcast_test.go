package sfu_test

import (
	"context"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/belfry/belfry/infra/sfu"
	"github.com/belfry/belfry/infra/sfu/sfuclient"
	"github.com/pion/rtp"
)

// received is one video packet as a subscriber got it.
type received struct {
	seq   uint16
	ts    uint32
	layer int
	key   bool
}

// TestSimulcastLayerFollowsEstimate: a publisher sends its camera in five simulcast layers, one with
// an invalid RID and one beyond the three taken; a subscriber whose REMB says 150 kbit/s receives
// only the lowest layer, and once it says 5 Mbit/s it switches, at a keyframe, to the highest; the
// stream it sees stays one stream (sequence numbers follow on without gap or repeat across the
// switch, timestamps never go back); when the estimate falls again it goes back down. The refused layers never reach it and the track is one
// publication (one MediaStarted for video).
func TestSimulcastLayerFollowsEstimate(t *testing.T) {
	s, err := sfu.New(sfu.Config{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mu sync.Mutex
	var got []received
	onRTP := func(key string, pkt *rtp.Packet) {
		if key != "alice/video" {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		got = append(got, received{pkt.SequenceNumber, pkt.Timestamp, sfuclient.LayerOf(pkt.Payload), len(pkt.Payload) > 1 && pkt.Payload[1]&1 == 0})
	}
	snapshot := func() []received {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
	count := func(layer int) (n int) {
		for _, r := range snapshot() {
			if r.layer == layer {
				n++
			}
		}
		return n
	}
	// Bob sends REMB only (no transport-wide feedback): the send-side estimate, which starts at 600 kbit/s,
	// would otherwise choose his first layers until his first REMB arrives.
	bob := joinWith(t, s, "m", "bob", "", sfuclient.Options{OnRTP: onRTP, NoFeedback: true})
	// Layers by index: q 60 B a packet, b@d (invalid), h 960 B, f 1200 B, x (a fourth valid one).
	alice := joinSized(t, s, "m", "alice", "", sfuclient.Options{Simulcast: []string{"q", "b@d", "h", "f", "x"}}, 60)

	var estimate atomic.Uint32
	estimate.Store(math.Float32bits(150_000))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			_ = bob.c.EstimateBitrate(math.Float32frombits(estimate.Load()))
			time.Sleep(50 * time.Millisecond)
		}
	}()

	waitFor(t, "150 packets of alice's video at bob", func() bool { return len(snapshot()) >= 150 })
	for _, r := range snapshot() {
		if r.layer != 0 {
			t.Fatalf("at 150 kbit/s bob received layer %d", r.layer)
		}
	}
	if first := snapshot()[0]; !first.key {
		t.Fatal("bob's first packet is not a keyframe")
	}

	estimate.Store(math.Float32bits(5_000_000))
	waitFor(t, "the highest layer at bob", func() bool { return count(3) >= 50 })

	switches := continuous(t, snapshot())
	if switches == 0 || bob.p.LayerSwitches() != uint64(switches) || s.Stats().LayerSwitches < uint64(switches) {
		t.Fatalf("switches: seen %d, participant %d, stats %+v", switches, bob.p.LayerSwitches(), s.Stats())
	}

	// Down again: back to the lowest layer, still one stream.
	estimate.Store(math.Float32bits(150_000))
	low := count(0)
	waitFor(t, "the lowest layer at bob again", func() bool { return count(0) >= low+50 })
	rs := snapshot()
	switches = continuous(t, rs)
	if last := rs[len(rs)-1]; last.layer != 0 || bob.p.LayerSwitches() != uint64(switches) {
		t.Fatalf("after the estimate fell: layer %d, switches %d (seen %d)", last.layer, bob.p.LayerSwitches(), switches)
	}
	t.Logf("%d packets, %d switches; by layer: q %d, h %d, f %d", len(rs), switches, count(0), count(2), count(3))
	if n1, n4 := count(1), count(4); n1 != 0 || n4 != 0 {
		t.Fatalf("refused layers reached bob: invalid RID %d packets, fourth layer %d", n1, n4)
	}
	alice.mu.Lock()
	started := slices.Clone(alice.started)
	alice.mu.Unlock()
	slices.Sort(started)
	if !slices.Equal(started, []string{"audio", "video"}) {
		t.Fatalf("alice's media started: %v", started)
	}
	// Alice still receives bob's plain video.
	n := alice.c.Received("bob", "video")
	waitFor(t, "bob's video at alice", func() bool { return alice.c.Received("bob", "video") > n+20 })
}

// continuous checks that rs is one stream (sequence numbers grow, none repeated, timestamps never
// go back) and that each layer switch is seamless (the next sequence number, a later timestamp, a
// keyframe); it returns the number of switches.
func continuous(t *testing.T, rs []received) (switches int) {
	t.Helper()
	for i := 1; i < len(rs); i++ {
		a, b := rs[i-1], rs[i]
		if d := b.seq - a.seq; d == 0 || d > 100 {
			t.Fatalf("packet %d: sequence %d after %d", i, b.seq, a.seq)
		}
		if int32(b.ts-a.ts) < 0 {
			t.Fatalf("packet %d: timestamp %d after %d", i, b.ts, a.ts)
		}
		if b.layer == a.layer {
			continue
		}
		switches++
		if b.seq != a.seq+1 || b.ts == a.ts || !b.key {
			t.Fatalf("switch from layer %d to %d: sequence %d→%d, timestamp %d→%d, keyframe %v", a.layer, b.layer, a.seq, b.seq, a.ts, b.ts, b.key)
		}
	}
	return switches
}
