package sfu_test

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
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

// TestMalformedCandidateBeforeTheAnswer: a candidate that is no ICE candidate is refused with
// ErrCandidate when it comes before the participant's first answer as after it, and takes none of
// the participant's maxCandidates: its valid candidates are still taken afterwards.
func TestMalformedCandidateBeforeTheAnswer(t *testing.T) {
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
	for _, bad := range []string{
		`{"candidate":"candidate:garbage"}`,
		`{"candidate":"candidate:1 1 udp 2130706431 10.0.0.1 notaport typ host"}`,
		`{"candidate":"candidate:1 1 udp 2130706431 10.0.0.1 9 typ \u0000host"}`,
	} {
		for range 100 {
			if err := p.AddCandidate([]byte(bad)); !errors.Is(err, sfu.ErrCandidate) {
				t.Fatalf("malformed candidate %s before the answer: %v, want ErrCandidate", bad, err)
			}
		}
	}
	good := `{"candidate":"candidate:1 1 udp 2130706431 10.0.0.1 9000 typ host","sdpMid":"0","sdpMLineIndex":0}`
	if err := p.AddCandidate([]byte(good)); err != nil {
		t.Fatalf("a valid candidate after malformed ones: %v", err)
	}
}

// TestCandidatesInTheAnswerAreBounded: candidates carried in the answer's SDP (a=candidate lines)
// are candidates like the trickled ones: an answer with more than the participant may send is
// refused with ErrSDP, and the SFU neither keeps them nor starts a goroutine for each.
func TestCandidatesInTheAnswerAreBounded(t *testing.T) {
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
	var lines strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&lines, "a=candidate:%d 1 udp 2130706431 %08x-flood.local %d typ host\r\n", i, i, 10000+i)
	}
	// After the first m-line's ice-pwd, where a browser puts its candidates.
	i := strings.Index(ans, "a=ice-pwd:")
	i += strings.Index(ans[i:], "\r\n") + 2
	flood := ans[:i] + lines.String() + ans[i:]
	before := runtime.NumGoroutine()
	if err := p.Answer(flood); !errors.Is(err, sfu.ErrSDP) {
		t.Fatalf("an answer with 1000 candidates: %v, want ErrSDP", err)
	}
	time.Sleep(200 * time.Millisecond)
	if grew := runtime.NumGoroutine() - before; grew > 200 {
		t.Fatalf("the answer's candidates were taken: %d more goroutines", grew)
	}
	if err := p.Answer(ans); err != nil {
		t.Fatalf("the answer without the flood: %v", err)
	}
}
