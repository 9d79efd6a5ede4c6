package sfu_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/belfry/belfry/infra/sfu"
	"github.com/belfry/belfry/infra/sfu/sfuclient"
)

// peer connects one sfuclient to the SFU in process: offers and candidates go straight to it.
type peer struct {
	c       *sfuclient.Client
	p       *sfu.Participant
	ready   chan struct{}
	refuse  string // a media kind MediaStarted refuses
	mu      sync.Mutex
	started []string
	closed  chan string
	deaf    atomic.Bool // offers are left unanswered
}

func (x *peer) Offer(sdp string) {
	if x.deaf.Load() {
		return
	}
	go func() {
		<-x.ready
		// Renegotiations race the end of the test (connections closing): errors count only as
		// missing media, which the test checks.
		if ans, err := x.c.Answer(sdp); err == nil {
			_ = x.p.Answer(ans)
		}
	}()
}

func (x *peer) Candidate(b []byte) { _ = x.c.AddCandidate(b) }

func (x *peer) MediaStarted(kind string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if kind == x.refuse {
		return errors.New("refused")
	}
	x.started = append(x.started, kind)
	return nil
}

func (x *peer) MediaStopped(string)  {}
func (x *peer) Closed(reason string) { x.closed <- reason }

func join(t *testing.T, s *sfu.SFU, room, id, refuse string) *peer {
	t.Helper()
	return joinWith(t, s, room, id, refuse, sfuclient.Options{})
}

// joinWith joins a client with options; a TCP-only client joins TCP-only.
func joinWith(t *testing.T, s *sfu.SFU, room, id, refuse string, o sfuclient.Options) *peer {
	t.Helper()
	return joinSized(t, s, room, id, refuse, o, 1000)
}

// joinSized is joinWith sending video packets of size bytes.
func joinSized(t *testing.T, s *sfu.SFU, room, id, refuse string, o sfuclient.Options, size int) *peer {
	t.Helper()
	x := &peer{ready: make(chan struct{}), refuse: refuse, closed: make(chan string, 1)}
	var err error
	x.c, err = sfuclient.NewWith(func(b []byte) {
		<-x.ready
		_ = x.p.AddCandidate(b)
	}, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = x.c.Close() })
	if x.p, err = s.JoinWith(room, id, x, sfu.JoinOptions{TCPOnly: o.TCPOnly}); err != nil {
		t.Fatal(err)
	}
	close(x.ready)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go x.c.Send(ctx, 10*time.Millisecond, size)
	return x
}

// waitFor waits for ok, at most 30 s: media paces itself in real time, and on two cores shared with
// the rest of the suite a send-side estimate can take several seconds to climb (a wait, not a
// timing assertion: a pass takes as long as the media needs).
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestTwoParticipantsReceiveEachOther: each participant receives the other's video and audio RTP,
// and the count keeps growing; a refused video track is not forwarded; Close ends everyone with
// ServiceRestart.
func TestTwoParticipantsReceiveEachOther(t *testing.T) {
	s, err := sfu.New(sfu.Config{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	a := join(t, s, "m1", "alice", "")
	b := join(t, s, "m1", "bob", "")
	waitFor(t, "video both ways", func() bool { return a.c.Received("bob", "video") > 20 && b.c.Received("alice", "video") > 20 })
	n := a.c.Received("bob", "video")
	waitFor(t, "the count to grow", func() bool { return a.c.Received("bob", "video") > n+20 })
	waitFor(t, "audio", func() bool { return a.c.Received("bob", "audio") > 0 && b.c.Received("alice", "audio") > 0 })

	// A third participant whose video is refused (no free tile): others get its audio only.
	c := join(t, s, "m1", "carol", "video")
	waitFor(t, "carol's audio and the others' video at carol", func() bool {
		return a.c.Received("carol", "audio") > 10 && c.c.Received("alice", "video") > 10 && c.c.Received("bob", "video") > 10
	})
	if got := a.c.Received("carol", "video"); got != 0 {
		t.Fatalf("a refused video track was forwarded: %d packets", got)
	}
	// Another room sees nothing of m1.
	d := join(t, s, "m2", "dave", "")
	time.Sleep(200 * time.Millisecond)
	if d.c.Received("alice", "video") != 0 {
		t.Fatal("media crossed rooms")
	}
	if st := s.Stats(); st.Rooms != 2 || st.Participants != 4 || st.Forwarded == 0 {
		t.Fatalf("stats: %+v", st)
	}

	// Bob leaves: he is closed as Left; the others stay.
	b.p.Leave()
	if r := <-b.closed; r != sfu.LeftHungUp {
		t.Fatalf("bob closed with %q", r)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, x := range []*peer{a, c, d} {
		if r := <-x.closed; r != sfu.LeftServiceRestart {
			t.Fatalf("closed with %q", r)
		}
	}
	if _, err := s.Join("m1", "late", &peer{closed: make(chan string, 1)}); !errors.Is(err, sfu.ErrClosed) {
		t.Fatalf("join after close: %v", err)
	}
}

// TestBadSignalling: a malformed answer and a malformed candidate are refused with their errors and
// leave the participant able to answer properly.
func TestBadSignalling(t *testing.T) {
	s, err := sfu.New(sfu.Config{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := s.Join("m", "x", &rawPeer{offers: make(chan string, 4)})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Answer("v=0\r\nthis is not SDP"); !errors.Is(err, sfu.ErrSDP) {
		t.Fatalf("malformed answer: %v", err)
	}
	if err := p.AddCandidate([]byte(`{"nope":1}`)); !errors.Is(err, sfu.ErrCandidate) {
		t.Fatalf("malformed candidate: %v", err)
	}
	if err := p.AddCandidate([]byte(`not json`)); !errors.Is(err, sfu.ErrCandidate) {
		t.Fatalf("non-JSON candidate: %v", err)
	}
}

// TestUnconnectedParticipantIsClosed: a participant that never answers is closed as Disconnected
// once ConnectWithin has passed.
func TestUnconnectedParticipantIsClosed(t *testing.T) {
	s, err := sfu.New(sfu.Config{Loopback: true, ConnectWithin: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	x := &rawPeer{offers: make(chan string, 4), closed: make(chan string, 1)}
	if _, err := s.Join("m", "x", x); err != nil {
		t.Fatal(err)
	}
	if r := <-x.closed; r != sfu.LeftDisconnected {
		t.Fatalf("closed as %q", r)
	}
	if st := s.Stats(); st.Participants != 0 || st.Rooms != 0 {
		t.Fatalf("left behind: %+v", st)
	}
}

type rawPeer struct {
	offers chan string
	closed chan string
}

func (r *rawPeer) Offer(sdp string)          { r.offers <- sdp }
func (r *rawPeer) Candidate([]byte)          {}
func (r *rawPeer) MediaStarted(string) error { return nil }
func (r *rawPeer) MediaStopped(string)       {}
func (r *rawPeer) Closed(reason string) {
	if r.closed != nil {
		r.closed <- reason
	}
}

// TestUnansweredOfferClosesTheParticipant: a connected participant that stops answering the SFU's
// offers (here: the renegotiation a third one's arrival starts) is closed as Disconnected once
// AnswerWithin has passed; the others stay.
func TestUnansweredOfferClosesTheParticipant(t *testing.T) {
	s, err := sfu.New(sfu.Config{Loopback: true, AnswerWithin: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := join(t, s, "m", "a", "")
	b := join(t, s, "m", "b", "")
	waitFor(t, "a receives b (a answered its renegotiation)", func() bool { return a.c.Received("b", "video") > 0 })
	a.deaf.Store(true)
	c := join(t, s, "m", "c", "")
	select {
	case r := <-a.closed:
		if r != sfu.LeftDisconnected {
			t.Fatalf("a closed as %q", r)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("a participant that does not answer stays in")
	}
	waitFor(t, "b and c stay", func() bool { return s.Stats().Participants == 2 })
	for _, x := range []*peer{b, c} {
		select {
		case r := <-x.closed:
			t.Fatalf("another participant closed as %q", r)
		default:
		}
	}
}
