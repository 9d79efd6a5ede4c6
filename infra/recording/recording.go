// Package recording stores meeting recordings as files under a root directory (by default
// recordings/ in the data directory): one directory per recording, <root>/<meetingId>/<recordingId>/,
// holding one file per recorded track — Opus audio in Ogg (<attendeeId>-audio-<n>.ogg), VP8, VP9
// or AV1 video in IVF (<attendeeId>-video-<n>.ivf; a screen share is kind "content"), H.264 as an
// Annex-B stream (.h264) — and manifest.json, written when the recording closes, listing each
// file with its attendee, kind, codec, packets and bytes.
//
// Invariants:
//   - Directories are created 0700 and files 0600: a recording is readable by the service's user
//     only. Ids that name paths are checked (letters, digits and '-' only): no id escapes the root.
//   - A recording holds at most MaxBytes of media payload (default 4 GiB), all its tracks
//     together; past it every track stops writing (the rest is counted as dropped) and the manifest
//     says Truncated. A write error stops that track alone and is named in the manifest.
//   - A frame (the packets up to a marker bit, held in memory by the video writers) is at most
//     MaxFrameBytes; a track sending a larger one stops. Any write error stops its track.
//   - A recording a crash interrupted gets its manifest from Recover (the restart's sweep stops
//     it), marked interrupted, its files listed with their sizes.
//   - A track of a codec none of the writers stores is left out (Track returns nil) and listed in
//     the manifest as skipped.
package recording

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/h264writer"
	"github.com/pion/webrtc/v4/pkg/media/ivfwriter"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"
)

// DefaultMaxBytes bounds one recording's media payload when Store.MaxBytes is 0.
const DefaultMaxBytes = 4 << 30

// ErrLimit is the write error of a track once its recording reached MaxBytes.
var ErrLimit = errors.New("recording: the recording reached its size limit")

// MaxFrameBytes bounds one frame (the packets up to a marker bit), which the video writers hold in
// memory until it is whole; a track sending a larger one stops (ErrFrame).
const MaxFrameBytes = 8 << 20

// ErrFrame is the write error of a track whose frame grew past MaxFrameBytes.
var ErrFrame = errors.New("recording: a frame larger than MaxFrameBytes (no marker bit)")

// Store is where recordings go.
type Store struct {
	Root     string
	MaxBytes int64
	Now      func() time.Time
}

// Manifest is a recording's manifest.json.
type Manifest struct {
	MeetingID   string    `json:"meetingId"`
	RecordingID string    `json:"recordingId"`
	StartedAt   time.Time `json:"startedAt"`
	StoppedAt   time.Time `json:"stoppedAt"`
	Truncated   bool      `json:"truncated,omitempty"`
	// Interrupted: the service stopped without closing the recording (a crash); Recover wrote
	// this manifest from the files found: their packets unknown, Bytes each file's size.
	Interrupted bool        `json:"interrupted,omitempty"`
	Tracks      []TrackInfo `json:"tracks"`
}

// TrackInfo is one recorded (or skipped) track.
type TrackInfo struct {
	File       string `json:"file,omitempty"`
	AttendeeID string `json:"attendeeId"`
	Kind       string `json:"kind"`
	Codec      string `json:"codec"`
	Packets    int64  `json:"packets"`
	Bytes      int64  `json:"bytes"`
	Dropped    int64  `json:"dropped,omitempty"`
	Skipped    bool   `json:"skipped,omitempty"`
	Error      string `json:"error,omitempty"`
}

// Recording is one recording being written.
type Recording struct {
	dir   string
	m     Manifest
	max   int64
	now   func() time.Time
	bytes atomic.Int64

	mu     sync.Mutex
	tracks []*Track
	seq    map[string]int
	closed bool
}

// ValidID reports whether id may name a directory or file: 1 to 64 letters, digits and '-'.
func ValidID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// Open starts recording recordingID of meeting meetingID in its own new directory.
func (s *Store) Open(meetingID, recordingID string) (*Recording, error) {
	if !ValidID(meetingID) || !ValidID(recordingID) {
		return nil, fmt.Errorf("recording: invalid meeting or recording id %q/%q", meetingID, recordingID)
	}
	now := s.Now
	if now == nil {
		now = time.Now
	}
	dir := filepath.Join(s.Root, meetingID, recordingID)
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return nil, fmt.Errorf("recording: %w", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("recording: %w", err)
	}
	max := s.MaxBytes
	if max <= 0 {
		max = DefaultMaxBytes
	}
	return &Recording{dir: dir, max: max, now: now, seq: map[string]int{},
		m: Manifest{MeetingID: meetingID, RecordingID: recordingID, StartedAt: now().UTC(), Tracks: []TrackInfo{}}}, nil
}

// Dir is the recording's directory.
func (r *Recording) Dir() string { return r.dir }

// mediaWriter is what pion's media writers have in common.
type mediaWriter interface {
	WriteRTP(*rtp.Packet) error
	Close() error
}

// Track opens the file of one track of attendee owner; nil (listed as skipped) for a codec no
// writer stores, an invalid owner id, or a closed recording.
func (r *Recording) Track(owner, kind string, codec webrtc.RTPCodecCapability) *Track {
	r.mu.Lock()
	defer r.mu.Unlock()
	info := TrackInfo{AttendeeID: owner, Kind: kind, Codec: codec.MimeType}
	ext := extension(codec.MimeType)
	if r.closed || ext == "" || !ValidID(owner) || !ValidID(kind) {
		info.Skipped = true
		r.m.Tracks = append(r.m.Tracks, info)
		return nil
	}
	key := owner + "-" + kind
	r.seq[key]++
	info.File = fmt.Sprintf("%s-%d.%s", key, r.seq[key], ext)
	t := &Track{r: r, info: info}
	w, err := open(filepath.Join(r.dir, info.File), codec)
	if err != nil {
		t.info.Error = err.Error()
	}
	t.w = w
	r.tracks = append(r.tracks, t)
	return t
}

func extension(mime string) string {
	switch strings.ToLower(mime) {
	case strings.ToLower(webrtc.MimeTypeOpus):
		return "ogg"
	case strings.ToLower(webrtc.MimeTypeVP8), strings.ToLower(webrtc.MimeTypeVP9), strings.ToLower(webrtc.MimeTypeAV1):
		return "ivf"
	case strings.ToLower(webrtc.MimeTypeH264):
		return "h264"
	}
	return ""
}

// open creates a track's file (0600) and its writer.
func open(path string, codec webrtc.RTPCodecCapability) (mediaWriter, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	var w mediaWriter
	switch extension(codec.MimeType) {
	case "ogg":
		w, err = oggwriter.NewWith(f, max(codec.ClockRate, 48000), max(codec.Channels, 2))
	case "ivf":
		w, err = ivfwriter.NewWith(f, ivfwriter.WithCodec(codec.MimeType))
	default:
		w = h264writer.NewWith(f)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return w, nil // pion's writers close f when they close
}

// Track is one track's file.
type Track struct {
	r       *Recording
	w       mediaWriter
	mu      sync.Mutex
	info    TrackInfo
	done    bool
	pending int64 // bytes since the last marker bit
}

// WriteRTP stores one packet; ErrLimit once the recording is full, the writer's error if it fails.
func (t *Track) WriteRTP(p *rtp.Packet) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.w == nil || t.done {
		t.info.Dropped++
		return errors.New("recording: track closed or not opened")
	}
	n := int64(len(p.Payload))
	if t.r.bytes.Add(n) > t.r.max {
		t.r.bytes.Add(-n)
		t.info.Dropped++
		t.r.truncated()
		return ErrLimit
	}
	if t.pending += n; t.pending > MaxFrameBytes {
		t.pending = MaxFrameBytes + 1 // stays over: every later packet is refused
		t.info.Dropped++
		t.info.Error = ErrFrame.Error()
		return ErrFrame
	}
	if p.Marker {
		t.pending = 0
	}
	if err := t.w.WriteRTP(p); err != nil {
		t.info.Dropped++
		if t.info.Error == "" {
			t.info.Error = err.Error()
		}
		return err
	}
	t.info.Packets++
	t.info.Bytes += n
	return nil
}

// Close closes the track's file (once).
func (t *Track) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done || t.w == nil {
		t.done = true
		return nil
	}
	t.done = true
	err := t.w.Close()
	if err != nil && t.info.Error == "" {
		t.info.Error = err.Error()
	}
	return err
}

func (r *Recording) truncated() {
	r.mu.Lock()
	r.m.Truncated = true
	r.mu.Unlock()
}

// Close closes every track still open and writes manifest.json (once); it returns the manifest.
func (r *Recording) Close() (Manifest, error) {
	r.mu.Lock()
	if r.closed {
		m := r.m
		r.mu.Unlock()
		return m, nil
	}
	r.closed = true
	tracks := r.tracks
	r.mu.Unlock()
	var errs []error
	infos := make([]TrackInfo, 0, len(tracks))
	for _, t := range tracks {
		if err := t.Close(); err != nil {
			errs = append(errs, err)
		}
		t.mu.Lock()
		infos = append(infos, t.info)
		t.mu.Unlock()
	}
	r.mu.Lock()
	r.m.Tracks = append(infos, r.m.Tracks...)
	r.m.StoppedAt = r.now().UTC()
	m := r.m
	r.mu.Unlock()
	b, err := json.MarshalIndent(m, "", "  ")
	if err == nil {
		err = os.WriteFile(filepath.Join(r.dir, "manifest.json"), append(b, '\n'), 0o600)
	}
	return m, errors.Join(append(errs, err)...)
}

// Recover writes the manifest of a recording a crash interrupted — its directory holds track files
// and no manifest.json — listing each file with its size, marked Interrupted; the files stay as the
// crash left them (pion's writers had written every frame they were given). It does nothing (false)
// when the recording has no directory or has its manifest.
func (s *Store) Recover(meetingID, recordingID string) (bool, error) {
	if !ValidID(meetingID) || !ValidID(recordingID) {
		return false, fmt.Errorf("recording: invalid meeting or recording id %q/%q", meetingID, recordingID)
	}
	dir := filepath.Join(s.Root, meetingID, recordingID)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("recording: %w", err)
	}
	m := Manifest{MeetingID: meetingID, RecordingID: recordingID, Interrupted: true, Tracks: []TrackInfo{}}
	for _, e := range entries {
		if e.Name() == "manifest.json" {
			return false, nil
		}
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		if strings.HasSuffix(e.Name(), ".recover") {
			continue
		}
		m.Tracks = append(m.Tracks, trackOf(dir, e.Name(), info.Size()))
		if t := info.ModTime().UTC(); t.After(m.StoppedAt) {
			m.StoppedAt = t
		}
	}
	if st, err := os.Stat(dir); err == nil {
		m.StartedAt = st.ModTime().UTC() // its last entry's creation: an upper bound of the start
		if len(m.Tracks) == 0 || m.StoppedAt.Before(m.StartedAt) {
			m.StoppedAt = m.StartedAt
		}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return false, err
	}
	return writeOnce(filepath.Join(dir, "manifest.json"), append(b, '\n'))
}

// writeOnce writes b to path unless path exists: a temporary file linked in under its name, so a
// manifest is whole or absent and one written meanwhile (the recording's own Close) is kept.
func writeOnce(path string, b []byte) (bool, error) {
	tmp := path + ".recover"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return false, err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); errors.Is(err, os.ErrExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return true, nil
}

// trackOf reads a track file's name, <attendeeId>-<kind>-<n>.<ext>, back into its TrackInfo (Bytes:
// the file's size; an IVF file's codec from its header).
func trackOf(dir, name string, size int64) TrackInfo {
	t := TrackInfo{File: name, Bytes: size}
	base, ext, _ := strings.Cut(name, ".")
	if i := strings.LastIndex(base, "-"); i > 0 {
		base = base[:i]
		if j := strings.LastIndex(base, "-"); j > 0 {
			t.AttendeeID, t.Kind = base[:j], base[j+1:]
		}
	}
	switch ext {
	case "ogg":
		t.Codec = webrtc.MimeTypeOpus
	case "h264":
		t.Codec = webrtc.MimeTypeH264
	case "ivf":
		t.Codec = ivfCodec(filepath.Join(dir, name))
	}
	return t
}

// ivfCodec is the codec an IVF file's header names ("" when unreadable).
func ivfCodec(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var h [12]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		return ""
	}
	switch string(h[8:12]) {
	case "VP80":
		return webrtc.MimeTypeVP8
	case "VP90":
		return webrtc.MimeTypeVP9
	case "AV01":
		return webrtc.MimeTypeAV1
	}
	return ""
}
