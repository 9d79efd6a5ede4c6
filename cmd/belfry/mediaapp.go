package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/belfry/belfry/api/chime/calls"
	"github.com/belfry/belfry/api/chime/media"
	"github.com/belfry/belfry/api/chime/meetings"
	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/api/mediasignal"
	"github.com/belfry/belfry/domain/chime/meeting"
	"github.com/belfry/belfry/infra/recording"
	"github.com/belfry/belfry/infra/sfu"
)

// MediaConfig configures the SFU: UDPPort carries all ICE traffic on one UDP port
// (BELFRY_MEDIA_UDP_PORT; default 0, an ephemeral port per participant), TCPPort also serves ICE over
// TCP on one port (BELFRY_MEDIA_TCP_PORT; default 0, no TCP), PublicIPs are announced in place of the
// host's addresses behind a 1:1 NAT (BELFRY_MEDIA_PUBLIC_IPS, comma-separated).
type MediaConfig struct {
	UDPPort   int      `json:"udpPort,omitempty"`
	TCPPort   int      `json:"tcpPort,omitempty"`
	PublicIPs []string `json:"publicIps,omitempty"`
	// RecordingsDir is where meeting recordings are written (BELFRY_RECORDINGS_DIR, default
	// <data dir>/recordings; "off" records nothing and refuses "record"); RecordingMaxBytes bounds
	// one recording (BELFRY_RECORDING_MAX_BYTES, default 4 GiB).
	RecordingsDir     string `json:"recordingsDir"`
	RecordingMaxBytes int64  `json:"recordingMaxBytes,omitempty"`
	// Loopback offers loopback ICE candidates (tests).
	Loopback bool `json:"-"`
	// ConnectWithin is how long a joined attendee has to connect its media, AnswerWithin how long
	// it has to answer each of the SFU's offers (tests; default 30 s each).
	ConnectWithin time.Duration `json:"-"`
	AnswerWithin  time.Duration `json:"-"`
}

func mediaConfigFromEnv(get func(k, def string) string, dataDir string) MediaConfig {
	port := func(k string) int {
		p, err := strconv.Atoi(get(k, "0"))
		if err != nil || p < 0 || p > 65535 {
			return -1 // validate reports it
		}
		return p
	}
	var ips []string
	for ip := range strings.SplitSeq(get("BELFRY_MEDIA_PUBLIC_IPS", ""), ",") {
		if ip = strings.TrimSpace(ip); ip != "" {
			ips = append(ips, ip)
		}
	}
	maxBytes, err := strconv.ParseInt(get("BELFRY_RECORDING_MAX_BYTES", strconv.FormatInt(recording.DefaultMaxBytes, 10)), 10, 64)
	if err != nil || maxBytes <= 0 {
		maxBytes = -1 // validate reports it
	}
	return MediaConfig{UDPPort: port("BELFRY_MEDIA_UDP_PORT"), TCPPort: port("BELFRY_MEDIA_TCP_PORT"), PublicIPs: ips,
		RecordingsDir: get("BELFRY_RECORDINGS_DIR", filepath.Join(dataDir, "recordings")), RecordingMaxBytes: maxBytes}
}

func (c MediaConfig) validate() error {
	if c.UDPPort < 0 {
		return errors.New("BELFRY_MEDIA_UDP_PORT must be a port number (0: ephemeral ports)")
	}
	if c.TCPPort < 0 {
		return errors.New("BELFRY_MEDIA_TCP_PORT must be a port number (0: no ICE over TCP)")
	}
	if c.RecordingMaxBytes < 0 {
		return errors.New("BELFRY_RECORDING_MAX_BYTES must be a positive number of bytes")
	}
	return nil
}

// sfuPort adapts infra/sfu to the media slice's SFU port.
type sfuPort struct{ s *sfu.SFU }

func (a sfuPort) Join(roomID, id string, p media.Peer, simulcast bool) (media.Participant, error) {
	part, err := a.s.JoinWith(roomID, id, p, sfu.JoinOptions{OfferSimulcast: simulcast})
	if errors.Is(err, sfu.ErrClosed) {
		return nil, fmt.Errorf("%w: %w", mediasignal.ErrStopping, err)
	}
	if err != nil {
		return nil, err
	}
	return part, nil
}

// chatPush adapts the live meetings' signalling sessions to the meetings slice's chat pusher.
type chatPush struct{ m *media.Service }

func (c chatPush) ChatPosted(meetingID string, msg meetings.ChatMessage) {
	c.m.PushChat(meetingID, msg.MessageId, msg.UserId, msg.Content, msg.SentAt)
}

// sfuCollectors export the SFU's counters on /metrics, read at each scrape.
func sfuCollectors(s *sfu.SFU) []prometheus.Collector {
	gauge := func(name, help string, f func(sfu.Stats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return f(s.Stats()) })
	}
	counter := func(name, help string, f func(sfu.Stats) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return f(s.Stats()) })
	}
	return []prometheus.Collector{
		gauge("belfry_sfu_rooms", "Rooms (live meetings and calls) with a participant in the SFU.", func(st sfu.Stats) float64 { return float64(st.Rooms) }),
		gauge("belfry_sfu_participants", "Participants connected to the SFU.", func(st sfu.Stats) float64 { return float64(st.Participants) }),
		gauge("belfry_sfu_simulcast_layers", "Simulcast layers the SFU receives, all published tracks together.",
			func(st sfu.Stats) float64 { return float64(st.SimulcastLayers) }),
		counter("belfry_sfu_forwarded_packets_total", "RTP packets forwarded to subscribers.", func(st sfu.Stats) float64 { return float64(st.Forwarded) }),
		counter("belfry_sfu_dropped_packets_total", "RTP packets dropped for slow subscribers (their queue full).",
			func(st sfu.Stats) float64 { return float64(st.Dropped) }),
		counter("belfry_sfu_layer_switches_total", "Simulcast layer switches of subscribers.", func(st sfu.Stats) float64 { return float64(st.LayerSwitches) }),
		counter("belfry_sfu_recording_dropped_packets_total", "RTP packets recordings lost (their queue full, or their files failing).",
			func(st sfu.Stats) float64 { return float64(st.RecordDropped) }),
	}
}

// newMedia builds the SFU and the live-meetings slice over d (its SFU and recorder the ones built
// here).
func newMedia(cfg MediaConfig, d media.Deps) (*media.Service, *sfu.SFU, error) {
	s, err := sfu.New(sfu.Config{UDPPort: cfg.UDPPort, TCPPort: cfg.TCPPort, PublicIPs: cfg.PublicIPs, Loopback: cfg.Loopback,
		ConnectWithin: cfg.ConnectWithin, AnswerWithin: cfg.AnswerWithin, Logger: d.Logger})
	if err != nil {
		return nil, nil, err
	}
	d.SFU = sfuPort{s}
	if cfg.RecordingsDir != "" && cfg.RecordingsDir != "off" {
		d.Recorder = newRecorder(s, &recording.Store{Root: cfg.RecordingsDir, MaxBytes: cfg.RecordingMaxBytes})
	}
	return media.New(d), s, nil
}

// recorder adapts infra/sfu and infra/recording to the media slice's Recorder: one recording per
// meeting at a time, its SFU recording stopped before its files are finished.
type recorder struct {
	sfu     *sfu.SFU
	store   *recording.Store
	mu      sync.Mutex
	live    map[string]liveRecording // by meeting id
	stopped map[string]struct{}      // recording ids stopped (a late Start does nothing)
}

type liveRecording struct {
	id   string
	rec  *recording.Recording
	stop func()
}

func newRecorder(s *sfu.SFU, store *recording.Store) *recorder {
	return &recorder{sfu: s, store: store, live: map[string]liveRecording{}, stopped: map[string]struct{}{}}
}

func (r *recorder) Start(meetingID, recordingID string) error {
	if r.wasStopped(recordingID) { // its stop was applied first: it ran nowhere
		return nil
	}
	rec, err := r.store.Open(meetingID, recordingID)
	if err != nil {
		return err
	}
	stop := r.sfu.Record(meetingID, tracks{rec}) // stops (and drains) a recording it replaces
	r.mu.Lock()
	_, late := r.stopped[recordingID]
	old, had := r.live[meetingID]
	if !late {
		r.live[meetingID] = liveRecording{id: recordingID, rec: rec, stop: stop}
	}
	r.mu.Unlock()
	if had && !late {
		_, _ = old.rec.Close()
	}
	if late {
		stop()
		_, err = rec.Close()
	}
	return err
}

func (r *recorder) wasStopped(recordingID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.stopped[recordingID]
	return ok
}

// Stop finishes the meeting's recording recordingID; a Start applied after it then does nothing
// (the ids stopped are remembered, up to maxStopped; when that many are, all are forgotten at once,
// so a Start delayed across that moment would record again until its meeting ends).
func (r *recorder) Stop(meetingID, recordingID string) error {
	r.mu.Lock()
	if len(r.stopped) >= maxStopped {
		clear(r.stopped)
	}
	r.stopped[recordingID] = struct{}{}
	l, ok := r.live[meetingID]
	if ok && l.id == recordingID {
		delete(r.live, meetingID)
	}
	r.mu.Unlock()
	if !ok || l.id != recordingID { // not running here: a crash may have left its files
		_, err := r.store.Recover(meetingID, recordingID)
		return err
	}
	l.stop()
	_, err := l.rec.Close()
	return err
}

// maxStopped bounds the stopped recording ids a recorder remembers.
const maxStopped = 4096

// tracks is a recording as the SFU's Recorder (a nil *Track must be a nil interface).
type tracks struct{ rec *recording.Recording }

func (t tracks) Track(owner, kind string, codec webrtc.RTPCodecCapability) sfu.TrackRecorder {
	if tr := t.rec.Track(owner, kind, codec); tr != nil {
		return tr
	}
	return nil
}

// endInterruptedMeetings ends the media sessions a previous run left in the roster (see
// media.Service.EndInterrupted); run on every sweep.
func endInterruptedMeetings(ctx context.Context, logger *slog.Logger, svc *media.Service, startedAt time.Time) {
	if n, err := svc.EndInterrupted(ctx, startedAt); err != nil {
		logger.Warn("ending meetings interrupted by the restart failed; it resumes on the next sweep", "err", err)
	} else if n > 0 {
		logger.Info("ended meetings interrupted by the restart", "meetings", n)
	}
}

// recordingStops is the meeting repository of the dial-out path (api/chime/calls): a recording that
// a callee's leaving stops (the last one out ends the meeting) stops in this process's recorder too.
// media is set once the live-meetings slice is built.
type recordingStops struct {
	calls.Meetings
	media **media.Service
}

func (r recordingStops) Execute(ctx context.Context, stream string, cmd meeting.Command) (usecase.Decided[meeting.State, meeting.Event], error) {
	d, err := r.Meetings.Execute(ctx, stream, cmd)
	if err == nil && *r.media != nil {
		(*r.media).RecordingsStopped(d.State.AccountID, strings.TrimPrefix(stream, meeting.StreamPrefix), d.Events)
	}
	return d, err
}
