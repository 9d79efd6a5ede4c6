package sfu

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/pion/ice/v4"
	sdpv3 "github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// KindContent is the kind of a screen-share track (Peer.MediaStarted), beside "audio" and "video".
const KindContent = "content"

// maxCandidates bounds the ICE candidates a participant sends, before its first answer and after:
// each one the ICE agent takes is kept, paired with every local candidate and checked (an mDNS name
// is resolved by a goroutine of its own), so a flood would grow them without end. A browser sends a
// few per interface.
const maxCandidates = 64

// maxCandidateLen bounds one candidate's text (a browser's are a few hundred bytes at most).
const maxCandidateLen = 1024

// ErrSDP is returned by Answer for an answer the participant's connection cannot take.
var ErrSDP = errors.New("sfu: invalid SDP answer")

// ErrCandidate is returned by AddCandidate for a malformed or unusable candidate.
var ErrCandidate = errors.New("sfu: invalid ICE candidate")

// Participant is one member of a room.
type Participant struct {
	id   string
	sfu  *SFU
	room *room
	peer Peer
	pc   *webrtc.PeerConnection
	// own are the m-lines it sends on, in ownKinds' order: audio, camera and the screen share (the
	// offer's second video m-line). The m-lines of the tracks it receives are offered sendrecv
	// (pion's AddTrack), but nothing it sends on them is taken.
	own [len(ownKinds)]*webrtc.RTPTransceiver
	// audioMuted: the participant's audio is read and dropped (SetAudioMuted).
	audioMuted atomic.Bool
	// estimate is the bandwidth the participant's last REMB announced (bits/s, 0: none yet);
	// videoSubs counts the video tracks it receives, among which the estimate is divided.
	estimate atomic.Uint64
	// bwe is the send-side estimate of what reaches it (bwe.go), used while it sends no REMB.
	bwe       *sendSide
	videoSubs atomic.Int32
	switches  atomic.Uint64 // simulcast layer switches of the tracks it receives

	simMu sync.Mutex
	simul map[*webrtc.RTPReceiver]*publication // its simulcast publications by receiver

	negMu       sync.Mutex
	negotiating bool // an offer is out, not answered yet
	again       bool // another offer is due once it is
	holding     bool // Join is still adding the room's tracks: its one first offer comes after
	answered    bool // a remote description was set at least once
	pending     []webrtc.ICECandidateInit
	candidates  int             // taken so far (pending, added or in an answer), at most maxCandidates
	seen        map[string]bool // the candidates taken, so that an answer repeating one does not count it again
	offers      int             // offers sent: the generation an answer timer is for
	answerTimer *time.Timer     // closes the participant if the offer that is out stays unanswered
	closing     bool

	sigMu   sync.Mutex // orders Offer before the candidates it gathers
	offered bool
	early   [][]byte

	// offerSimulcast: its first offer asks for the camera's layers (JoinOptions.OfferSimulcast).
	offerSimulcast bool
	// receiveOnly: it sends nothing (JoinOptions.ReceiveOnly); set before its first offer.
	receiveOnly bool

	closeOnce sync.Once
	gone      chan struct{} // closed once Peer.Closed returned
}

// ownKinds are the kinds of a participant's own m-lines (Participant.own), as Peer.MediaStarted names them.
var ownKinds = [...]string{"audio", "video", KindContent}

func newParticipant(s *SFU, id string, peer Peer, pc *webrtc.PeerConnection, own [len(ownKinds)]*webrtc.RTPTransceiver, receiveOnly bool) *Participant {
	p := &Participant{id: id, sfu: s, peer: peer, pc: pc, own: own, holding: true, gone: make(chan struct{}),
		seen: map[string]bool{}, simul: map[*webrtc.RTPReceiver]*publication{}, receiveOnly: receiveOnly}
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		b, err := json.Marshal(c.ToJSON())
		if err != nil {
			return
		}
		p.sigMu.Lock()
		defer p.sigMu.Unlock()
		if !p.offered {
			p.early = append(p.early, b)
			return
		}
		peer.Candidate(b)
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateFailed {
			go p.close(LeftDisconnected)
		}
	})
	pc.OnTrack(func(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		kind := p.ownKind(r)
		if p.receiveOnly || kind == "" { // a receive-only participant, or not its own m-line: nothing is taken
			discard(t)
			return
		}
		if t.RID() != "" {
			p.publishLayer(t, r, kind)
			return
		}
		p.publish(t, kind)
	})
	return p
}

// ownKind is the kind of the own m-line whose receiver is r ("" for another m-line). A transceiver's
// receiver is looked up when its track comes: pion gives it a new one when the remote SSRCs change.
func (p *Participant) ownKind(r *webrtc.RTPReceiver) string {
	for i, tr := range p.own {
		if tr.Receiver() == r {
			return ownKinds[i]
		}
	}
	return ""
}

// ID is the participant's id in its room.
func (p *Participant) ID() string { return p.id }

// Answer applies the participant's answer to the SFU's last offer, then sends the next offer if one
// is due. A malformed answer, or one when no offer is out, is ErrSDP and changes nothing. Simulcast
// layers the answer announces (a=rid) beyond MaxLayers per video m-line, with an invalid RID, or on
// audio are taken out of it first: those layers are not received. The answer's a=candidate lines are
// the participant's candidates too: one not taken before counts toward maxCandidates, and an answer
// beyond them, or with a malformed one, is ErrSDP.
func (p *Participant) Answer(sdp string) error {
	p.negMu.Lock()
	defer p.negMu.Unlock()
	if !p.negotiating {
		return fmt.Errorf("%w: no offer is waiting for an answer", ErrSDP)
	}
	if p.receiveOnly {
		if err := receiveOnlyAnswer(sdp); err != nil {
			return err
		}
	}
	fresh, err := newCandidates(sdp, p.seen, maxCandidates-p.candidates)
	if err != nil {
		return err
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: filterRIDs(sdp)}); err != nil {
		return fmt.Errorf("%w: %v", ErrSDP, err)
	}
	p.negotiating, p.answered = false, true
	p.candidates += len(fresh)
	for _, c := range fresh {
		p.seen[c] = true
	}
	if p.answerTimer != nil {
		p.answerTimer.Stop()
	}
	for _, c := range p.pending {
		_ = p.pc.AddICECandidate(c)
	}
	p.pending = nil
	if p.again {
		p.again = false
		p.offerLocked()
	}
	return nil
}

// AddCandidate adds one of the participant's ICE candidates (JSON of an RTCIceCandidateInit);
// candidates before the first answer wait for it. A candidate that is not an ICE candidate (checked
// when it comes, before the first answer too) is ErrCandidate and counts for nothing. At most
// maxCandidates are taken in all: the others are ErrCandidate and change nothing.
func (p *Participant) AddCandidate(candidateJSON []byte) error {
	var c webrtc.ICECandidateInit
	if err := json.Unmarshal(candidateJSON, &c); err != nil || c.Candidate == "" {
		return fmt.Errorf("%w: expected an object with a candidate string", ErrCandidate)
	}
	if err := checkCandidate(c.Candidate); err != nil {
		return err
	}
	p.negMu.Lock()
	defer p.negMu.Unlock()
	if p.candidates >= maxCandidates {
		return fmt.Errorf("%w: more than %d candidates", ErrCandidate, maxCandidates)
	}
	if !p.answered {
		p.candidates++
		p.seen[candidateKey(c.Candidate)] = true
		p.pending = append(p.pending, c)
		return nil
	}
	if err := p.pc.AddICECandidate(c); err != nil {
		return fmt.Errorf("%w: %w", ErrCandidate, err)
	}
	p.candidates++
	p.seen[candidateKey(c.Candidate)] = true
	return nil
}

// receiveOnlyAnswer refuses (ErrSDP) an answer of a receive-only participant that would send: a
// media section whose direction (its own, else the session's, else sendrecv, RFC 8866 §6.7) is
// sendrecv or sendonly.
func receiveOnlyAnswer(sdp string) error {
	var d sdpv3.SessionDescription
	if err := d.UnmarshalString(sdp); err != nil {
		return fmt.Errorf("%w: %v", ErrSDP, err)
	}
	session := direction(d.Attributes, "sendrecv")
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media != "audio" && m.MediaName.Media != "video" {
			continue
		}
		if dir := direction(m.Attributes, session); dir == "sendrecv" || dir == "sendonly" {
			return fmt.Errorf("%w: a receive-only participant sends no media (its %s m-line is %s)", ErrSDP, m.MediaName.Media, dir)
		}
	}
	return nil
}

// direction is the direction attribute among attrs, else def.
func direction(attrs []sdpv3.Attribute, def string) string {
	for _, a := range attrs {
		switch a.Key {
		case "sendrecv", "sendonly", "recvonly", "inactive":
			return a.Key
		}
	}
	return def
}

// candidateKey is a candidate's text without its "candidate:" prefix and surrounding blanks.
func candidateKey(c string) string { return strings.TrimPrefix(strings.TrimSpace(c), "candidate:") }

// newCandidates returns the candidates of an answer's SDP (its a=candidate lines, which the
// connection takes as it takes trickled ones) that are not in seen; more than room of them, or a
// malformed one, is ErrSDP.
func newCandidates(sdp string, seen map[string]bool, room int) ([]string, error) {
	var fresh []string
	for line := range strings.Lines(sdp) {
		v, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "a=candidate:")
		if !ok || seen[candidateKey(v)] || slices.Contains(fresh, candidateKey(v)) {
			continue
		}
		if err := checkCandidate(v); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSDP, err)
		}
		if fresh = append(fresh, candidateKey(v)); len(fresh) > room {
			return nil, fmt.Errorf("%w: the answer carries more candidates than the %d a participant may send", ErrSDP, maxCandidates)
		}
	}
	return fresh, nil
}

// checkCandidate refuses a candidate string that is too long, not UTF-8, holds a NUL, or does not
// parse as an ICE candidate (RFC 8839 candidate-attribute). Candidates of a type or network the SFU
// does not know parse, and are left to the connection to discard, as pion does.
func checkCandidate(s string) error {
	switch {
	case len(s) > maxCandidateLen:
		return fmt.Errorf("%w: candidate is %d bytes, at most %d", ErrCandidate, len(s), maxCandidateLen)
	case !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0:
		return fmt.Errorf("%w: candidate must be text without NUL characters", ErrCandidate)
	}
	_, err := ice.UnmarshalCandidate(s)
	if err != nil && !errors.Is(err, ice.ErrUnknownCandidateTyp) && !errors.Is(err, ice.ErrDetermineNetworkType) {
		return fmt.Errorf("%w: candidate is not an ICE candidate: %w", ErrCandidate, err)
	}
	return nil
}

// Leave takes the participant out (Peer.Closed with LeftHungUp).
func (p *Participant) Leave() { p.close(LeftHungUp) }

// Remove takes the participant out for reason (a moderator's removal, the meeting's end): its
// connection closes and Peer.Closed reports reason.
func (p *Participant) Remove(reason string) { p.close(reason) }

// SetAudioMuted stops (true) or resumes forwarding the participant's audio to the others.
func (p *Participant) SetAudioMuted(muted bool) { p.audioMuted.Store(muted) }

// LayerSwitches is how many times a simulcast track the participant receives switched layers.
func (p *Participant) LayerSwitches() uint64 { return p.switches.Load() }

// budget is the participant's bandwidth estimate divided among the video tracks it receives (bits/s,
// 0: no estimate): its last REMB, else the send-side estimate once its transport-wide feedback
// arrives.
func (p *Participant) budget() uint64 {
	est := p.estimate.Load()
	if est == 0 {
		est = min(p.bwe.bitrate(), maxEstimate)
	}
	return est / uint64(max(1, p.videoSubs.Load()))
}

// negotiate sends an offer now, or once the one that is out is answered, or (while Join holds it)
// with the first offer.
func (p *Participant) negotiate() {
	p.negMu.Lock()
	defer p.negMu.Unlock()
	if p.holding {
		return
	}
	if p.negotiating {
		p.again = true
		return
	}
	p.offerLocked()
}

// release ends Join's hold and sends the first offer, with every track added so far.
func (p *Participant) release() {
	p.negMu.Lock()
	defer p.negMu.Unlock()
	p.holding = false
	p.offerLocked()
}

// offerLocked creates and sends an offer; the caller holds negMu.
func (p *Participant) offerLocked() {
	if p.closing {
		return
	}
	offer, err := p.pc.CreateOffer(nil)
	if err == nil {
		err = p.pc.SetLocalDescription(offer)
	}
	if err != nil {
		if p.pc.ConnectionState() != webrtc.PeerConnectionStateClosed {
			p.sfu.cfg.Logger.Warn("sfu: offer failed", "participant", p.id, "err", err)
			go p.close(LeftDisconnected)
		}
		return
	}
	p.negotiating = true
	p.offers++
	if p.answerTimer != nil {
		p.answerTimer.Stop()
	}
	gen := p.offers
	p.answerTimer = time.AfterFunc(p.sfu.cfg.AnswerWithin, func() { p.unanswered(gen) })
	sdpText := offer.SDP
	if p.offerSimulcast && !p.answered {
		sdpText = withSimulcastRecv(sdpText)
	}
	p.sigMu.Lock()
	defer p.sigMu.Unlock()
	p.peer.Offer(sdpText)
	if !p.offered {
		p.offered = true
		for _, b := range p.early {
			p.peer.Candidate(b)
		}
		p.early = nil
	}
}

// unanswered closes the participant if offer gen is still waiting for its answer.
func (p *Participant) unanswered(gen int) {
	p.negMu.Lock()
	late := p.negotiating && p.offers == gen && !p.closing
	p.negMu.Unlock()
	if late {
		p.sfu.cfg.Logger.Warn("sfu: an offer stayed unanswered; the participant is closed", "participant", p.id, "within", p.sfu.cfg.AnswerWithin)
		p.close(LeftDisconnected)
	}
}

// close takes the participant out once: its publications leave the other participants, its
// subscriptions stop, its connection closes, and Peer.Closed reports reason.
func (p *Participant) close(reason string) {
	p.closeOnce.Do(func() {
		p.negMu.Lock()
		p.closing = true
		p.negMu.Unlock()
		owned, others := p.sfu.leave(p)
		for _, pub := range owned {
			pub.end()
		}
		for _, pub := range others {
			pub.unsubscribe(p, false)
		}
		_ = p.pc.Close()
		p.peer.Closed(reason)
		p.sfu.gone(p)
		close(p.gone)
	})
}
