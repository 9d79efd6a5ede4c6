package sfu_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/belfry/belfry/infra/sfu"
	"github.com/belfry/belfry/infra/sfu/sfuclient"
)

// BenchmarkJoinTime joins participants one after another into one room (each sending 30 video and
// audio packets a second) and reports the join time — Join to the first packet received from the
// others — p50 and p99 in ms, beside the floor: a bare pion offerer sending straight to the same
// client, offer to first packet, also at 30 packets a second. Run with -benchtime Nx for N
// participants (at least 10): go test -run '^$' -bench JoinTime -benchtime 50x ./infra/sfu
func BenchmarkJoinTime(b *testing.B) {
	n := max(b.N, 10)
	s, err := sfu.New(sfu.Config{Loopback: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var joins, floors []time.Duration
	for i := range n {
		start := time.Now()
		x := joinBench(b, s, "bench", string(rune('a'+i%26))+time.Now().Format("150405.000000"))
		if i == 0 {
			continue
		}
		for x.c.FirstPacket().IsZero() {
			if time.Since(start) > 20*time.Second {
				b.Fatalf("participant %d received nothing", i)
			}
			time.Sleep(time.Millisecond)
		}
		joins = append(joins, x.c.FirstPacket().Sub(start))
		floors = append(floors, floorJoin(b))
	}
	b.ReportMetric(pct(joins, 50), "join-p50-ms")
	b.ReportMetric(pct(joins, 99), "join-p99-ms")
	b.ReportMetric(pct(floors, 50), "floor-p50-ms")
	b.ReportMetric(pct(floors, 99), "floor-p99-ms")
	st := s.Stats()
	b.ReportMetric(float64(st.Dropped), "dropped")
}

func pct(d []time.Duration, p int) float64 {
	slices.Sort(d)
	i := min(len(d)-1, (len(d)*p+99)/100-1)
	return float64(d[max(i, 0)]) / float64(time.Millisecond)
}

func joinBench(b *testing.B, s *sfu.SFU, room, id string) *peer {
	x := &peer{ready: make(chan struct{}), closed: make(chan string, 1)}
	var err error
	x.c, err = sfuclient.New(func(c []byte) { <-x.ready; _ = x.p.AddCandidate(c) })
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = x.c.Close() })
	if x.p, err = s.Join(room, id, x); err != nil {
		b.Fatal(err)
	}
	close(x.ready)
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	go x.c.Send(ctx, 33*time.Millisecond, 1000)
	return x
}

// floorJoin is a bare pion offerer sending one VP8 track straight to an sfuclient: offer to first
// packet, with the same trickle ICE.
func floorJoin(b *testing.B) time.Duration {
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		b.Fatal(err)
	}
	defer pc.Close()
	track, _ := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "floor")
	if _, err := pc.AddTrack(track); err != nil {
		b.Fatal(err)
	}
	ready := make(chan struct{})
	var c *sfuclient.Client
	c, err = sfuclient.New(func(cand []byte) { <-ready; _ = addCandidate(pc, cand) })
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	pc.OnICECandidate(func(ic *webrtc.ICECandidate) {
		if ic != nil {
			<-ready
			if j, err := json.Marshal(ic.ToJSON()); err == nil {
				_ = c.AddCandidate(j)
			}
		}
	})
	start := time.Now()
	offer, _ := pc.CreateOffer(nil)
	_ = pc.SetLocalDescription(offer)
	ans, err := c.Answer(offer.SDP)
	if err != nil {
		b.Fatal(err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: ans}); err != nil {
		b.Fatal(err)
	}
	close(ready)
	for seq := uint16(0); c.FirstPacket().IsZero(); seq++ {
		if time.Since(start) > 20*time.Second {
			b.Fatal("the floor received nothing")
		}
		_ = track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 3000}, Payload: []byte{0x10, 0, 1, 2}})
		time.Sleep(33 * time.Millisecond) // the participants' packet rate
	}
	return c.FirstPacket().Sub(start)
}

func addCandidate(pc *webrtc.PeerConnection, cand []byte) error {
	var ic webrtc.ICECandidateInit
	if err := json.Unmarshal(cand, &ic); err != nil {
		return err
	}
	return pc.AddICECandidate(ic)
}
