package mediabench

import (
	"context"
	"fmt"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/belfry/belfry/infra/sfu"
	"github.com/belfry/belfry/infra/sfu/sfuclient"
)

// joinWithin bounds one join's wait for its first packet.
const joinWithin = 20 * time.Second

// joinTimes runs the join scenario (see the package comment).
func joinTimes(ctx context.Context, o Options) (Join, error) {
	j := Join{Participants: o.Participants}
	s, err := sfu.New(sfu.Config{Loopback: true, Logger: quiet})
	if err != nil {
		return j, err
	}
	defer s.Close()
	sendCtx, stop := context.WithCancel(ctx)
	defer stop()
	presenter, err := joinSFU(s, "join", "presenter", sfuclient.Options{})
	if err != nil {
		return j, err
	}
	defer presenter.Close()
	go presenter.Send(sendCtx, 33*time.Millisecond, packetBytes)
	var joins, floors []time.Duration
	var clients []*sfuclient.Client
	defer func() {
		for _, c := range clients {
			_ = c.Close()
		}
	}()
	for i := 1; i < o.Participants; i++ {
		if ctx.Err() != nil {
			return j, ctx.Err()
		}
		start := time.Now()
		c, err := joinSFU(s, "join", fmt.Sprintf("attendee-%d", i), sfuclient.Options{})
		if err != nil {
			return j, err
		}
		clients = append(clients, c)
		for c.FirstPacket().IsZero() {
			if time.Since(start) > joinWithin {
				return j, fmt.Errorf("participant %d received nothing within %s", i, joinWithin)
			}
			time.Sleep(time.Millisecond)
		}
		joins = append(joins, c.FirstPacket().Sub(start))
		f, err := floorJoin()
		if err != nil {
			return j, err
		}
		floors = append(floors, f)
	}
	j.P50Ms, j.P99Ms, j.FloorP50Ms, j.FloorP99Ms = pct(joins, 50), pct(joins, 99), pct(floors, 50), pct(floors, 99)
	j.Met = j.P99Ms < TargetJoinP99
	return j, nil
}

// floorJoin is a bare pion offerer sending one VP8 track straight to a client at the presenter's
// rate: offer to first packet, with the same trickle ICE.
func floorJoin() (time.Duration, error) {
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return 0, err
	}
	defer pc.Close()
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "floor")
	if err != nil {
		return 0, err
	}
	if _, err := pc.AddTrack(track); err != nil {
		return 0, err
	}
	start := time.Now()
	c, err := offerTo(pc, sfuclient.Options{})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	for seq := uint16(0); c.FirstPacket().IsZero(); seq++ {
		if time.Since(start) > joinWithin {
			return 0, fmt.Errorf("the floor received nothing within %s", joinWithin)
		}
		_ = track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 3000}, Payload: make([]byte, packetBytes)})
		time.Sleep(33 * time.Millisecond)
	}
	return c.FirstPacket().Sub(start), nil
}
