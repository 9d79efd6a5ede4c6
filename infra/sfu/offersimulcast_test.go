package sfu

import (
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"
)

// TestWithSimulcastRecv: the camera's m-line (the second) of a real offer gains the three RIDs and
// the simulcast attribute, the others are untouched; an offer that already asks for layers, or
// that does not parse, is returned as it is.
func TestWithSimulcastRecv(t *testing.T) {
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeVideo} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	got := withSimulcastRecv(offer.SDP)
	sections := strings.Split(got, "m=")
	if len(sections) != 4 {
		t.Fatalf("%d sections:\n%s", len(sections)-1, got)
	}
	for i, sec := range sections[1:] {
		has := strings.Contains(sec, "a=rid:q recv\r\na=rid:h recv\r\na=rid:f recv\r\na=simulcast:recv q;h;f\r\n")
		if has != (i == cameraSection) {
			t.Fatalf("section %d: layers %v:\n%s", i, has, sec)
		}
	}
	if again := withSimulcastRecv(got); again != got {
		t.Fatalf("asked twice:\n%s", again)
	}
	if bad := "v=0\r\nnonsense"; withSimulcastRecv(bad) != bad {
		t.Fatal("an offer that does not parse was changed")
	}
}
