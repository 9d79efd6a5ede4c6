package sfu

import (
	"sync"
	"sync/atomic"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Recorder receives a room's media while the room is recorded (SFU.Record).
type Recorder interface {
	// Track opens the recording of one published track of participant owner (kind "audio", "video"
	// or KindContent, in codec); nil leaves the track out (a codec it cannot store).
	Track(owner, kind string, codec webrtc.RTPCodecCapability) TrackRecorder
}

// TrackRecorder stores one track's packets, in order; an error stops that track's recording.
type TrackRecorder interface {
	WriteRTP(pkt *rtp.Packet) error
	Close() error
}

// recordQueue is each recorded track's queue, in packets: a recorder slower than the media loses
// its own packets (Stats.RecordDropped) and never delays forwarding.
const recordQueue = 512

// tap is one publication's recording: a bounded queue and the goroutine that drains it. A video
// track is recorded from its first keyframe on (a PLI asks for one); a simulcast track from one
// layer, the best measured when the recording began (the first one before any is measured).
type tap struct {
	pub   *publication
	once  sync.Once
	rec   TrackRecorder
	q     chan *rtp.Packet
	done  chan struct{}
	layer *layer // simulcast: the layer recorded
	keyed bool   // a keyframe was queued (audio: always)
	mime  string
}

// Record records room roomID with r until the returned stop is called: every track published in
// the room, now or later, goes to r.Track, and stop closes every TrackRecorder (after the packets
// already queued). A second Record of the room replaces the first, which is stopped.
func (s *SFU) Record(roomID string, r Recorder) (stop func()) {
	rec := &roomRecording{r: r}
	s.mu.Lock()
	old := s.recs[roomID]
	s.recs[roomID] = rec
	var pubs []*publication
	if room := s.rooms[roomID]; room != nil {
		for pub := range room.pubs {
			pubs = append(pubs, pub)
		}
	}
	s.mu.Unlock()
	if old != nil {
		old.stop()
	}
	for _, pub := range pubs {
		rec.open(pub, s)
	}
	return func() {
		s.mu.Lock()
		if s.recs[roomID] == rec {
			delete(s.recs, roomID)
		}
		s.mu.Unlock()
		rec.stop()
	}
}

// roomRecording is the recording of one room: the taps it opened.
type roomRecording struct {
	r       Recorder
	mu      sync.Mutex
	taps    []*tap
	stopped bool
}

// open starts recording pub (unless the recording stopped, or the recorder leaves it out).
func (rr *roomRecording) open(pub *publication, s *SFU) {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	if rr.stopped {
		return
	}
	pub.mu.Lock()
	taken := pub.ended || pub.rec != nil
	pub.mu.Unlock()
	if taken { // ended, or opened by the other of Record and recordNew
		return
	}
	tr := rr.r.Track(pub.owner.id, pub.kind, pub.codec)
	if tr == nil {
		return
	}
	t := &tap{pub: pub, rec: tr, q: make(chan *rtp.Packet, recordQueue), done: make(chan struct{}), keyed: pub.kind == "audio", mime: pub.codec.MimeType}
	pub.mu.Lock()
	if pub.ended || pub.rec != nil {
		pub.mu.Unlock()
		_ = tr.Close()
		return
	}
	if pub.simulcast {
		t.layer = pub.bestLayer()
	}
	pub.rec = t
	l := t.layer
	pub.mu.Unlock()
	rr.taps = append(rr.taps, t)
	go t.drain(&s.recordDropped)
	if pub.kind != "audio" {
		if l == nil && len(pub.layers) > 0 {
			l = pub.layers[0]
		}
		if l != nil {
			l.keyframe(pub.owner.pc)
		}
	}
}

// stop ends every tap of the recording and waits until each closed its TrackRecorder.
func (rr *roomRecording) stop() {
	rr.mu.Lock()
	rr.stopped = true
	taps := rr.taps
	rr.taps = nil
	rr.mu.Unlock()
	for _, t := range taps {
		t.pub.mu.Lock()
		if t.pub.rec == t {
			t.pub.rec = nil
		}
		t.pub.mu.Unlock()
		t.close()
	}
}

// close stops the tap once (its queue is drained first) and waits for its recorder to close.
func (t *tap) close() {
	t.once.Do(func() { t.q <- nil }) // the end marker, after every packet queued before it
	<-t.done
}

// drain writes the queued packets until the end marker; after a write error it discards them.
func (t *tap) drain(dropped *atomic.Uint64) {
	defer close(t.done)
	failed := false
	for pkt := range t.q {
		if pkt == nil {
			break
		}
		if failed {
			dropped.Add(1)
			continue
		}
		if err := t.rec.WriteRTP(pkt); err != nil {
			failed = true
			dropped.Add(1)
		}
	}
	_ = t.rec.Close()
}

// push queues a copy of pkt of layer l for the recording (pub.mu held); a full queue drops it.
// Video waits for a keyframe; a simulcast publication records only the tap's layer.
func (t *tap) push(l *layer, pkt *rtp.Packet, dropped *atomic.Uint64) {
	if t.layer != nil && l != t.layer {
		return
	}
	if !t.keyed {
		if !isKeyframe(t.mime, pkt.Payload) {
			return
		}
		t.keyed = true
	}
	select {
	case t.q <- pkt.Clone():
	default:
		dropped.Add(1)
	}
}

// bestLayer is the layer with the highest measured bitrate (pub.mu held); the first when none is
// measured yet.
func (pub *publication) bestLayer() *layer {
	var best *layer
	for _, l := range pub.layers {
		if best == nil || l.rate.Load() > best.rate.Load() {
			best = l
		}
	}
	return best
}

// recordNew starts recording a newly published pub when its room is being recorded.
func (s *SFU) recordNew(pub *publication) {
	s.mu.Lock()
	rec := s.recs[pub.owner.room.id]
	s.mu.Unlock()
	if rec != nil {
		rec.open(pub, s)
	}
}

// stopRecordings stops every recording (the SFU is closing).
func (s *SFU) stopRecordings() {
	s.mu.Lock()
	recs := s.recs
	s.recs = map[string]*roomRecording{}
	s.mu.Unlock()
	for _, rec := range recs {
		rec.stop()
	}
}
