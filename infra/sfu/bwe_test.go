package sfu_test

import (
	"sync"
	"testing"

	"github.com/pion/rtp"

	"github.com/belfry/belfry/infra/sfu"
	"github.com/belfry/belfry/infra/sfu/sfuclient"
)

// TestSendSideEstimatePicksLayers: a subscriber that sends no REMB but transport-wide feedback, as
// a browser does, gets the simulcast layer its send-side estimate fits (here the highest: every
// layer is far below the estimate's starting point), where one that sends neither stays on the
// lowest.
func TestSendSideEstimatePicksLayers(t *testing.T) {
	s, err := sfu.New(sfu.Config{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mu sync.Mutex
	layers := map[string]map[int]int{"fed": {}, "plain": {}}
	on := func(who string) func(string, *rtp.Packet) {
		return func(key string, pkt *rtp.Packet) {
			if key != "alice/video" {
				return
			}
			mu.Lock()
			layers[who][sfuclient.LayerOf(pkt.Payload)]++
			mu.Unlock()
		}
	}
	count := func(who string, layer int) int {
		mu.Lock()
		defer mu.Unlock()
		return layers[who][layer]
	}
	joinWith(t, s, "m", "fed", "", sfuclient.Options{OnRTP: on("fed")})
	joinWith(t, s, "m", "plain", "", sfuclient.Options{OnRTP: on("plain"), NoFeedback: true})
	// Layers q, h, f of 30, 120 and 480 bytes every 10 ms: about 24, 96 and 384 kbit/s.
	joinSized(t, s, "m", "alice", "", sfuclient.Options{Simulcast: []string{"q", "h", "f"}}, 30)

	waitFor(t, "the highest layer at the subscriber that sends feedback", func() bool { return count("fed", 2) >= 50 })
	waitFor(t, "the other subscriber's video", func() bool { return count("plain", 0) >= 100 })
	if n1, n2 := count("plain", 1), count("plain", 2); n1+n2 != 0 {
		t.Fatalf("a subscriber without an estimate got higher layers: h %d, f %d", n1, n2)
	}
}
