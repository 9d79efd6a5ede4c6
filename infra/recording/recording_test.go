package recording_test

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"

	"github.com/belfry/belfry/infra/recording"
)

var (
	vp8  = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	opus = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
)

// vp8Frame is one single-packet VP8 frame (a keyframe when key).
func vp8Frame(seq uint16, key bool) *rtp.Packet {
	p := make([]byte, 40)
	p[0] = 0x10
	if !key {
		p[1] = 0x01
	}
	return &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 3000, Marker: true}, Payload: p}
}

func opusPacket(seq uint16) *rtp.Packet {
	return &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 960}, Payload: []byte{0xfc, 1, 2, 3, 4, 5, 6, 7}}
}

// TestRecordingFiles: a recording's tracks are files a standard reader opens (IVF frames, Ogg
// pages), listed in manifest.json; a codec no writer stores is skipped; the files are the
// service user's alone.
func TestRecordingFiles(t *testing.T) {
	root := t.TempDir()
	s := &recording.Store{Root: root}
	r, err := s.Open("meeting-1", "rec-1")
	if err != nil {
		t.Fatal(err)
	}
	v := r.Track("att-1", "video", vp8)
	a := r.Track("att-1", "audio", opus)
	if skip := r.Track("att-2", "video", webrtc.RTPCodecCapability{MimeType: "video/x-unknown"}); skip != nil {
		t.Fatal("an unknown codec was opened")
	}
	// The VP8 writer drops a frame's packets until the first keyframe.
	for i := uint16(1); i <= 60; i++ {
		if err := v.WriteRTP(vp8Frame(i, i == 1 || i == 31)); err != nil {
			t.Fatal(err)
		}
		if err := a.WriteRTP(opusPacket(i)); err != nil {
			t.Fatal(err)
		}
	}
	m, err := r.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Tracks) != 3 || m.Tracks[0].Packets != 60 || m.Tracks[1].Packets != 60 || !m.Tracks[2].Skipped || m.Truncated {
		t.Fatalf("manifest: %+v", m)
	}
	var onDisk recording.Manifest
	b, err := os.ReadFile(filepath.Join(root, "meeting-1", "rec-1", "manifest.json"))
	if err != nil || json.Unmarshal(b, &onDisk) != nil || onDisk.RecordingID != "rec-1" || len(onDisk.Tracks) != 3 {
		t.Fatalf("manifest.json: %s %v", b, err)
	}
	f, err := os.Open(filepath.Join(r.Dir(), m.Tracks[0].File))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ivf, hdr, err := ivfreader.NewWith(f)
	if err != nil || hdr.FourCC != "VP80" {
		t.Fatalf("ivf header: %+v %v", hdr, err)
	}
	frames := 0
	for {
		if _, _, err := ivf.ParseNextFrame(); err != nil {
			break
		}
		frames++
	}
	if frames < 50 {
		t.Fatalf("%d IVF frames, want the 60 written (from the keyframe)", frames)
	}
	g, err := os.Open(filepath.Join(r.Dir(), m.Tracks[1].File))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ogg, _, err := oggreader.NewWith(g)
	if err != nil {
		t.Fatal(err)
	}
	pages := 0
	for {
		if _, _, err := ogg.ParseNextPage(); err != nil {
			if !errors.Is(err, io.EOF) && pages == 0 {
				t.Fatal(err)
			}
			break
		}
		pages++
	}
	if pages < 60 {
		t.Fatalf("%d Ogg pages", pages)
	}
	for _, p := range []string{filepath.Join(root, "meeting-1"), r.Dir(), filepath.Join(r.Dir(), m.Tracks[0].File)} {
		st, _ := os.Stat(p)
		if st.Mode().Perm()&0o077 != 0 {
			t.Fatalf("%s is %v: others may read it", p, st.Mode())
		}
	}
}

// TestRecordingLimitsAndIDs: past MaxBytes every track stops (ErrLimit) and the manifest says
// truncated; ids that could escape the root are refused; the same recording id twice is refused.
func TestRecordingLimitsAndIDs(t *testing.T) {
	root := t.TempDir()
	s := &recording.Store{Root: root, MaxBytes: 400}
	for _, id := range []string{"", "../x", "a/b", "a\x00", string(make([]byte, 65))} {
		if _, err := s.Open(id, "r"); err == nil {
			t.Fatalf("meeting id %q accepted", id)
		}
		if _, err := s.Open("m", id); err == nil {
			t.Fatalf("recording id %q accepted", id)
		}
	}
	r, err := s.Open("m", "r")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open("m", "r"); err == nil {
		t.Fatal("the same recording opened twice")
	}
	if tr := r.Track("../evil", "video", vp8); tr != nil {
		t.Fatal("an attendee id with a path was opened")
	}
	v, a := r.Track("x", "video", vp8), r.Track("x", "audio", opus)
	var limited error
	for i := uint16(1); i <= 20 && limited == nil; i++ {
		if err := v.WriteRTP(vp8Frame(i, i == 1)); err != nil {
			limited = err
		}
	}
	if !errors.Is(limited, recording.ErrLimit) || !errors.Is(a.WriteRTP(opusPacket(1)), recording.ErrLimit) {
		t.Fatalf("past the limit: %v", limited)
	}
	m, err := r.Close()
	if err != nil || !m.Truncated || m.Tracks[0].Bytes > 400 || m.Tracks[0].Dropped == 0 {
		t.Fatalf("truncated manifest: %+v %v", m, err)
	}
	if tr := r.Track("y", "audio", opus); tr != nil {
		t.Fatal("a track opened after close")
	}
}

// TestRecordingFrameBound: a video track whose frame never ends (no marker bit) stops at
// MaxFrameBytes instead of growing the writer's buffer.
func TestRecordingFrameBound(t *testing.T) {
	r, err := (&recording.Store{Root: t.TempDir()}).Open("m", "r")
	if err != nil {
		t.Fatal(err)
	}
	v := r.Track("x", "video", vp8)
	big := make([]byte, 1200)
	big[0] = 0x10
	var werr error
	for i := 0; i < recording.MaxFrameBytes/1200+10 && werr == nil; i++ {
		werr = v.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: 1}, Payload: big})
	}
	if !errors.Is(werr, recording.ErrFrame) || !errors.Is(v.WriteRTP(vp8Frame(1, true)), recording.ErrFrame) {
		t.Fatalf("an endless frame: %v", werr)
	}
	if m, err := r.Close(); err != nil || m.Tracks[0].Error == "" {
		t.Fatalf("manifest: %+v %v", m, err)
	}
}

// TestRecoverInterrupted: a recording a crash left (files, no manifest) gets its manifest from
// Recover, marked interrupted, each file with its attendee, kind and size; a finished recording
// and an unknown one are left alone.
func TestRecoverInterrupted(t *testing.T) {
	root := t.TempDir()
	s := &recording.Store{Root: root}
	r, err := s.Open("m", "crashed")
	if err != nil {
		t.Fatal(err)
	}
	att := "5e1b0f7a-3c2d-4b8e-9a61-0d4f2c7e8b93"
	v, a := r.Track(att, "video", vp8), r.Track(att, "audio", opus)
	for i := uint16(1); i <= 30; i++ {
		_ = v.WriteRTP(vp8Frame(i, i == 1))
		_ = a.WriteRTP(opusPacket(i))
	}
	// No Close: the process died here.
	ok, err := s.Recover("m", "crashed")
	if err != nil || !ok {
		t.Fatalf("recover: %v %v", ok, err)
	}
	var m recording.Manifest
	b, _ := os.ReadFile(filepath.Join(root, "m", "crashed", "manifest.json"))
	if err := json.Unmarshal(b, &m); err != nil || !m.Interrupted || len(m.Tracks) != 2 {
		t.Fatalf("manifest: %s %v", b, err)
	}
	for _, tr := range m.Tracks {
		if tr.AttendeeID != att || (tr.Kind != "video" && tr.Kind != "audio") || tr.Bytes == 0 ||
			(tr.Kind == "video" && tr.Codec != webrtc.MimeTypeVP8) || (tr.Kind == "audio" && tr.Codec != webrtc.MimeTypeOpus) {
			t.Fatalf("track: %+v", tr)
		}
	}
	if ok, err := s.Recover("m", "crashed"); ok || err != nil {
		t.Fatalf("recovered twice: %v %v", ok, err)
	}
	if ok, err := s.Recover("m", "never-started"); ok || err != nil {
		t.Fatalf("an unknown recording: %v %v", ok, err)
	}
	if _, err := s.Recover("../m", "x"); err == nil {
		t.Fatal("a path in the id was accepted")
	}
}
