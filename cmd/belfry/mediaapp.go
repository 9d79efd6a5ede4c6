package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/belfry/belfry/api/chime/media"
	"github.com/belfry/belfry/api/chime/meetings"
	"github.com/belfry/belfry/api/mediasignal"
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
	// Loopback offers loopback ICE candidates (tests).
	Loopback bool `json:"-"`
	// ConnectWithin is how long a joined attendee has to connect its media (tests; default 30 s).
	ConnectWithin time.Duration `json:"-"`
}

func mediaConfigFromEnv(get func(k, def string) string) MediaConfig {
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
	return MediaConfig{UDPPort: port("BELFRY_MEDIA_UDP_PORT"), TCPPort: port("BELFRY_MEDIA_TCP_PORT"), PublicIPs: ips}
}

func (c MediaConfig) validate() error {
	if c.UDPPort < 0 {
		return errors.New("BELFRY_MEDIA_UDP_PORT must be a port number (0: ephemeral ports)")
	}
	if c.TCPPort < 0 {
		return errors.New("BELFRY_MEDIA_TCP_PORT must be a port number (0: no ICE over TCP)")
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
	}
}

// newMedia builds the SFU and the live-meetings slice over d (its SFU the one built here).
func newMedia(cfg MediaConfig, d media.Deps) (*media.Service, *sfu.SFU, error) {
	s, err := sfu.New(sfu.Config{UDPPort: cfg.UDPPort, TCPPort: cfg.TCPPort, PublicIPs: cfg.PublicIPs, Loopback: cfg.Loopback,
		ConnectWithin: cfg.ConnectWithin, Logger: d.Logger})
	if err != nil {
		return nil, nil, err
	}
	d.SFU = sfuPort{s}
	return media.New(d), s, nil
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
