package sfu

import (
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// TestSendSideRetransmissionsAndBadFeedback: a stream's RTX resends reach the wire through the
// estimator (its pacer knows the RTX SSRC), and a feedback report the estimator refuses is counted,
// not returned (which would end the sender's RTCP reading).
func TestSendSideRetransmissionsAndBadFeedback(t *testing.T) {
	g, err := gcc.NewSendSideBWE(gcc.SendSideBWEPacer(newPassPacer()))
	if err != nil {
		t.Fatal(err)
	}
	b := &sendSide{BandwidthEstimator: g}
	defer b.Close()
	var wrote []uint32
	w := b.AddStream(&interceptor.StreamInfo{SSRC: 1111, SSRCRetransmission: 2222}, interceptor.RTPWriterFunc(
		func(h *rtp.Header, _ []byte, _ interceptor.Attributes) (int, error) {
			wrote = append(wrote, h.SSRC)
			return 0, nil
		}))
	for _, ssrc := range []uint32{1111, 2222} {
		if _, err := w.Write(&rtp.Header{Version: 2, SSRC: ssrc}, []byte{1, 2, 3}, nil); err != nil {
			t.Fatalf("SSRC %d: %v", ssrc, err)
		}
	}
	if len(wrote) != 2 || wrote[1] != 2222 {
		t.Fatalf("written: %v", wrote)
	}
	if _, err := w.Write(&rtp.Header{Version: 2, SSRC: 3333}, nil, nil); err == nil {
		t.Fatal("an SSRC never added was written")
	}
	// Three packets received with small deltas, and no deltas: gcc refuses it (invalid feedback).
	bad := &rtcp.TransportLayerCC{MediaSSRC: 1111, BaseSequenceNumber: 5, PacketStatusCount: 3,
		PacketChunks: []rtcp.PacketStatusChunk{&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketReceivedSmallDelta, RunLength: 3}}}
	if err := b.WriteRTCP([]rtcp.Packet{bad}, nil); err != nil {
		t.Fatalf("a refused report was returned: %v", err)
	}
	if !b.fed.Load() || b.rejected.Load() != 1 {
		t.Fatalf("feedback noted %v, refused %d", b.fed.Load(), b.rejected.Load())
	}
}
