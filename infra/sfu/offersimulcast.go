package sfu

import (
	"strings"

	"github.com/pion/sdp/v3"
)

// SimulcastRIDs are the layers a participant joined with JoinOptions.OfferSimulcast is asked to
// send its camera in, lowest first.
var SimulcastRIDs = []string{"q", "h", "f"}

// cameraSection is the index of the camera's m-line in the SFU's offers (audio, camera, screen).
const cameraSection = 1

// withSimulcastRecv returns the offer with the camera's m-line asking for SimulcastRIDs
// (a=rid:<rid> recv, a=simulcast:recv q;h;f), or the offer unchanged when it cannot be parsed or
// that m-line already asks for layers.
//
// pion writes these lines in an offer only once an answer has announced layers, so the first offer
// is completed here for the peer alone (the SFU's local description stays pion's): a browser that
// has set up its camera's sender with encodings of these RIDs then answers a=simulcast:send, and
// pion's later offers repeat the layers from that answer by themselves.
func withSimulcastRecv(offer string) string {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(offer); err != nil || len(d.MediaDescriptions) <= cameraSection {
		return offer
	}
	m := d.MediaDescriptions[cameraSection]
	if m.MediaName.Media != "video" {
		return offer
	}
	if _, ok := m.Attribute("simulcast"); ok {
		return offer
	}
	for _, rid := range SimulcastRIDs {
		m.WithValueAttribute("rid", rid+" recv")
	}
	m.WithValueAttribute("simulcast", "recv "+strings.Join(SimulcastRIDs, ";"))
	out, err := d.Marshal()
	if err != nil {
		return offer
	}
	return string(out)
}
