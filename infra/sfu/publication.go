package sfu

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// publication is one published track and its subscribers. A simulcast track is one publication
// whose layers (at most MaxLayers, one per RID) each subscriber receives one at a time.
type publication struct {
	owner     *Participant
	kind      string
	codec     webrtc.RTPCodecCapability // of its first layer
	clockRate uint32
	simulcast bool
	ready     chan struct{} // simulcast: closed once admitted is set
	admitted  bool

	mu       sync.Mutex
	layers   []*layer // one with rid "" unless simulcast
	live     int      // simulcast layers being read
	finished bool     // simulcast: its last layer ended, no other joins
	subs     map[*Participant]*downTrack
	ended    bool
	rec      *tap // while its room is recorded (record.go)
}

// downTrack is one publication as one subscriber receives it: a bounded queue and its writer.
type downTrack struct {
	local  *webrtc.TrackLocalStaticRTP
	sender *webrtc.RTPSender
	q      chan *rtp.Packet
	done   chan struct{}

	// Simulcast, guarded by publication.mu: the layer forwarded (nil before the first keyframe),
	// the one chosen, and the renumbering of the stream the subscriber sees.
	cur, target     *layer
	seqOff, lastSeq uint16
	tsOff, lastTS   uint32
	lastAt          time.Time
}

func newPublication(p *Participant, t *webrtc.TrackRemote, kind string, simulcast bool) *publication {
	c := t.Codec().RTPCodecCapability
	return &publication{owner: p, kind: kind, codec: c, clockRate: max(c.ClockRate, 1), simulcast: simulcast,
		ready: make(chan struct{}), subs: map[*Participant]*downTrack{}}
}

// publish forwards a track the participant sends, once admitted, until it ends.
func (p *Participant) publish(t *webrtc.TrackRemote, kind string) {
	if err := p.peer.MediaStarted(kind); err != nil {
		discard(t)
		return
	}
	pub := newPublication(p, t, kind, false)
	pub.layers = []*layer{{remote: t}}
	subs, ok := p.sfu.publish(p, pub)
	if !ok {
		discard(t)
		return
	}
	for _, q := range subs {
		pub.subscribe(q)
	}
	p.sfu.recordNew(pub)
	pub.forward()
	if p.sfu.unpublish(pub) { // the track ended while its owner stays
		pub.end()
		p.peer.MediaStopped(kind)
	}
}

// publishLayer forwards one simulcast layer of a video track: the first layer of a track admits and
// publishes it (one Peer.MediaStarted), the others join it; a layer beyond MaxLayers, a repeated or
// invalid RID, or audio is read and discarded. The last layer to end unpublishes the track.
func (p *Participant) publishLayer(t *webrtc.TrackRemote, r *webrtc.RTPReceiver, kind string) {
	if kind == "audio" || !ValidRID(t.RID()) {
		discard(t)
		return
	}
	pub, l, first := p.addLayer(t, r, kind)
	if l == nil {
		discard(t)
		return
	}
	if first {
		pub.admitted = p.admit(pub)
		close(pub.ready)
	}
	<-pub.ready
	if pub.admitted {
		pub.forwardLayer(l)
	} else {
		discard(t)
	}
	pub.mu.Lock()
	pub.live--
	last := pub.live == 0
	pub.finished = pub.finished || last
	pub.mu.Unlock()
	if !last {
		return
	}
	p.simMu.Lock()
	if p.simul[r] == pub {
		delete(p.simul, r)
	}
	p.simMu.Unlock()
	if pub.admitted && p.sfu.unpublish(pub) {
		pub.end()
		p.peer.MediaStopped(kind)
	}
}

// addLayer adds t to the simulcast publication of receiver r, a new one when there is none (first);
// l is nil when the layer is refused.
func (p *Participant) addLayer(t *webrtc.TrackRemote, r *webrtc.RTPReceiver, kind string) (pub *publication, l *layer, first bool) {
	p.simMu.Lock()
	defer p.simMu.Unlock()
	pub = p.simul[r]
	if pub == nil || pub.isFinished() {
		pub, first = newPublication(p, t, kind, true), true
		p.simul[r] = pub
	}
	pub.mu.Lock()
	defer pub.mu.Unlock()
	if len(pub.layers) >= MaxLayers {
		return pub, nil, false
	}
	for _, o := range pub.layers {
		if o.rid == t.RID() {
			return pub, nil, false
		}
	}
	l = &layer{rid: t.RID(), remote: t}
	pub.layers = append(pub.layers, l)
	pub.live++
	return pub, l, first
}

func (pub *publication) isFinished() bool {
	pub.mu.Lock()
	defer pub.mu.Unlock()
	return pub.finished
}

// admit asks Peer.MediaStarted for a simulcast publication and publishes it to the room.
func (p *Participant) admit(pub *publication) bool {
	if err := p.peer.MediaStarted(pub.kind); err != nil {
		return false
	}
	subs, ok := p.sfu.publish(p, pub)
	if !ok {
		return false
	}
	for _, q := range subs {
		pub.subscribe(q)
	}
	p.sfu.recordNew(pub)
	return true
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
		pkt, _, err := pub.layers[0].remote.ReadRTP()
		if err != nil {
			return
		}
		if audio && pub.owner.audioMuted.Load() {
			continue
		}
		pub.fanOut(pkt, &s.dropped)
	}
}

// forwardLayer reads simulcast layer l, measures its bitrate (choosing the subscribers' layers
// again at each new measure) and queues its packets for the subscribers that receive it.
func (pub *publication) forwardLayer(l *layer) {
	mime := l.remote.Codec().MimeType
	for {
		pkt, _, err := l.remote.ReadRTP()
		if err != nil {
			return
		}
		now := time.Now()
		if l.measure(pkt.MarshalSize(), now) {
			pub.rechoose(now)
		}
		pub.fanOutLayer(l, pkt, isKeyframe(mime, pkt.Payload), now)
	}
}

// fanOut queues a copy of pkt for every subscriber without waiting: a full queue drops its copy.
func (pub *publication) fanOut(pkt *rtp.Packet, dropped *atomic.Uint64) {
	pub.mu.Lock()
	defer pub.mu.Unlock()
	if pub.rec != nil {
		pub.rec.push(nil, pkt, &pub.owner.sfu.recordDropped)
	}
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
	local, err := webrtc.NewTrackLocalStaticRTP(pub.codec, pub.owner.id+"-"+pub.kind, pub.owner.id)
	if err != nil {
		s.cfg.Logger.Warn("sfu: subscriber track", "err", err)
		return
	}
	sender, err := addTrack(q, local)
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
	var want *layer
	if pub.simulcast {
		want = pub.choose(q, dt, time.Now())
	}
	pub.mu.Unlock()
	if pub.kind != "audio" {
		q.videoSubs.Add(1)
	}
	go dt.write(&s.forwarded)
	go pub.readRTCP(q, sender)
	q.negotiate()
	if want != nil {
		want.keyframe(pub.owner.pc)
	} else if !pub.simulcast {
		pub.keyframe(q)
	}
}

// addTrack adds local to q's connection: on a sendonly transceiver of its own for a receive-only
// participant (AddTrack would offer it sendrecv, or reuse a transceiver it could send on).
func addTrack(q *Participant, local webrtc.TrackLocal) (*webrtc.RTPSender, error) {
	if !q.receiveOnly {
		return q.pc.AddTrack(local)
	}
	tr, err := q.pc.AddTransceiverFromTrack(local, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return nil, err
	}
	return tr.Sender(), nil
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
	if pub.kind != "audio" {
		q.videoSubs.Add(-1)
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
	t := pub.rec
	pub.rec = nil
	subs := make([]*Participant, 0, len(pub.subs))
	for q := range pub.subs {
		subs = append(subs, q)
	}
	pub.mu.Unlock()
	if t != nil {
		go t.close()
	}
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

// readRTCP turns a subscriber's PLI and FIR into a PLI to the publisher, and takes its bandwidth
// estimate (REMB) for the layer choice, until the sender stops.
func (pub *publication) readRTCP(q *Participant, sender *webrtc.RTPSender) {
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, k := range pkts {
			switch k := k.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				pub.keyframe(q)
			case *rtcp.ReceiverEstimatedMaximumBitrate:
				q.estimate.Store(uint64(min(max(k.Bitrate, 0), maxEstimate)))
				pub.chooseFor(q)
			}
		}
	}
}

// chooseFor chooses q's layer of a simulcast publication again (after a new estimate).
func (pub *publication) chooseFor(q *Participant) {
	if !pub.simulcast {
		return
	}
	var want *layer
	pub.mu.Lock()
	if dt := pub.subs[q]; dt != nil {
		want = pub.choose(q, dt, time.Now())
	}
	pub.mu.Unlock()
	if want != nil {
		want.keyframe(pub.owner.pc)
	}
}

// keyframe asks the publisher of a video track (camera or screen) for a keyframe of the layer q
// receives (or waits for), at most once per MinPLIInterval and layer.
func (pub *publication) keyframe(q *Participant) {
	if pub.kind == "audio" {
		return
	}
	var l *layer
	pub.mu.Lock()
	if !pub.simulcast {
		l = pub.layers[0]
	} else if dt := pub.subs[q]; dt != nil {
		l = dt.cur
		if dt.target != nil {
			l = dt.target
		}
	}
	pub.mu.Unlock()
	if l != nil {
		l.keyframe(pub.owner.pc)
	}
}
