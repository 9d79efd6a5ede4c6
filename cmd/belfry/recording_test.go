package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/pion/webrtc/v4/pkg/media/ivfreader"

	"github.com/belfry/belfry/domain/chime/meeting"
	"github.com/belfry/belfry/infra/recording"
)

// manifests reads the manifests of a meeting's finished recordings under root, by recording id.
func manifests(root, meetingID string) map[string]recording.Manifest {
	out := map[string]recording.Manifest{}
	dirs, _ := os.ReadDir(filepath.Join(root, meetingID))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(root, meetingID, d.Name(), "manifest.json"))
		var m recording.Manifest
		if err == nil && json.Unmarshal(b, &m) == nil {
			out[d.Name()] = m
		}
	}
	return out
}

// ivfFrames counts the frames of an IVF file (-1: not one).
func ivfFrames(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return -1
	}
	defer f.Close()
	r, _, err := ivfreader.NewWith(f)
	if err != nil {
		return -1
	}
	n := 0
	for {
		if _, _, err := r.ParseNextFrame(); err != nil {
			return n
		}
		n++
	}
}

// TestMeetingRecording: guide §8.2 over the signalling WebSocket with pion clients — an attendee
// who is not a moderator cannot record; the host starts recording (everyone is told), both
// attendees' audio and video are written to files a standard reader opens, and stopping finishes
// them with a manifest; a second recording is stopped by the end of the meeting. Each start and
// stop is a meeting event, the reasons told apart.
func TestMeetingRecording(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	b, id, aliceTok, bobTok, _ := meetingWith(t, func(m *Main) { m.cfg.Media.Loopback = true; m.cfg.Media.RecordingsDir = root })
	alice := b.join(t, id, aliceTok) // the organiser: the host and moderator
	bob := b.join(t, id, bobTok)
	until(t, "media both ways", func() bool { return alice.c.Received(bob.id, "video") > 10 && bob.c.Received(alice.id, "video") > 10 })

	bob.send(map[string]string{"type": "record"})
	until(t, "bob's record refused", func() bool { return len(bob.errorCodes()) == 1 })
	if codes := bob.errorCodes(); codes[0] != "Forbidden" {
		t.Fatalf("a non-moderator records: %v", codes)
	}

	alice.send(map[string]string{"type": "record"})
	until(t, "everyone told of the recording", func() bool { return alice.noted("record") && bob.noted("record") })
	v := alice.c.Received(bob.id, "video")
	until(t, "a second of media", func() bool { return alice.c.Received(bob.id, "video") > v+100 })
	alice.send(map[string]string{"type": "stopRecording"})
	until(t, "the first recording finished", func() bool { return bob.noted("stopRecording") && len(manifests(root, id)) == 1 })
	var first recording.Manifest
	for _, m := range manifests(root, id) {
		first = m
	}
	got := map[string]int64{}
	for _, tr := range first.Tracks {
		got[tr.AttendeeID+"/"+tr.Kind] = tr.Packets
		if tr.Kind == "video" {
			if n := ivfFrames(filepath.Join(root, id, first.RecordingID, tr.File)); n < 20 {
				t.Fatalf("%s: %d IVF frames", tr.File, n)
			}
		}
	}
	for _, key := range []string{alice.id + "/video", alice.id + "/audio", bob.id + "/video", bob.id + "/audio"} {
		if got[key] < 20 {
			t.Fatalf("recorded packets %v: %s missing", got, key)
		}
	}

	alice.send(map[string]string{"type": "record"})
	until(t, "the second recording", func() bool {
		alice.mu.Lock()
		defer alice.mu.Unlock()
		n := 0
		for _, m := range alice.notes {
			if m.Action == "record" {
				n++
			}
		}
		return n == 2
	})
	alice.send(map[string]string{"type": "end"})
	until(t, "the second recording finished with the meeting", func() bool { return len(manifests(root, id)) == 2 })

	evs := b.meetingEvents(t, id)
	if countEvents(evs, func(e meeting.RecordingStarted) bool { return e.By == alice.id }) != 2 ||
		countEvents(evs, func(e meeting.RecordingStopped) bool {
			return e.By == alice.id && e.Reason == meeting.RecordingStoppedByModerator
		}) != 1 ||
		countEvents(evs, func(e meeting.RecordingStopped) bool { return e.Reason == meeting.RecordingStoppedMeetingEnded }) != 1 {
		t.Fatalf("recording events: %v", evs)
	}
}

// TestMeetingRecordingOff: with BELFRY_RECORDINGS_DIR=off a moderator's "record" is refused and
// nothing is recorded as started.
func TestMeetingRecordingOff(t *testing.T) {
	t.Parallel()
	b, id, aliceTok, _, _ := meetingWith(t, func(m *Main) { m.cfg.Media.Loopback = true; m.cfg.Media.RecordingsDir = "off" })
	alice := b.join(t, id, aliceTok)
	alice.send(map[string]string{"type": "record"})
	until(t, "the refusal", func() bool { return len(alice.errorCodes()) == 1 })
	if n := countEvents(b.meetingEvents(t, id), func(meeting.RecordingStarted) bool { return true }); n != 0 {
		t.Fatalf("a recording was recorded as started: %d", n)
	}
}
