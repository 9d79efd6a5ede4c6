package sfu_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/belfry/belfry/infra/sfu"
	"github.com/belfry/belfry/infra/sfu/sfuclient"
)

// TestTracksOnlyOnOwnMLines: the SFU's offers let a participant send on its own three m-lines
// (audio, camera, screen share) only; a hostile client that also sends on the m-lines of the tracks
// it receives (which pion offers sendrecv) gets nothing more forwarded: each kind is offered to
// MediaStarted at most once, so a second camera never bypasses the meeting's video tiles.
func TestTracksOnlyOnOwnMLines(t *testing.T) {
	s, err := sfu.New(sfu.Config{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := joinWith(t, s, "m", "alice", "", sfuclient.Options{Content: true})
	b := join(t, s, "m", "bob", "")
	waitFor(t, "alice's and bob's media", func() bool {
		return b.c.Received("alice", "content") > 10 && a.c.Received("bob", "video") > 10 && b.c.Received("alice", "audio") > 10
	})

	// Mallory receives 2 audio and 3 video tracks: 2 more than its own m-lines take, so its first
	// offer carries extra sendrecv m-lines, on which it sends a second audio and a second camera.
	x := &peer{ready: make(chan struct{}), closed: make(chan string, 1)}
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	var tracks []*webrtc.TrackLocalStaticRTP
	for _, mime := range []string{webrtc.MimeTypeOpus, webrtc.MimeTypeVP8, webrtc.MimeTypeVP8, webrtc.MimeTypeVP8, webrtc.MimeTypeOpus} {
		tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: mime}, "t"+string(rune('0'+len(tracks))), "mallory")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pc.AddTrack(tr); err != nil {
			t.Fatal(err)
		}
		tracks = append(tracks, tr)
	}
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			b, _ := json.Marshal(c.ToJSON())
			<-x.ready
			_ = x.p.AddCandidate(b)
		}
	})
	o := &offerPeer{peer: x, offers: make(chan string, 16), candidates: make(chan string, 64)}
	if x.p, err = s.Join("m", "mallory", o); err != nil {
		t.Fatal(err)
	}
	close(x.ready)
	go answerAll(pc, x.p, o)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go sendOn(ctx, tracks)

	waitFor(t, "mallory connected", func() bool { return pc.ConnectionState() == webrtc.PeerConnectionStateConnected })
	time.Sleep(time.Second) // every track it sends has arrived
	x.mu.Lock()
	started := append([]string(nil), x.started...)
	x.mu.Unlock()
	n := map[string]int{}
	for _, k := range started {
		n[k]++
	}
	if n["audio"] > 1 || n["video"] > 1 || n["content"] > 1 {
		t.Fatalf("tracks sent on m-lines of received tracks were offered for forwarding: %v", started)
	}
}

// offerPeer is a peer whose offers and candidates go to channels (the test answers them itself).
type offerPeer struct {
	*peer
	offers, candidates chan string
}

func (o *offerPeer) Offer(sdp string)   { o.offers <- sdp }
func (o *offerPeer) Candidate(b []byte) { o.candidates <- string(b) }

// answerAll answers each offer with pc, and adds the SFU's candidates once the first is applied.
func answerAll(pc *webrtc.PeerConnection, p *sfu.Participant, o *offerPeer) {
	first := true
	for sdp := range o.offers {
		if pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}) != nil {
			return
		}
		ans, err := pc.CreateAnswer(nil)
		if err != nil || pc.SetLocalDescription(ans) != nil {
			return
		}
		_ = p.Answer(ans.SDP)
		if first {
			first = false
			go func() {
				for c := range o.candidates {
					var ic webrtc.ICECandidateInit
					if json.Unmarshal([]byte(c), &ic) == nil {
						_ = pc.AddICECandidate(ic)
					}
				}
			}()
		}
	}
}

// sendOn writes a packet (a VP8 keyframe or an Opus frame) on every track every 10 ms until ctx ends.
func sendOn(ctx context.Context, tracks []*webrtc.TrackLocalStaticRTP) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for seq := uint16(1); ctx.Err() == nil; seq++ {
		<-tick.C
		for _, tr := range tracks {
			_ = tr.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 960, Marker: true},
				Payload: []byte{0x10, 0x00, 1, 2, 3, 4, 5, 6, 7, 8}})
		}
	}
}
