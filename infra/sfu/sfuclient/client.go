// Package sfuclient is a pion/webrtc participant for Belfry's SFU, without signalling of its own:
// the tests and the media bench drive it over the signalling WebSocket or in process. It answers the
// SFU's offers, sends one synthetic VP8 video track (and an Opus audio track, and with
// Options.Content a second VP8 track on the screen-share m-line) at a steady packet rate, and counts
// the RTP packets it receives per publishing participant and kind ("audio", "video", "content").
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

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Client is one participant.
type Client struct {
	pc                    *webrtc.PeerConnection
	video, audio, content *webrtc.TrackLocalStaticRTP // content nil without Options.Content

	o    Options
	sent atomic.Int64 // video packets written

	mu       sync.Mutex
	received map[string]*atomic.Int64 // by stream id (the publisher's attendee id) and kind
	first    time.Time                // when the first packet arrived
	answered bool
	pending  []webrtc.ICECandidateInit
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
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	c := &Client{pc: pc, received: map[string]*atomic.Int64{}, o: o}
	if c.video, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "self"); err != nil {
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
	c.mu.Unlock()
	for {
		pkt, _, err := t.ReadRTP()
		if err != nil {
			return
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
func (c *Client) Answer(offer string) (string, error) {
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
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
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()
	for _, p := range pending {
		_ = c.pc.AddICECandidate(p)
	}
	return ans.SDP, nil
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
		_ = c.video.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, Marker: true}, Payload: payload})
		if c.content != nil {
			_ = c.content.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, Marker: true}, Payload: payload})
		}
		if !c.o.NoAudio {
			_ = c.audio.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts / 3000 * 960}, Payload: payload[:min(64, size)]})
		}
	}
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
