// Package sfuclient is a pion/webrtc participant for Belfry's SFU, without signalling of its own:
// the tests and the media bench drive it over the signalling WebSocket or in process. It answers the
// SFU's offers, sends one synthetic VP8 video track (and an Opus audio track, and with
// Options.Content a second VP8 track on the screen-share m-line) at a steady packet rate, and counts
// the RTP packets it receives per publishing participant and kind ("audio", "video", "content").
// With Options.Simulcast its camera video goes out as simulcast layers, and EstimateBitrate sends
// the SFU a bandwidth estimate (REMB) as a browser's receiver would.
package sfuclient

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Client is one participant.
type Client struct {
	pc                    *webrtc.PeerConnection
	video, audio, content *webrtc.TrackLocalStaticRTP   // content nil without Options.Content
	layers                []*webrtc.TrackLocalStaticRTP // Options.Simulcast: the video's layers (video is the first)
	videoSender           *webrtc.RTPSender

	o    Options
	sent atomic.Int64 // video packets written

	mu       sync.Mutex
	received map[string]*atomic.Int64 // by stream id (the publisher's attendee id) and kind
	first    time.Time                // when the first packet arrived
	answered bool
	pending  []webrtc.ICECandidateInit
	ext      simulcastExt // negotiated once answered
	recvSSRC []uint32     // of the video tracks received, named in EstimateBitrate's REMB
}

// simulcastExt is what a simulcast layer's packets carry so that the SFU can tell them apart: the
// video m-line's mid and the layer's RID, in the negotiated header extensions.
type simulcastExt struct {
	mid          string
	midID, ridID uint8
}

// Options shape a client.
type Options struct {
	// TCPOnly gathers and uses TCP candidates only (active ICE-TCP), as behind a firewall that
	// blocks UDP.
	TCPOnly bool
	// Content also sends a screen share.
	Content bool
	// NoAudio sends video only.
	NoAudio bool
	// NoFeedback sends no transport-wide congestion control feedback (transport-cc) on what it
	// receives, and so gives the sender no estimate (pion's default interceptors send it, as
	// browsers do; REMB only when EstimateBitrate is called). Its connection has the default codecs
	// and NACK only: no receiver reports and no mid/rid extensions, so not with Simulcast.
	NoFeedback bool
	// Simulcast, when set, sends the camera video as one layer per RID (at most a few), lowest
	// first: layer i's packets are Send's size × 4^i bytes (at most 1200), carry i in LayerOf, and
	// number their sequence and timestamps from their own starting points.
	Simulcast []string
	// OnRTP, when set, sees every packet received (key as for OnPacket; the packet only for the
	// call).
	OnRTP func(key string, pkt *rtp.Packet)
	// OnPacket, when set, sees every packet received (key "<publisher>/<kind>", the payload only
	// for the call); the media bench reads the send time Send stamps in video payloads (SentAt).
	OnPacket func(key string, payload []byte, at time.Time)
}

// New builds a client; onCandidate receives its ICE candidates as JSON (RTCIceCandidateInit).
func New(onCandidate func([]byte)) (*Client, error) { return NewWith(onCandidate, Options{}) }

// NewWith is New with options.
func NewWith(onCandidate func([]byte), o Options) (*Client, error) {
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	if o.TCPOnly {
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6})
	}
	opts := []func(*webrtc.API){webrtc.WithSettingEngine(se)}
	if o.NoFeedback {
		m, ir := &webrtc.MediaEngine{}, &interceptor.Registry{}
		if err := m.RegisterDefaultCodecs(); err != nil {
			return nil, err
		}
		if err := webrtc.ConfigureNack(m, ir); err != nil {
			return nil, err
		}
		opts = append(opts, webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir))
	}
	pc, err := webrtc.NewAPI(opts...).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	c := &Client{pc: pc, received: map[string]*atomic.Int64{}, o: o}
	if err := c.newVideo(); err != nil {
		return nil, err
	}
	if c.audio, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "audio", "self"); err != nil {
		return nil, err
	}
	tracks := []*webrtc.TrackLocalStaticRTP{c.audio, c.video}
	if o.Content {
		if c.content, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "content", "self"); err != nil {
			return nil, err
		}
		tracks = append(tracks, c.content)
	}
	for _, t := range tracks {
		sender, err := pc.AddTrack(t)
		if err != nil {
			return nil, err
		}
		if t == c.video {
			c.videoSender = sender
			for _, l := range c.layers[min(1, len(c.layers)):] {
				if err := sender.AddEncoding(l); err != nil {
					return nil, err
				}
			}
		}
		go func() { // drain RTCP so the interceptors run
			for {
				if _, _, err := sender.ReadRTCP(); err != nil {
					return
				}
			}
		}()
	}
	pc.OnICECandidate(func(ic *webrtc.ICECandidate) {
		if ic == nil {
			return
		}
		if b, err := json.Marshal(ic.ToJSON()); err == nil {
			onCandidate(b)
		}
	})
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { c.count(t) })
	return c, nil
}

// newVideo makes the camera track, or its simulcast layers.
func (c *Client) newVideo() error {
	vp8 := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}
	var err error
	if len(c.o.Simulcast) == 0 {
		c.video, err = webrtc.NewTrackLocalStaticRTP(vp8, "video", "self")
		return err
	}
	for _, rid := range c.o.Simulcast {
		l, err := webrtc.NewTrackLocalStaticRTP(vp8, "video", "self", webrtc.WithRTPStreamID(rid))
		if err != nil {
			return err
		}
		c.layers = append(c.layers, l)
	}
	c.video = c.layers[0]
	return nil
}

// count counts a received track's packets under "<publisher>/<kind>": the SFU names each track it
// forwards "<publisher>-<kind>" in the publisher's stream.
func (c *Client) count(t *webrtc.TrackRemote) {
	kind, ok := strings.CutPrefix(t.ID(), t.StreamID()+"-")
	if !ok {
		kind = t.Kind().String()
	}
	key := t.StreamID() + "/" + kind
	c.mu.Lock()
	n := c.received[key]
	if n == nil {
		n = &atomic.Int64{}
		c.received[key] = n
	}
	if t.Kind() == webrtc.RTPCodecTypeVideo {
		c.recvSSRC = append(c.recvSSRC, uint32(t.SSRC()))
	}
	c.mu.Unlock()
	for {
		pkt, _, err := t.ReadRTP()
		if err != nil {
			return
		}
		if c.o.OnRTP != nil {
			c.o.OnRTP(key, pkt)
		}
		if c.o.OnPacket != nil {
			c.o.OnPacket(key, pkt.Payload, time.Now())
		}
		if n.Add(1) == 1 {
			c.mu.Lock()
			if c.first.IsZero() {
				c.first = time.Now()
			}
			c.mu.Unlock()
		}
	}
}

// Answer applies the SFU's offer and returns the answer.
//
// The SFU's offers repeat, on the m-line a client sends simulcast on, the layers it receives there
// (a=rid ... recv, a=simulcast:recv) beside the track it may send on that m-line; pion as answerer
// would take those lines for layers it is to receive and miss that track, so the client drops them
// (it never receives simulcast; its own layers come from its encodings).
func (c *Client) Answer(offer string) (string, error) {
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: withoutSimulcast(offer)}); err != nil {
		return "", err
	}
	ans, err := c.pc.CreateAnswer(nil)
	if err != nil {
		return "", err
	}
	if err := c.pc.SetLocalDescription(ans); err != nil {
		return "", err
	}
	c.mu.Lock()
	c.answered = true
	c.ext = c.negotiatedExt()
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()
	for _, p := range pending {
		_ = c.pc.AddICECandidate(p)
	}
	return ans.SDP, nil
}

// negotiatedExt reads the video sender's mid and the ids of the mid and RID header extensions.
func (c *Client) negotiatedExt() simulcastExt {
	var e simulcastExt
	if c.videoSender == nil || len(c.layers) == 0 {
		return e
	}
	for _, tr := range c.pc.GetTransceivers() {
		if tr.Sender() == c.videoSender {
			e.mid = tr.Mid()
		}
	}
	for _, h := range c.videoSender.GetParameters().HeaderExtensions {
		switch h.URI {
		case "urn:ietf:params:rtp-hdrext:sdes:mid":
			e.midID = uint8(h.ID)
		case "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id":
			e.ridID = uint8(h.ID)
		}
	}
	return e
}

// EstimateBitrate sends the SFU a receiver's bandwidth estimate (RTCP REMB) of bps bits/s for the
// video tracks received so far (none yet: nothing is sent).
func (c *Client) EstimateBitrate(bps float32) error {
	c.mu.Lock()
	ssrcs := append([]uint32(nil), c.recvSSRC...)
	c.mu.Unlock()
	if len(ssrcs) == 0 {
		return nil
	}
	return c.pc.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: bps, SSRCs: ssrcs}})
}

// withoutSimulcast drops the a=rid and a=simulcast lines of an SDP.
func withoutSimulcast(sdp string) string {
	lines := strings.SplitAfter(sdp, "\n")
	out := lines[:0]
	for _, ln := range lines {
		if !strings.HasPrefix(ln, "a=rid:") && !strings.HasPrefix(ln, "a=simulcast:") {
			out = append(out, ln)
		}
	}
	return strings.Join(out, "")
}

// AddCandidate adds one of the SFU's candidates (JSON), holding it until the first offer is applied.
func (c *Client) AddCandidate(b []byte) error {
	var ic webrtc.ICECandidateInit
	if err := json.Unmarshal(b, &ic); err != nil {
		return fmt.Errorf("sfuclient: candidate: %w", err)
	}
	c.mu.Lock()
	if !c.answered {
		c.pending = append(c.pending, ic)
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	return c.pc.AddICECandidate(ic)
}

// Send writes synthetic media until ctx ends: every interval one VP8 packet (a keyframe every
// 30th) of size bytes (at least 10), stamped with its send time (SentAt), and one Opus packet unless
// Options.NoAudio. Before the connection is up the writes go nowhere.
func (c *Client) Send(ctx context.Context, interval time.Duration, size int) {
	size = max(size, 10)
	t := time.NewTicker(interval)
	defer t.Stop()
	payload := make([]byte, size)
	var seq uint16
	for ts := uint32(0); ; ts += 3000 {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		seq++
		payload[0] = 0x10 // VP8 descriptor: start of partition
		if seq%30 == 1 {
			payload[1] = 0x00 // keyframe bit clear = keyframe
		} else {
			payload[1] = 0x01
		}
		binary.BigEndian.PutUint64(payload[2:10], uint64(time.Now().UnixNano()))
		c.sent.Add(1)
		if len(c.layers) > 0 {
			c.sendLayers(seq, ts, payload)
		} else {
			_ = c.video.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, Marker: true}, Payload: payload})
		}
		if c.content != nil {
			_ = c.content.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, Marker: true}, Payload: payload})
		}
		if !c.o.NoAudio {
			_ = c.audio.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts / 3000 * 960}, Payload: payload[:min(64, size)]})
		}
	}
}

// sendLayers writes one packet per simulcast layer: payload (descriptor and send time) grown to the
// layer's size, the layer's index at byte 10, and the mid and RID header extensions.
func (c *Client) sendLayers(seq uint16, ts uint32, payload []byte) {
	c.mu.Lock()
	e := c.ext
	c.mu.Unlock()
	for i, l := range c.layers {
		p := make([]byte, max(11, min(len(payload)<<(2*i), 1200)))
		copy(p, payload)
		p[10] = byte(i)
		h := rtp.Header{Version: 2, SequenceNumber: uint16(i*20000) + seq, Timestamp: uint32(i)*1_000_000_000 + ts, Marker: true}
		if e.midID != 0 && e.ridID != 0 {
			_ = h.SetExtension(e.midID, []byte(e.mid))
			_ = h.SetExtension(e.ridID, []byte(l.RID()))
		}
		_ = l.WriteRTP(&rtp.Packet{Header: h, Payload: p})
	}
}

// LayerOf is the simulcast layer index Send wrote in a video payload (-1: too short).
func LayerOf(payload []byte) int {
	if len(payload) < 11 {
		return -1
	}
	return int(payload[10])
}

// SentAt is the send time Send stamped in a video payload (zero for a payload too short).
func SentAt(payload []byte) time.Time {
	if len(payload) < 10 {
		return time.Time{}
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(payload[2:10])))
}

// Sent is how many video packets Send wrote.
func (c *Client) Sent() int64 { return c.sent.Load() }

// Received returns the packets received from one publisher's kind ("audio", "video", "content").
func (c *Client) Received(publisher, kind string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.received[publisher+"/"+kind]; n != nil {
		return n.Load()
	}
	return 0
}

// FirstPacket is when the first media packet arrived (zero: none yet).
func (c *Client) FirstPacket() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.first
}

// Close closes the connection.
func (c *Client) Close() error { return c.pc.Close() }

// Protocol is the transport protocol ("udp", "tcp") of the selected ICE candidate pair, "" before
// one is selected.
func (c *Client) Protocol() string {
	for _, tr := range c.pc.GetTransceivers() {
		if tr.Sender() == nil || tr.Sender().Transport() == nil {
			continue
		}
		pair, err := tr.Sender().Transport().ICETransport().GetSelectedCandidatePair()
		if err == nil && pair != nil {
			return pair.Local.Protocol.String()
		}
	}
	return ""
}
