package sfu

import (
	"strings"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// MaxLayers bounds the simulcast layers (RIDs) of one published track; further ones are ignored.
const MaxLayers = 3

// maxRIDLen bounds a layer's RID (RFC 8851 allows any token; Belfry takes short ones).
const maxRIDLen = 16

// rateWindow is how long a layer's incoming bitrate is measured before it is updated; a layer with
// no packet for idleAfter counts as stopped (the publisher paused it) and is not chosen.
const (
	rateWindow = 500 * time.Millisecond
	idleAfter  = 2 * time.Second
)

// maxEstimate caps a REMB's bitrate (its 18-bit mantissa and 6-bit exponent reach 2^81).
const maxEstimate = 1e12

// ValidRID reports whether rid is a simulcast layer id the SFU takes: 1 to 16 characters of
// [A-Za-z0-9_-].
func ValidRID(rid string) bool {
	if rid == "" || len(rid) > maxRIDLen {
		return false
	}
	for _, c := range []byte(rid) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// layer is one encoding of a published track: the track itself when it is not simulcast (rid ""),
// else one of its simulcast layers.
type layer struct {
	rid     string
	remote  *webrtc.TrackRemote
	lastPLI atomic.Int64  // unix nanoseconds of the last PLI sent for this layer
	rate    atomic.Uint64 // bits/s over the last rateWindow; 0 until measured
	lastAt  atomic.Int64  // unix nanoseconds of the last packet

	// the measuring window, touched only by the layer's reader
	winStart time.Time
	winBytes int
}

// measure counts a packet of n bytes; true when a window closed and the rate changed.
func (l *layer) measure(n int, now time.Time) bool {
	l.lastAt.Store(now.UnixNano())
	if l.winStart.IsZero() {
		l.winStart = now
	}
	l.winBytes += n
	el := now.Sub(l.winStart)
	if el < rateWindow {
		return false
	}
	l.rate.Store(uint64(float64(l.winBytes*8) / el.Seconds()))
	l.winStart, l.winBytes = now, 0
	return true
}

// measuring: sending, but its first window is not closed yet.
func (l *layer) measuring(now time.Time) bool {
	last := l.lastAt.Load()
	return l.rate.Load() == 0 && last != 0 && now.UnixNano()-last < int64(idleAfter)
}

// usable: measured and not stopped.
func (l *layer) usable(now time.Time) bool {
	return l.rate.Load() > 0 && now.UnixNano()-l.lastAt.Load() < int64(idleAfter)
}

// keyframe asks the publisher for a keyframe on this layer, at most once per MinPLIInterval.
func (l *layer) keyframe(pc *webrtc.PeerConnection) {
	now := time.Now().UnixNano()
	last := l.lastPLI.Load()
	if now-last < int64(MinPLIInterval) || !l.lastPLI.CompareAndSwap(last, now) {
		return
	}
	_ = pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(l.remote.SSRC())}})
}

// choose sets the layer dt should receive from the subscriber's budget (its estimate divided among
// the video it receives): the highest usable layer whose rate fits (the current one may overshoot by
// a quarter, so that the choice does not flap), else the lowest; with no estimate, the lowest. The
// fallback to the lowest waits while a layer that is sending is still being measured (its first
// window, at most rateWindow): it may be the lower one. Before any layer is measured nothing is
// chosen. It returns the layer to ask a keyframe of while
// dt waits to switch (nil: none). The caller holds pub.mu.
func (pub *publication) choose(q *Participant, dt *downTrack, now time.Time) *layer {
	budget := q.budget()
	var best, lowest *layer
	measuring := false
	for _, l := range pub.layers {
		if !l.usable(now) {
			measuring = measuring || l.measuring(now)
			continue
		}
		r := l.rate.Load()
		if lowest == nil || r < lowest.rate.Load() {
			lowest = l
		}
		limit := budget
		if l == dt.cur {
			limit += budget / 4
		}
		if budget > 0 && r <= limit && (best == nil || r > best.rate.Load()) {
			best = l
		}
	}
	if best == nil && measuring {
		return nil // the layer still being measured may be the one that fits: no fallback yet
	}
	if best == nil {
		best = lowest
	}
	if best == nil {
		return nil
	}
	dt.target = best
	if dt.target != dt.cur {
		return best
	}
	return nil
}

// rechoose runs choose for every subscriber and asks for the keyframes they wait for.
func (pub *publication) rechoose(now time.Time) {
	var want [MaxLayers]*layer
	pub.mu.Lock()
	for q, dt := range pub.subs {
		if l := pub.choose(q, dt, now); l != nil {
			for i := range pub.layers {
				if pub.layers[i] == l {
					want[i] = l
				}
			}
		}
	}
	pub.mu.Unlock()
	for _, l := range want {
		if l != nil {
			l.keyframe(pub.owner.pc)
		}
	}
}

// fanOutLayer queues a packet of simulcast layer l for every subscriber that receives l, and
// switches those waiting for l when pkt starts a keyframe. The copy is renumbered so that each
// subscriber sees one stream: sequence numbers follow on from the last one it got, and timestamps
// advance by the time since its last packet.
func (pub *publication) fanOutLayer(l *layer, pkt *rtp.Packet, key bool, now time.Time) {
	s := pub.owner.sfu
	pub.mu.Lock()
	defer pub.mu.Unlock()
	if pub.rec != nil {
		pub.rec.push(l, pkt, &s.recordDropped)
	}
	for q, dt := range pub.subs {
		if dt.cur != l {
			if dt.target != l || !key {
				continue
			}
			if dt.cur != nil {
				q.switches.Add(1)
				s.switches.Add(1)
				ticks := uint32(now.Sub(dt.lastAt).Seconds()*float64(pub.clockRate)) + 1
				dt.seqOff = dt.lastSeq + 1 - pkt.SequenceNumber
				dt.tsOff = dt.lastTS + ticks - pkt.Timestamp
			}
			dt.cur = l
		}
		out := pkt.Clone()
		out.SequenceNumber += dt.seqOff
		out.Timestamp += dt.tsOff
		out.Extension, out.Extensions, out.ExtensionProfile = false, nil, 0 // the layer's mid and rid
		dt.lastSeq, dt.lastTS, dt.lastAt = out.SequenceNumber, out.Timestamp, now
		select {
		case dt.q <- out:
		default:
			s.dropped.Add(1)
		}
	}
}

// isKeyframe reports whether payload starts a keyframe: VP8 (the first packet of a partition-0
// frame whose P bit is clear) or H.264 (an IDR slice or SPS, alone, aggregated in STAP-A, or
// starting an FU-A). Other codecs: false.
func isKeyframe(mime string, payload []byte) bool {
	switch {
	case strings.EqualFold(mime, webrtc.MimeTypeVP8):
		return vp8Keyframe(payload)
	case strings.EqualFold(mime, webrtc.MimeTypeH264):
		return h264Keyframe(payload)
	}
	return false
}

func vp8Keyframe(p []byte) bool {
	if len(p) < 1 {
		return false
	}
	if p[0]&0x10 == 0 || p[0]&0x07 != 0 { // S: start of a partition, PID 0
		return false
	}
	i := 1
	if p[0]&0x80 != 0 { // X: extension byte I|L|T|K
		if len(p) < 2 {
			return false
		}
		x := p[1]
		i = 2
		if x&0x80 != 0 { // I: picture id, 7 or 15 bits
			if len(p) <= i {
				return false
			}
			if p[i]&0x80 != 0 {
				i++
			}
			i++
		}
		if x&0x40 != 0 { // L: TL0PICIDX
			i++
		}
		if x&0x30 != 0 { // T or K: TID|Y|KEYIDX
			i++
		}
	}
	return len(p) > i && p[i]&0x01 == 0 // the VP8 payload header's P bit: 0 is a keyframe
}

func h264Keyframe(p []byte) bool {
	if len(p) < 1 {
		return false
	}
	switch t := p[0] & 0x1f; {
	case t == 5 || t == 7:
		return true
	case t == 24: // STAP-A: 16-bit sizes then NAL units
		for i := 1; i+2 < len(p); {
			n := int(p[i])<<8 | int(p[i+1])
			if i+2 >= len(p) || n == 0 {
				return false
			}
			if nt := p[i+2] & 0x1f; nt == 5 || nt == 7 {
				return true
			}
			i += 2 + n
		}
	case t == 28: // FU-A: the start fragment of an IDR
		return len(p) > 1 && p[1]&0x80 != 0 && p[1]&0x1f == 5
	}
	return false
}

// filterRIDs rewrites an answer's simulcast description: per video m-section it keeps the first
// MaxLayers a=rid lines with a valid RID and drops the others (and every a=rid of an audio
// m-section), and lists only the kept ones in a=simulcast. The layers dropped are not received.
func filterRIDs(sdp string) string {
	if !strings.Contains(sdp, "a=rid:") {
		return sdp
	}
	lines := strings.Split(sdp, "\n")
	out := make([]string, 0, len(lines))
	start, video, kept := 0, false, map[string]bool{}
	flush := func(end int) { // the a=simulcast lines of lines[start:end], rewritten
		for i := start; i < end; i++ {
			bare, cr := strings.CutSuffix(out[i], "\r")
			if v, ok := strings.CutPrefix(bare, "a=simulcast:"); ok {
				out[i] = simulcastLine(v, kept, cr)
			}
		}
	}
	for _, ln := range lines {
		bare := strings.TrimRight(ln, "\r")
		if strings.HasPrefix(bare, "m=") {
			flush(len(out))
			start, video, kept = len(out), strings.HasPrefix(bare, "m=video"), map[string]bool{}
		}
		if v, ok := strings.CutPrefix(bare, "a=rid:"); ok {
			id, _, _ := strings.Cut(v, " ")
			if !video || !ValidRID(id) || len(kept) >= MaxLayers || kept[id] {
				continue
			}
			kept[id] = true
		}
		out = append(out, ln)
	}
	flush(len(out))
	res := make([]string, 0, len(out))
	for _, ln := range out {
		if ln != "\x00" {
			res = append(res, ln)
		}
	}
	return strings.Join(res, "\n")
}

// simulcastLine is "a=simulcast:<dir> <alternatives>" with only the kept RIDs ("\x00": drop the
// line, nothing kept).
func simulcastLine(v string, kept map[string]bool, cr bool) string {
	dir, list, _ := strings.Cut(v, " ")
	var streams []string
	for s := range strings.SplitSeq(list, ";") {
		var alts []string
		for a := range strings.SplitSeq(s, ",") {
			if kept[strings.TrimPrefix(a, "~")] {
				alts = append(alts, a)
			}
		}
		if len(alts) > 0 {
			streams = append(streams, strings.Join(alts, ","))
		}
	}
	if len(streams) == 0 {
		return "\x00"
	}
	ln := "a=simulcast:" + dir + " " + strings.Join(streams, ";")
	if cr {
		ln += "\r"
	}
	return ln
}
