package sfu_test

import (
	"sync"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/belfry/belfry/infra/sfu"
	"github.com/belfry/belfry/infra/sfu/sfuclient"
)

// memRecorder keeps every recorded packet in memory, by owner and kind.
type memRecorder struct {
	mu     sync.Mutex
	tracks map[string]*memTrack
}

type memTrack struct {
	mu     sync.Mutex
	codec  string
	pkts   []*rtp.Packet
	closed bool
}

func (m *memRecorder) Track(owner, kind string, codec webrtc.RTPCodecCapability) sfu.TrackRecorder {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := &memTrack{codec: codec.MimeType}
	m.tracks[owner+"/"+kind] = t
	return t
}

func (t *memTrack) WriteRTP(p *rtp.Packet) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		panic("write after close")
	}
	t.pkts = append(t.pkts, p)
	return nil
}

func (t *memTrack) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	return nil
}

func (m *memRecorder) track(key string) (n int, first *rtp.Packet, layers map[int]bool, closed bool) {
	m.mu.Lock()
	t := m.tracks[key]
	m.mu.Unlock()
	if t == nil {
		return 0, nil, nil, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	layers = map[int]bool{}
	for _, p := range t.pkts {
		layers[sfuclient.LayerOf(p.Payload)] = true
	}
	if len(t.pkts) > 0 {
		first = t.pkts[0]
	}
	return len(t.pkts), first, layers, t.closed
}

// TestRecordRoom: a recorded room's tracks — those published before the recording began and after
// — reach the recorder, video from a keyframe on, a simulcast camera as one layer; stop closes
// every track and nothing is written after it; another room is not recorded.
func TestRecordRoom(t *testing.T) {
	s, err := sfu.New(sfu.Config{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := join(t, s, "m1", "alice", "")
	join(t, s, "m2", "dave", "")
	waitFor(t, "alice's media to flow", func() bool { return s.Stats().Participants == 2 && a.c.Sent() > 5 })
	rec := &memRecorder{tracks: map[string]*memTrack{}}
	stop := s.Record("m1", rec)
	b := joinWith(t, s, "m1", "bob", "", sfuclient.Options{Simulcast: []string{"q", "h", "f"}})
	waitFor(t, "both recorded", func() bool {
		na, _, _, _ := rec.track("alice/video")
		nb, _, _, _ := rec.track("bob/video")
		au, _, _, _ := rec.track("alice/audio")
		return na > 40 && nb > 40 && au > 40
	})
	waitFor(t, "bob's layers", func() bool { return s.Stats().SimulcastLayers >= 3 })
	for _, key := range []string{"alice/video", "bob/video"} {
		_, first, layers, _ := rec.track(key)
		if first.Payload[1]&0x01 != 0 {
			t.Fatalf("%s: the recording does not start at a keyframe", key)
		}
		if len(layers) != 1 {
			t.Fatalf("%s: recorded layers %v, want one", key, layers)
		}
	}
	if n, _, _, _ := rec.track("dave/video"); n != 0 {
		t.Fatal("another room was recorded")
	}
	stop()
	for _, key := range []string{"alice/video", "alice/audio", "bob/video"} {
		if _, _, _, closed := rec.track(key); !closed {
			t.Fatalf("%s still open after stop", key)
		}
	}
	n, _, _, _ := rec.track("alice/video")
	waitFor(t, "more media forwarded", func() bool { return b.c.Received("alice", "video") > 100 })
	if m, _, _, _ := rec.track("alice/video"); m != n {
		t.Fatalf("written after stop: %d -> %d", n, m)
	}

	// Recording again records anew; the owner leaving closes its tracks.
	rec2 := &memRecorder{tracks: map[string]*memTrack{}}
	stop2 := s.Record("m1", rec2)
	defer stop2()
	waitFor(t, "the second recording", func() bool { n, _, _, _ := rec2.track("alice/video"); return n > 10 })
	a.p.Leave()
	waitFor(t, "alice's tracks closed", func() bool {
		_, _, _, v := rec2.track("alice/video")
		_, _, _, au := rec2.track("alice/audio")
		return v && au
	})
}
