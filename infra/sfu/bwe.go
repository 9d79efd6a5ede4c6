package sfu

import (
	"sync"
	"sync/atomic"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/rtcp"
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
	fed atomic.Bool
}

// WriteRTCP notes transport-wide feedback and hands every packet to the estimator.
func (b *sendSide) WriteRTCP(pkts []rtcp.Packet, a interceptor.Attributes) error {
	for _, p := range pkts {
		if _, ok := p.(*rtcp.TransportLayerCC); ok {
			b.fed.Store(true)
			break
		}
	}
	return b.BandwidthEstimator.WriteRTCP(pkts, a)
}

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
			gcc.SendSideBWEMaxBitrate(bweMax), gcc.SendSideBWEPacer(gcc.NewNoOpPacer()))
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
