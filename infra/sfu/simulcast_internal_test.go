package sfu

import (
	"strings"
	"testing"
)

// TestFilterRIDs: an answer's layers are cut to MaxLayers valid RIDs per video m-line, in order, and
// a=simulcast lists only those; audio keeps no layer; everything else is untouched.
func TestFilterRIDs(t *testing.T) {
	t.Parallel()
	in := strings.Join([]string{
		"v=0", "m=audio 9 UDP/TLS/RTP/SAVPF 111", "a=rid:a send", "a=simulcast:send a",
		"m=video 9 UDP/TLS/RTP/SAVPF 96", "a=mid:1", "a=rid:q send", "a=rid:b@d send", "a=rid:h send max-width=640",
		"a=rid:q send", "a=rid:f send", "a=rid:x send", "a=rid:waytoolongforarid1 send", "a=simulcast:send q;b@d;~h;f,x;waytoolongforarid1",
		"m=video 9 UDP/TLS/RTP/SAVPF 96", "a=mid:2", "a=sendrecv", "",
	}, "\r\n")
	want := strings.Join([]string{
		"v=0", "m=audio 9 UDP/TLS/RTP/SAVPF 111",
		"m=video 9 UDP/TLS/RTP/SAVPF 96", "a=mid:1", "a=rid:q send", "a=rid:h send max-width=640",
		"a=rid:f send", "a=simulcast:send q;~h;f",
		"m=video 9 UDP/TLS/RTP/SAVPF 96", "a=mid:2", "a=sendrecv", "",
	}, "\r\n")
	if got := filterRIDs(in); got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
	plain := "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=sendrecv\r\n"
	if got := filterRIDs(plain); got != plain {
		t.Fatalf("an answer without layers changed: %q", got)
	}
}

// TestValidRID: 1 to 16 characters of [A-Za-z0-9_-].
func TestValidRID(t *testing.T) {
	t.Parallel()
	for rid, ok := range map[string]bool{"q": true, "hi_Res-2": true, "0123456789abcdef": true,
		"": false, "0123456789abcdefg": false, "b@d": false, "a b": false, "é": false, "~q": false} {
		if ValidRID(rid) != ok {
			t.Errorf("ValidRID(%q) = %v", rid, !ok)
		}
	}
}

// TestKeyframes: VP8 keyframes with and without the descriptor's extensions, and H.264 IDR/SPS
// alone, in STAP-A and starting an FU-A; delta frames and continuation packets are not.
func TestKeyframes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, mime string
		p          []byte
		key        bool
	}{
		{"vp8 key", "video/VP8", []byte{0x10, 0x00}, true},
		{"vp8 delta", "video/VP8", []byte{0x10, 0x01}, false},
		{"vp8 continuation", "video/VP8", []byte{0x00, 0x00}, false},
		{"vp8 other partition", "video/VP8", []byte{0x11, 0x00}, false},
		{"vp8 key, 15-bit picture id, tl0, tid", "video/VP8", []byte{0x90, 0xe0, 0x81, 0x02, 0x05, 0x20, 0x9c}, true},
		{"vp8 delta, 7-bit picture id", "video/VP8", []byte{0x90, 0x80, 0x05, 0x01}, false},
		{"vp8 truncated", "video/VP8", []byte{0x90, 0x80}, false},
		{"h264 idr", "video/H264", []byte{0x65, 0x88}, true},
		{"h264 non-idr", "video/H264", []byte{0x41, 0x9a}, false},
		{"h264 stap-a sps", "video/H264", []byte{0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce}, true},
		{"h264 stap-a delta", "video/H264", []byte{0x78, 0x00, 0x02, 0x41, 0x9a}, false},
		{"h264 fu-a idr start", "video/H264", []byte{0x7c, 0x85, 0x88}, true},
		{"h264 fu-a idr middle", "video/H264", []byte{0x7c, 0x05, 0x88}, false},
		{"opus", "audio/opus", []byte{0x10, 0x00}, false},
		{"empty", "video/VP8", nil, false},
	} {
		if got := isKeyframe(c.mime, c.p); got != c.key {
			t.Errorf("%s: keyframe %v", c.name, got)
		}
	}
}
