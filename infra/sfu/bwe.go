package sfu

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// The send-side estimate's bounds (bits/s): where it starts before any feedback, and between what it
// moves.
const (
	bweInitial = 600_000
	bweMin     = 100_000
	bweMax     = 20_000_000
)

// sendSide is a participant's send-side bandwidth estimate (Google Congestion Control on the
// transport-wide feedback its receiver sends, pion's gcc): the estimate a receiver that sends no REMB
// — a browser, once transport-cc is negotiated — is given layers by. It counts only once feedback
// has arrived.
type sendSide struct {
	cc.BandwidthEstimator
	fed      atomic.Bool
	rejected atomic.Uint64 // feedback the estimator refused (malformed)
}

// AddStream adds a stream and, under the same writer, its retransmission (RTX) stream: the NACK
// responder's resends carry the RTX SSRC and must reach the wire through the estimator too.
func (b *sendSide) AddStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	if info.SSRCRetransmission != 0 {
		rtx := *info
		rtx.SSRC = info.SSRCRetransmission
		b.BandwidthEstimator.AddStream(&rtx, w)
	}
	return b.BandwidthEstimator.AddStream(info, w)
}

// WriteRTCP notes transport-wide feedback and hands every packet to the estimator. A packet the
// estimator refuses is counted, not returned: pion's interceptor would hand the error to the
// sender's RTCP reader, and one malformed report would end the track's PLI, REMB and NACK handling.
func (b *sendSide) WriteRTCP(pkts []rtcp.Packet, a interceptor.Attributes) error {
	for _, p := range pkts {
		if _, ok := p.(*rtcp.TransportLayerCC); ok {
			b.fed.Store(true)
			break
		}
	}
	if err := b.BandwidthEstimator.WriteRTCP(pkts, a); err != nil {
		b.rejected.Add(1)
	}
	return nil
}

// passPacer sends every packet at once, to the writer of its SSRC (gcc's NoOpPacer holds one lock
// across every write of a connection, so a subscriber's tracks would wait on each other's socket
// writes); a packet of an SSRC never added is refused.
type passPacer struct {
	mu      sync.RWMutex
	writers map[uint32]interceptor.RTPWriter
}

func newPassPacer() *passPacer { return &passPacer{writers: map[uint32]interceptor.RTPWriter{}} }

// AddStream implements gcc.Pacer.
func (p *passPacer) AddStream(ssrc uint32, w interceptor.RTPWriter) {
	p.mu.Lock()
	p.writers[ssrc] = w
	p.mu.Unlock()
}

// Write implements gcc.Pacer.
func (p *passPacer) Write(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
	p.mu.RLock()
	w, ok := p.writers[h.SSRC]
	p.mu.RUnlock()
	if !ok {
		return 0, fmt.Errorf("%w: %d", gcc.ErrUnknownStream, h.SSRC)
	}
	return w.Write(h, payload, a)
}

// SetTargetBitrate implements gcc.Pacer (it paces nothing).
func (p *passPacer) SetTargetBitrate(int) {}

// Close implements gcc.Pacer.
func (p *passPacer) Close() error { return nil }

// bitrate is the estimate (bits/s), 0 before any feedback.
func (b *sendSide) bitrate() uint64 {
	if b == nil || !b.fed.Load() {
		return 0
	}
	return uint64(max(b.GetTargetBitrate(), 0))
}

// estimators hands the estimator a peer connection's interceptors just made to the Join that is
// building that connection (JoinWith holds mu around NewPeerConnection, which builds them).
type estimators struct {
	mu   sync.Mutex
	next *sendSide
}

// registerSendSide adds the transport-wide sequence numbers to what the SFU sends and the send-side
// estimator that reads their feedback (no pacing: packets leave as they are forwarded).
func registerSendSide(m *webrtc.MediaEngine, ir *interceptor.Registry, e *estimators) error {
	f, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		g, err := gcc.NewSendSideBWE(gcc.SendSideBWEInitialBitrate(bweInitial), gcc.SendSideBWEMinBitrate(bweMin),
			gcc.SendSideBWEMaxBitrate(bweMax), gcc.SendSideBWEPacer(newPassPacer()))
		if err != nil {
			return nil, err
		}
		return &sendSide{BandwidthEstimator: g}, nil
	})
	if err != nil {
		return err
	}
	f.OnNewPeerConnection(func(_ string, b cc.BandwidthEstimator) {
		if s, ok := b.(*sendSide); ok {
			e.next = s
		}
	})
	ir.Add(f)
	return webrtc.ConfigureTWCCHeaderExtensionSender(m, ir)
}

// newPeerConnection builds a peer connection with api and returns it with its estimator.
func (e *estimators) newPeerConnection(api *webrtc.API) (*webrtc.PeerConnection, *sendSide, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.next = nil
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	return pc, e.next, err
}
