package mediasignal_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/coder/websocket"

	"github.com/belfry/belfry/api/mediasignal"
)

// TestCheckUpgradeRefusesWhatAcceptRefuses: every handshake CheckUpgrade lets through, Accept takes;
// every one Accept refuses, CheckUpgrade refuses first, so that a slice that admits the caller
// between the two never admits one whose upgrade fails.
func TestCheckUpgradeRefusesWhatAcceptRefuses(t *testing.T) {
	valid := func() *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/signal", nil)
		r.Header.Set("Connection", "keep-alive, Upgrade")
		r.Header.Set("Upgrade", "websocket")
		r.Header.Set("Sec-WebSocket-Version", "13")
		r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		return r
	}
	if err := mediasignal.CheckUpgrade(valid()); err != nil {
		t.Fatalf("a valid handshake: %v", err)
	}
	for name, spoil := range map[string]func(r *http.Request){
		"no Upgrade":    func(r *http.Request) { r.Header.Del("Upgrade") },
		"no Connection": func(r *http.Request) { r.Header.Del("Connection") },
		"no key":        func(r *http.Request) { r.Header.Del("Sec-WebSocket-Key") },
		"two keys":      func(r *http.Request) { r.Header.Add("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==") },
		"a short key":   func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "c2hvcnQ=") },
		"not base64":    func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "!!!!!!!!!!!!!!!!!!!!!!!!") },
		"version 8":     func(r *http.Request) { r.Header.Set("Sec-WebSocket-Version", "8") },
		"no version":    func(r *http.Request) { r.Header.Del("Sec-WebSocket-Version") },
		"a POST":        func(r *http.Request) { r.Method = http.MethodPost },
		"HTTP/1.0":      func(r *http.Request) { r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/1.0", 1, 0 },
	} {
		r := valid()
		spoil(r)
		w := httptest.NewRecorder()
		if _, err := websocket.Accept(w, r, nil); err == nil {
			t.Fatalf("%s: Accept took it", name)
		}
		if err := mediasignal.CheckUpgrade(r); err == nil {
			t.Errorf("%s: Accept refuses it (%d) but CheckUpgrade let it through", name, w.Code)
		}
	}
}
