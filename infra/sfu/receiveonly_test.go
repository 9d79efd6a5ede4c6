package sfu_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry/infra/sfu"
	"github.com/belfry/belfry/infra/sfu/sfuclient"
)

// joinReceiveOnly joins a client that tries to send audio and video (and a screen share) as a
// receive-only participant.
func joinReceiveOnly(t *testing.T, s *sfu.SFU, room, id string) *peer {
	t.Helper()
	x := &peer{ready: make(chan struct{}), closed: make(chan string, 1)}
	var err error
	if x.c, err = sfuclient.NewWith(func(b []byte) { <-x.ready; _ = x.p.AddCandidate(b) }, sfuclient.Options{Content: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = x.c.Close() })
	if x.p, err = s.JoinWith(room, id, x, sfu.JoinOptions{ReceiveOnly: true}); err != nil {
		t.Fatal(err)
	}
	close(x.ready)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go x.c.Send(ctx, 10*time.Millisecond, 1000)
	return x
}

// TestReceiveOnly: a receive-only participant (a broadcast's viewer) receives the presenter's audio,
// video and screen share, while what it tries to send reaches no one and is never offered to
// MediaStarted; a receive-only participant joining before the presenter gets its media too.
func TestReceiveOnly(t *testing.T) {
	t.Parallel()
	s, err := sfu.New(sfu.Config{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	early := joinReceiveOnly(t, s, "b", "early")
	presenter := joinWith(t, s, "b", "presenter", "", sfuclient.Options{Content: true})
	viewer := joinReceiveOnly(t, s, "b", "viewer")
	for _, v := range []*peer{early, viewer} {
		waitFor(t, "the presenter's media at a viewer", func() bool {
			return v.c.Received("presenter", "audio") > 20 && v.c.Received("presenter", "video") > 20 && v.c.Received("presenter", "content") > 20
		})
	}
	time.Sleep(300 * time.Millisecond) // the viewers have sent for a while
	if viewer.c.Sent() == 0 {
		t.Fatal("the viewer sent nothing: the test proves nothing")
	}
	for _, id := range []string{"early", "viewer"} {
		for _, k := range []string{"audio", "video", "content"} {
			if n := presenter.c.Received(id, k) + early.c.Received("viewer", k) + viewer.c.Received("early", k); n != 0 {
				t.Fatalf("a viewer's %s was forwarded: %d packets", k, n)
			}
		}
	}
	for _, v := range []*peer{early, viewer} {
		v.mu.Lock()
		started := v.started
		v.mu.Unlock()
		if len(started) != 0 {
			t.Fatalf("a viewer's tracks were offered to MediaStarted: %v", started)
		}
	}
}

// TestReceiveOnlyAnswerThatSends: a receive-only participant's answer that would send (an m-line
// sendrecv or sendonly) is ErrSDP; its proper answer (inactive) is taken.
func TestReceiveOnlyAnswerThatSends(t *testing.T) {
	t.Parallel()
	s, err := sfu.New(sfu.Config{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	x := &rawPeer{offers: make(chan string, 4)}
	p, err := s.JoinWith("b", "viewer", x, sfu.JoinOptions{ReceiveOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	offer := <-x.offers
	if strings.Contains(offer, "a=recvonly") || strings.Contains(offer, "a=sendrecv") {
		t.Fatalf("a receive-only participant is offered to send:\n%s", offer)
	}
	c, err := sfuclient.NewWith(func([]byte) {}, sfuclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ans, err := c.Answer(offer)
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"a=sendrecv", "a=sendonly"} {
		if err := p.Answer(strings.ReplaceAll(ans, "a=inactive", dir)); !errors.Is(err, sfu.ErrSDP) || !strings.Contains(err.Error(), "receive-only") {
			t.Fatalf("an answer %s: %v", dir, err)
		}
	}
	if err := p.Answer(ans); err != nil {
		t.Fatalf("the proper answer: %v", err)
	}
}
