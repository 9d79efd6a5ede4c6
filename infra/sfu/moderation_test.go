package sfu_test

import (
	"errors"
	"net"
	"testing"

	"github.com/belfry/belfry/infra/sfu"
	"github.com/belfry/belfry/infra/sfu/sfuclient"
)

// TestMuteRemoveAndScreenShare: a screen share reaches the others as its own "content" track; a
// muted participant's audio stops reaching the others while its video goes on, and comes back when
// unmuted; a removed participant is closed with the reason given and its media stops.
func TestMuteRemoveAndScreenShare(t *testing.T) {
	s, err := sfu.New(sfu.Config{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := join(t, s, "m", "alice", "")
	b := joinWith(t, s, "m", "bob", "", sfuclient.Options{Content: true})
	waitFor(t, "media both ways and bob's screen", func() bool {
		return a.c.Received("bob", "content") > 10 && a.c.Received("bob", "video") > 10 && b.c.Received("alice", "audio") > 10
	})
	b.mu.Lock()
	started := append([]string(nil), b.started...)
	b.mu.Unlock()
	if len(started) != 3 {
		t.Fatalf("bob's published kinds: %v", started)
	}

	a.p.SetAudioMuted(true)
	// Packets queued before the mute may still arrive: settle over 20 video packets, then watch 50 more.
	v := b.c.Received("alice", "video")
	waitFor(t, "alice's video to go on", func() bool { return b.c.Received("alice", "video") > v+20 })
	muted, v := b.c.Received("alice", "audio"), b.c.Received("alice", "video")
	waitFor(t, "alice's video to go on", func() bool { return b.c.Received("alice", "video") > v+50 })
	if got := b.c.Received("alice", "audio"); got != muted {
		t.Fatalf("a muted participant's audio was forwarded: %d → %d packets", muted, got)
	}
	a.p.SetAudioMuted(false)
	waitFor(t, "alice's audio after the unmute", func() bool { return b.c.Received("alice", "audio") > muted+20 })

	b.p.Remove("RemovedByModerator")
	if r := <-b.closed; r != "RemovedByModerator" {
		t.Fatalf("bob closed as %q", r)
	}
	if st := s.Stats(); st.Participants != 1 {
		t.Fatalf("after the removal: %+v", st)
	}
}

// TestICEOverTCP: with a TCP port configured, a client that can only use TCP (its UDP blocked)
// connects over TCP and exchanges media with a UDP participant; without one, a TCP-only join is
// refused.
func TestICEOverTCP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	s, err := sfu.New(sfu.Config{Loopback: true, TCPPort: port})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := join(t, s, "m", "alice", "")
	b := joinWith(t, s, "m", "bob", "", sfuclient.Options{TCPOnly: true})
	waitFor(t, "media both ways", func() bool { return a.c.Received("bob", "video") > 20 && b.c.Received("alice", "video") > 20 })
	if p := b.c.Protocol(); p != "tcp" {
		t.Fatalf("the TCP-only client's transport: %q", p)
	}
	if p := a.c.Protocol(); p != "udp" {
		t.Fatalf("the other client's transport: %q", p)
	}

	plain, err := sfu.New(sfu.Config{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, err := plain.JoinWith("m", "x", &rawPeer{offers: make(chan string, 4)}, sfu.JoinOptions{TCPOnly: true}); !errors.Is(err, sfu.ErrNoTCP) {
		t.Fatalf("TCP-only without a TCP port: %v", err)
	}
}
