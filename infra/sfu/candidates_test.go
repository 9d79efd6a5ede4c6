package sfu_test

import (
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/belfry/belfry/infra/sfu"
	"github.com/belfry/belfry/infra/sfu/sfuclient"
)

// TestCandidateFloodIsBounded: a participant that floods ICE candidates after its answer (each one
// distinct: an address, or an mDNS name the SFU would resolve) has the excess refused with
// ErrCandidate; the SFU's ICE agent neither keeps them (pairs it checks) nor starts a goroutine for
// each; the participant stays joined.
func TestCandidateFloodIsBounded(t *testing.T) {
	s, err := sfu.New(sfu.Config{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	x := &rawPeer{offers: make(chan string, 4), closed: make(chan string, 1)}
	p, err := s.Join("m", "x", x)
	if err != nil {
		t.Fatal(err)
	}
	c, err := sfuclient.New(func([]byte) {})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ans, err := c.Answer(<-x.offers)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Answer(ans); err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	const flood = 2000
	accepted := 0
	for i := range flood {
		addr := fmt.Sprintf("%08x-flood.local", i)
		if i%2 == 1 {
			addr = fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
		}
		cand := fmt.Sprintf(`{"candidate":"candidate:%d 1 udp 2130706431 %s %d typ host","sdpMid":"0","sdpMLineIndex":0}`, i, addr, 10000+i%50000)
		switch err := p.AddCandidate([]byte(cand)); {
		case err == nil:
			accepted++
		case !errors.Is(err, sfu.ErrCandidate):
			t.Fatalf("candidate %d: %v", i, err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	grew := runtime.NumGoroutine() - before
	t.Logf("%d of %d candidates accepted; goroutines grew by %d", accepted, flood, grew)
	if accepted > 100 || grew > 200 {
		t.Fatalf("a candidate flood is taken without bound: %d of %d accepted, %d more goroutines", accepted, flood, grew)
	}
	select {
	case r := <-x.closed:
		t.Fatalf("the flooding participant was closed (%s); its excess candidates are refused, it stays", r)
	default:
	}
}
