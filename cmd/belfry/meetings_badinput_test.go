package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestMeetingSignalRefusesBadHandshake: a signalling request that says Upgrade: websocket but is not
// a valid WebSocket handshake (no, two or a malformed key, another version, no Connection: Upgrade)
// is refused with 400 before the attendee is admitted: nothing is recorded, and the scheduled
// meeting is neither started nor ended by it (it can still be joined).
func TestMeetingSignalRefusesBadHandshake(t *testing.T) {
	t.Parallel()
	b, id, aliceTok, _, _ := meetingWith(t, nil)
	good := func(r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+aliceTok)
		r.Header.Set("Connection", "Upgrade")
		r.Header.Set("Upgrade", "websocket")
		r.Header.Set("Sec-WebSocket-Version", "13")
		r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	}
	for name, spoil := range map[string]func(r *http.Request){
		"no key":            func(r *http.Request) { r.Header.Del("Sec-WebSocket-Key") },
		"short key":         func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "c2hvcnQ=") },
		"version 8":         func(r *http.Request) { r.Header.Set("Sec-WebSocket-Version", "8") },
		"no Connection":     func(r *http.Request) { r.Header.Set("Connection", "keep-alive") },
		"two keys":          func(r *http.Request) { r.Header.Add("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==") },
		"no version at all": func(r *http.Request) { r.Header.Del("Sec-WebSocket-Version") },
	} {
		req, _ := http.NewRequest(http.MethodGet, b.url+"/client/v1/meetings/"+id+"/signal", nil)
		good(req)
		spoil(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", name, resp.StatusCode)
		}
	}
	if evs := b.meetingEvents(t, id); len(evs) != 1 {
		t.Fatalf("refused handshakes were recorded: %v", evs)
	}
	if st, out := b.clientCall(t, "GET", "/client/v1/meetings/"+id, aliceTok, nil); st != 200 || out["Meeting"].(map[string]any)["Status"] != "Scheduled" {
		t.Fatalf("the meeting after refused handshakes: %d %v", st, out)
	}
}

// TestMeetingIDsOutOfShape: a meeting id that no meeting can have (longer than any stream name)
// is 404 on every route that names one, never a 500.
func TestMeetingIDsOutOfShape(t *testing.T) {
	t.Parallel()
	b, _, aliceTok, _, _ := meetingWith(t, nil)
	long := strings.Repeat("x", 2000)
	for _, c := range []struct{ method, path string }{
		{"GET", "/client/v1/meetings/" + long}, {"POST", "/client/v1/meetings/" + long + "/start"},
		{"DELETE", "/client/v1/meetings/" + long}, {"GET", "/client/v1/meetings/" + long + "/chat"},
		{"POST", "/client/v1/meetings/" + long + "/chat"},
	} {
		if st, out := b.clientCall(t, c.method, c.path, aliceTok, map[string]string{"Content": "hi"}); st != 404 {
			t.Errorf("%s %s…: %d %v, want 404", c.method, c.path[:40], st, out["Code"])
		}
	}
}
