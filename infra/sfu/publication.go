package sfu

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// publication is one published track and its subscribers.
type publication struct {
	owner   *Participant
	remote  *webrtc.TrackRemote
	kind    string
	lastPLI atomic.Int64 // unix nanoseconds of the last PLI sent to the owner

	mu    sync.Mutex
	subs  map[*Participant]*downTrack
	ended bool
}

// downTrack is one publication as one subscriber receives it: a bounded queue and its writer.
type downTrack struct {
	local  *webrtc.TrackLocalStaticRTP
	sender *webrtc.RTPSender
	q      chan *rtp.Packet
	done   chan struct{}
}

// publish forwards a track the participant sends, once admitted, until it ends.
func (p *Participant) publish(t *webrtc.TrackRemote, kind string) {
	if err := p.peer.MediaStarted(kind); err != nil {
		discard(t)
		return
	}
	pub := &publication{owner: p, remote: t, kind: kind, subs: map[*Participant]*downTrack{}}
	subs, ok := p.sfu.publish(p, pub)
	if !ok {
		discard(t)
		return
	}
	for _, q := range subs {
		pub.subscribe(q)
	}
	pub.forward()
	if p.sfu.unpublish(pub) { // the track ended while its owner stays
		pub.end()
		p.peer.MediaStopped(kind)
	}
}

// discard reads a track that is not forwarded until it ends.
func discard(t *webrtc.TrackRemote) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := t.Read(buf); err != nil {
			return
		}
	}
}

// forward reads the track and queues each packet for every subscriber; a full queue drops it, and
// so does a muted owner's audio.
func (pub *publication) forward() {
	s := pub.owner.sfu
	audio := pub.kind == "audio"
	for {
		pkt, _, err := pub.remote.ReadRTP()
		if err != nil {
			return
		}
		if audio && pub.owner.audioMuted.Load() {
			continue
		}
		pub.fanOut(pkt, &s.dropped)
	}
}

// fanOut queues a copy of pkt for every subscriber without waiting: a full queue drops its copy.
func (pub *publication) fanOut(pkt *rtp.Packet, dropped *atomic.Uint64) {
	pub.mu.Lock()
	defer pub.mu.Unlock()
	for _, dt := range pub.subs {
		select {
		case dt.q <- pkt.Clone():
		default:
			dropped.Add(1)
		}
	}
}

// subscribe adds the publication to q's connection and renegotiates q.
func (pub *publication) subscribe(q *Participant) {
	s := pub.owner.sfu
	local, err := webrtc.NewTrackLocalStaticRTP(pub.remote.Codec().RTPCodecCapability, pub.owner.id+"-"+pub.kind, pub.owner.id)
	if err != nil {
		s.cfg.Logger.Warn("sfu: subscriber track", "err", err)
		return
	}
	sender, err := q.pc.AddTrack(local)
	if err != nil { // q is closing
		return
	}
	dt := &downTrack{local: local, sender: sender, q: make(chan *rtp.Packet, s.cfg.QueueLen), done: make(chan struct{})}
	pub.mu.Lock()
	if pub.ended {
		pub.mu.Unlock()
		_ = q.pc.RemoveTrack(sender)
		return
	}
	pub.subs[q] = dt
	pub.mu.Unlock()
	go dt.write(&s.forwarded)
	go pub.readRTCP(sender)
	q.negotiate()
	pub.keyframe()
}

// unsubscribe stops q's copy; with renegotiate the track also leaves q's connection.
func (pub *publication) unsubscribe(q *Participant, renegotiate bool) {
	pub.mu.Lock()
	dt, ok := pub.subs[q]
	delete(pub.subs, q)
	pub.mu.Unlock()
	if !ok {
		return
	}
	close(dt.done)
	if renegotiate && q.pc.RemoveTrack(dt.sender) == nil {
		q.negotiate()
	}
}

// end stops the publication for every subscriber (once).
func (pub *publication) end() {
	pub.mu.Lock()
	if pub.ended {
		pub.mu.Unlock()
		return
	}
	pub.ended = true
	subs := make([]*Participant, 0, len(pub.subs))
	for q := range pub.subs {
		subs = append(subs, q)
	}
	pub.mu.Unlock()
	for _, q := range subs {
		pub.unsubscribe(q, true)
	}
}

// write sends the queued packets until the subscription stops.
func (dt *downTrack) write(forwarded *atomic.Uint64) {
	for {
		select {
		case <-dt.done:
			return
		case pkt := <-dt.q:
			if dt.local.WriteRTP(pkt) == nil {
				forwarded.Add(1)
			}
		}
	}
}

// readRTCP turns a subscriber's PLI and FIR into a PLI to the publisher, until the sender stops.
func (pub *publication) readRTCP(sender *webrtc.RTPSender) {
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, k := range pkts {
			switch k.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				pub.keyframe()
			}
		}
	}
}

// keyframe asks the publisher of a video track (camera or screen) for a keyframe, at most once per
// MinPLIInterval.
func (pub *publication) keyframe() {
	if pub.kind == "audio" {
		return
	}
	now := time.Now().UnixNano()
	last := pub.lastPLI.Load()
	if now-last < int64(MinPLIInterval) || !pub.lastPLI.CompareAndSwap(last, now) {
		return
	}
	_ = pub.owner.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(pub.remote.SSRC())}})
}
