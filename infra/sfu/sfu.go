// Package sfu is Belfry's selective forwarding unit on pion/webrtc: rooms keyed by an id (a Chime
// meeting id), each participant one PeerConnection that publishes its audio and video and receives
// every other participant's tracks. It forwards RTP as it comes (no transcoding): each published
// track is read once and fanned out to one TrackLocalStaticRTP per subscriber. A video track sent as
// simulcast layers (RIDs announced in the participant's answer, a=rid/a=simulcast, and carried in
// the mid and rtp-stream-id header extensions) is one publication, of which each subscriber gets
// one layer at a time, chosen from its bandwidth estimate. The SFU's first offer does not ask for
// layers (pion's offers carry a=simulcast:recv only for layers an answer announced before), so a
// client that sends simulcast only when the offer asks for it (a browser answering) sends one
// stream; a pion client (sfuclient with Options.Simulcast) announces its layers itself.
//
// Signalling is the caller's (api/chime/media carries it over a WebSocket): the SFU is always the
// offerer. Join sends an offer with one audio, one video and a second video transceiver (its third
// m-line: the screen share, kind "content") the participant may send on;
// when others publish or leave, the SFU adds or removes their tracks and sends a new offer once the
// previous one is answered (Participant.Answer). ICE candidates trickle both ways (Peer.Candidate,
// Participant.AddCandidate; at most 64 from a participant, those its answers carry counted with
// them — an answer beyond that is ErrSDP —, the others refused with ErrCandidate, as a malformed
// one is, before the first answer too).
//
// Invariants:
//   - Every subscriber track has its own bounded queue (Config.QueueLen packets) and writer: a slow
//     or stalled subscriber loses its own packets (counted in Stats.Dropped) and never delays the
//     publisher or the other subscribers.
//   - A participant publishes only on its own three m-lines (audio, camera, screen share): a track it
//     sends on the m-line of a track it receives (pion offers those sendrecv) is read and discarded,
//     never offered to Peer.MediaStarted, so it publishes at most one track of each kind.
//   - A published track is forwarded only if Peer.MediaStarted admits it (the meeting's video-tile
//     and screen-share limits); a refused track is read and discarded. While a participant's audio is
//     muted (Participant.SetAudioMuted, a moderator's mute) its audio packets are read and dropped.
//   - ICE runs over UDP and, with Config.TCPPort, over TCP too (passive candidates on that one port);
//     a participant joined with JoinOptions.TCPOnly is offered TCP candidates only.
//   - A subscriber's picture-loss and full-intra requests (RTCP PLI/FIR) reach the publisher as a
//     PLI, at most one per MinPLIInterval per track (per layer of a simulcast track: the one the
//     subscriber receives or waits for), and a new subscriber triggers one, so video
//     starts without waiting for the publisher's next periodic keyframe.
//   - A participant whose media is not connected Config.ConnectWithin after it joined, whose
//     connection fails later (ICE consent lost), or that leaves an offer unanswered for
//     Config.AnswerWithin, is closed as LeftDisconnected: no one stays "in" a room without media,
//     nor holds the transceivers of every track added to it since it stopped answering.
//   - Simulcast: a track has at most MaxLayers layers, each with a valid RID (ValidRID); other
//     layers the answer announces are taken out of it and not received, and audio is never
//     simulcast. Each layer's incoming bitrate is measured (every 500 ms). A subscriber receives
//     exactly one layer: the highest whose bitrate fits its budget (the bitrate of its last RTCP
//     REMB, else — a browser sends none once transport-cc is negotiated — the SFU's send-side
//     estimate, Google Congestion Control over the subscriber's transport-wide feedback, once that
//     feedback has arrived (bwe.go); divided by the number of video tracks it receives; the layer it has may overshoot by a
//     quarter), else the lowest; with no estimate yet, the lowest (and before any layer is
//     measured, none: it waits for the first measure; nor does it fall back to the lowest while a
//     layer that is sending is still in its first measure). It starts, and switches, only at
//     a keyframe of the chosen layer (VP8, or an H.264 IDR/SPS; a PLI for that layer is sent while
//     it waits), and the packets it gets are renumbered so it sees one stream: sequence numbers
//     continue without gap or repeat at a switch, timestamps advance by the time since its last
//     packet. Switches are counted (Participant.LayerSwitches, Stats.LayerSwitches). Tracks
//     without layers are forwarded as they come.
//   - Recording (Record): while a room is recorded every track published in it, before or after
//     the recording began, is copied to the Recorder through its own bounded queue (a slow
//     recorder loses its own packets, Stats.RecordDropped, and never delays forwarding); video from
//     a keyframe on (a PLI asks for one), a simulcast track as one layer (the best measured when
//     its recording began). Muted audio is not recorded. Stop, the track's end and Close close each
//     TrackRecorder once, after the packets queued before.
//   - Close ends every participant with Peer.Closed(LeftServiceRestart) and waits for those calls,
//     and for those of participants already on their way out (Peer.Closed with their own reason): a
//     stopping service records who was in before it closes its event store, and no one is left
//     "in" a meeting.
package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
)

// Reasons handed to Peer.Closed.
const (
	LeftHungUp         = "Left"
	LeftDisconnected   = "Disconnected"
	LeftServiceRestart = "ServiceRestart"
)

// MinPLIInterval is the shortest gap between two PLIs sent for one published track (one layer of a
// simulcast track).
const MinPLIInterval = 200 * time.Millisecond

// ErrClosed is returned by Join once the SFU is closing.
var ErrClosed = errors.New("sfu: closed")

// Peer is the participant's side of signalling and admission; its methods must not block for long
// (Offer and Candidate queue a message; MediaStarted may record an event).
type Peer interface {
	// Offer hands the SFU's SDP offer to the participant, who answers with Participant.Answer.
	Offer(sdp string)
	// Candidate hands one of the SFU's ICE candidates (JSON of an RTCIceCandidateInit).
	Candidate(candidateJSON []byte)
	// MediaStarted asks to forward a newly published track of kind "audio" or "video"; an error
	// refuses it.
	MediaStarted(kind string) error
	// MediaStopped says a forwarded track ended while the participant stayed.
	MediaStopped(kind string)
	// Closed says the participant is out (Left*); called once.
	Closed(reason string)
}

// Config tunes the SFU.
type Config struct {
	// QueueLen is each subscriber track's queue, in packets (default 256).
	QueueLen int
	// UDPPort, when set, carries all ICE traffic on that one UDP port; else each participant gets
	// ephemeral ports.
	UDPPort int
	// TCPPort, when set, also serves ICE over TCP on that one port (for networks that block UDP).
	TCPPort int
	// PublicIPs are the addresses announced as host candidates in place of the local ones (behind a
	// 1:1 NAT).
	PublicIPs []string
	// Loopback offers loopback candidates too (tests on one host without other interfaces).
	Loopback bool
	// ConnectWithin is how long a participant has to connect its media after joining (default 30 s);
	// one that has not by then is closed as LeftDisconnected.
	ConnectWithin time.Duration
	// AnswerWithin is how long a participant has to answer each of the SFU's offers (default 30 s);
	// one that has not by then is closed as LeftDisconnected (a client that stops answering would
	// otherwise keep a transceiver for every track added to it since, while others come and go).
	AnswerWithin time.Duration
	Logger       *slog.Logger
}

// Stats are the SFU's counters since it started.
type Stats struct {
	Rooms, Participants int
	Forwarded, Dropped  uint64
	// LayerSwitches counts the simulcast layer switches of all subscribers.
	LayerSwitches uint64
	// SimulcastLayers counts the simulcast layers being received, all published tracks together.
	SimulcastLayers int
	// RecordDropped counts the packets a recording lost (its queue full, or its recorder failed).
	RecordDropped uint64
}

// SFU holds the rooms.
type SFU struct {
	cfg   Config
	api   *webrtc.API
	tcp   *webrtc.API // ICE over TCP only; nil without Config.TCPPort
	close func() error

	mu     sync.Mutex
	rooms  map[string]*room
	live   map[*Participant]struct{} // joined and not completely closed (Peer.Closed returned)
	closed bool

	recs map[string]*roomRecording // by room id (record.go)
	est  *estimators               // each new connection's send-side estimator (bwe.go)

	forwarded, dropped, switches, recordDropped atomic.Uint64
}

// New builds an SFU.
func New(cfg Config) (*SFU, error) {
	if cfg.QueueLen <= 0 {
		cfg.QueueLen = 256
	}
	if cfg.ConnectWithin <= 0 {
		cfg.ConnectWithin = 30 * time.Second
	}
	if cfg.AnswerWithin <= 0 {
		cfg.AnswerWithin = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, fmt.Errorf("sfu: codecs: %w", err)
	}
	ir := &interceptor.Registry{}
	est := &estimators{}
	if err := registerSendSide(m, ir, est); err != nil { // before the NACK responder (pion's advice)
		return nil, fmt.Errorf("sfu: bandwidth estimator: %w", err)
	}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		return nil, fmt.Errorf("sfu: interceptors: %w", err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(cfg.Loopback)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeQueryOnly)
	if len(cfg.PublicIPs) > 0 {
		se.SetNAT1To1IPs(cfg.PublicIPs, webrtc.ICECandidateTypeHost)
	}
	var closers []func() error
	closeAll := func() error {
		var errs []error
		for _, c := range closers {
			errs = append(errs, c())
		}
		return errors.Join(errs...)
	}
	if cfg.UDPPort > 0 {
		mux, err := ice.NewMultiUDPMuxFromPort(cfg.UDPPort)
		if err != nil {
			return nil, fmt.Errorf("sfu: UDP port %d: %w", cfg.UDPPort, err)
		}
		se.SetICEUDPMux(mux)
		closers = append(closers, mux.Close)
	}
	s := &SFU{cfg: cfg, close: closeAll, rooms: map[string]*room{}, live: map[*Participant]struct{}{},
		recs: map[string]*roomRecording{}, est: est}
	if cfg.TCPPort > 0 {
		l, err := net.ListenTCP("tcp", &net.TCPAddr{Port: cfg.TCPPort})
		if err != nil {
			_ = closeAll()
			return nil, fmt.Errorf("sfu: TCP port %d: %w", cfg.TCPPort, err)
		}
		mux := ice.NewTCPMuxDefault(ice.TCPMuxParams{Listener: l, ReadBufferSize: 64, WriteBufferSize: 4 << 20})
		closers = append(closers, mux.Close)
		se.SetICETCPMux(mux)
		tcp := se
		tcp.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6})
		s.tcp = webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(tcp))
	}
	s.api = webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	return s, nil
}

// ErrNoTCP is returned by JoinWith for a TCP-only participant when the SFU serves no TCP port.
var ErrNoTCP = errors.New("sfu: ICE over TCP is not configured (Config.TCPPort)")

// JoinOptions are a participant's transport options.
type JoinOptions struct {
	// TCPOnly offers the participant TCP candidates only (Wickr's forceTcpCall).
	TCPOnly bool
	// OfferSimulcast asks the participant, in its first offer, to send its camera in the layers
	// SimulcastRIDs (withSimulcastRecv): for browsers, whose answer sends layers only when the offer
	// asks for them. A peer that answers without layers sends one stream as before.
	OfferSimulcast bool
	// ReceiveOnly admits a participant that only receives (a viewer of a Wickr broadcast): its
	// offers' own m-lines are inactive and those of the tracks it receives sendonly, so it has nothing
	// to send on; an answer that would send (a sendrecv or sendonly m-line, or one without a
	// direction) is ErrSDP, and a track it sends anyway is read and discarded, never forwarded nor
	// offered to Peer.MediaStarted.
	ReceiveOnly bool
}

// Stats returns the counters.
func (s *SFU) Stats() Stats {
	s.mu.Lock()
	st := Stats{Rooms: len(s.rooms)}
	for _, r := range s.rooms {
		st.Participants += r.size()
		for pub := range r.pubs {
			if pub.simulcast {
				pub.mu.Lock()
				st.SimulcastLayers += pub.live
				pub.mu.Unlock()
			}
		}
	}
	s.mu.Unlock()
	st.Forwarded, st.Dropped, st.LayerSwitches = s.forwarded.Load(), s.dropped.Load(), s.switches.Load()
	st.RecordDropped = s.recordDropped.Load()
	return st
}

// Close ends every participant (Peer.Closed with LeftServiceRestart; one already leaving keeps its
// reason), waits until each Peer.Closed returned, and refuses later joins.
func (s *SFU) Close() error {
	s.mu.Lock()
	s.closed = true
	all := make([]*Participant, 0, len(s.live))
	for p := range s.live {
		all = append(all, p)
	}
	s.mu.Unlock()
	for _, p := range all {
		go p.close(LeftServiceRestart)
	}
	for _, p := range all {
		<-p.gone
	}
	s.stopRecordings()
	return s.close()
}

// gone forgets a participant whose Peer.Closed returned.
func (s *SFU) gone(p *Participant) {
	s.mu.Lock()
	delete(s.live, p)
	s.mu.Unlock()
}

// Join adds a participant with id to room roomID and sends its first offer through peer.
func (s *SFU) Join(roomID, id string, peer Peer) (*Participant, error) {
	return s.JoinWith(roomID, id, peer, JoinOptions{})
}

// JoinWith is Join with transport options.
func (s *SFU) JoinWith(roomID, id string, peer Peer, o JoinOptions) (*Participant, error) {
	api := s.api
	if o.TCPOnly {
		if s.tcp == nil {
			return nil, ErrNoTCP
		}
		api = s.tcp
	}
	pc, bwe, err := s.est.newPeerConnection(api)
	if err != nil {
		return nil, fmt.Errorf("sfu: peer connection: %w", err)
	}
	own, err := addOwnTransceivers(pc, o.ReceiveOnly)
	if err != nil {
		_ = pc.Close()
		return nil, fmt.Errorf("sfu: transceiver: %w", err)
	}
	p := newParticipant(s, id, peer, pc, own, o.ReceiveOnly)
	p.bwe = bwe
	p.offerSimulcast = o.OfferSimulcast && !o.ReceiveOnly
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = pc.Close()
		return nil, ErrClosed
	}
	r := s.rooms[roomID]
	if r == nil {
		r = &room{id: roomID, parts: map[string]*Participant{}, pubs: map[*publication]bool{}}
		s.rooms[roomID] = r
	}
	p.room = r
	pubs := r.add(p)
	s.live[p] = struct{}{}
	s.mu.Unlock()
	for _, pub := range pubs {
		pub.subscribe(p)
	}
	p.release() // one first offer with the room's tracks
	time.AfterFunc(s.cfg.ConnectWithin, func() {
		if p.pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
			p.close(LeftDisconnected)
		}
	})
	return p, nil
}

// addOwnTransceivers adds the participant's own m-lines (audio, video and the screen share, in
// ownKinds' order) and returns them: recvonly, or inactive for a receive-only participant (pion
// adds those only sendonly or recvonly: a sendonly one whose track is removed is inactive). The
// m-lines stay for a receive-only participant so that its connection has a transport before it
// receives anything.
func addOwnTransceivers(pc *webrtc.PeerConnection, receiveOnly bool) (own [len(ownKinds)]*webrtc.RTPTransceiver, err error) {
	dir := webrtc.RTPTransceiverDirectionRecvonly
	if receiveOnly {
		dir = webrtc.RTPTransceiverDirectionSendonly
	}
	for i, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeVideo} {
		tr, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: dir})
		if err != nil {
			return own, err
		}
		if receiveOnly {
			if err := pc.RemoveTrack(tr.Sender()); err != nil {
				return own, err
			}
		}
		own[i] = tr
	}
	return own, nil
}

// leave removes p from its room, drops the room once empty, and returns the publications p owned
// and those of the others it was subscribed to.
func (s *SFU) leave(p *Participant) (owned, others []*publication) {
	s.mu.Lock()
	defer s.mu.Unlock()
	owned = p.room.remove(p)
	for pub := range p.room.pubs {
		others = append(others, pub)
	}
	if p.room.size() == 0 && s.rooms[p.room.id] == p.room {
		delete(s.rooms, p.room.id)
	}
	return owned, others
}

// publish adds pub to p's room unless p left, and returns the participants to subscribe.
func (s *SFU) publish(p *Participant, pub *publication) ([]*Participant, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.room.parts[p.id] != p {
		return nil, false
	}
	p.room.pubs[pub] = true
	var subs []*Participant
	for _, q := range p.room.parts {
		if q != p {
			subs = append(subs, q)
		}
	}
	return subs, true
}

// unpublish removes pub from its room; false when it was gone already (its owner left).
func (s *SFU) unpublish(pub *publication) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := pub.owner.room
	if !r.pubs[pub] {
		return false
	}
	delete(r.pubs, pub)
	return true
}

// room is one meeting's participants and publications; SFU.mu guards both maps.
type room struct {
	id    string
	parts map[string]*Participant
	pubs  map[*publication]bool
}

func (r *room) size() int { return len(r.parts) }

// add adds p and returns the publications it subscribes to.
func (r *room) add(p *Participant) []*publication {
	r.parts[p.id] = p
	out := make([]*publication, 0, len(r.pubs))
	for pub := range r.pubs {
		out = append(out, pub)
	}
	return out
}

// remove removes p and returns the publications it owned, no longer in the room.
func (r *room) remove(p *Participant) []*publication {
	delete(r.parts, p.id)
	var owned []*publication
	for pub := range r.pubs {
		if pub.owner == p {
			owned = append(owned, pub)
			delete(r.pubs, pub)
		}
	}
	return owned
}
