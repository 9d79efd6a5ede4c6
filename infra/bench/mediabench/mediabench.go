// Package mediabench is `belfry bench media`: the SFU's forwarding capacity and join time, measured
// with pion clients (infra/sfu/sfuclient) on loopback in this process, each beside a floor measured
// in the same run with the same clients.
//
//   - Forwarding: n publishers each send one 500 kbit/s VP8 stream (1,000-byte packets every 16 ms,
//     stamped with their send time) to one subscriber, through the SFU (one room per pair), and
//     through the floor: a bare pion relay written here (a PeerConnection receives the stream and
//     writes every packet straight into a TrackLocalStaticRTP of the subscriber's connection, no
//     queue, no room logic); the two sides take turns going first. Over the measuring window it
//     counts loss (1 − received/sent) and the forwarding delay (send stamp → the subscriber's read,
//     both clients in this process: it includes both clients' pion stacks as well as the SFU or
//     relay). The ladder of n climbs until neither side meets the target (loss < 1 %, p99 < 50 ms)
//     or the time budget is spent.
//   - Join: one presenter sends 30 video packets a second; Participants join the room one after the
//     other and each join time is SFU.Join → the first packet from the presenter (the SFU offers;
//     offer → first media packet), beside the floor: a bare pion offerer sending straight to the same
//     kind of client, offer → first packet.
//
// Everything runs on one machine, clients included: the figures are the machine's as much as the
// SFU's, which is why each is printed beside its floor, and with the load average.
package mediabench

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// Targets of the issue.
const (
	TargetLoss     = 0.01
	TargetP99Ms    = 50
	TargetJoinP99  = 300
	StreamBitrate  = 500_000 // bit/s of one forwarded video stream
	packetBytes    = 1000
	packetInterval = 16 * time.Millisecond // 1,000 bytes every 16 ms ≈ 500 kbit/s
	settle         = time.Second           // between two sides or steps
)

// Options configure a run.
type Options struct {
	// Ladder are the stream counts tried, in order (default 8, 16, 32, 64, 128).
	Ladder []int
	// Window is each step's measuring window (default 3 s), after a 1 s warm-up.
	Window time.Duration
	// Participants join the room of the join scenario (default 50).
	Participants int
	// Budget bounds the whole run (default 3 minutes): the ladder stops when it is spent.
	Budget   time.Duration
	Progress io.Writer
}

func (o *Options) defaults() {
	if len(o.Ladder) == 0 {
		o.Ladder = []int{8, 16, 32, 64, 128}
	}
	if o.Window <= 0 {
		o.Window = 3 * time.Second
	}
	if o.Participants <= 0 {
		o.Participants = 50
	}
	if o.Budget <= 0 {
		o.Budget = 3 * time.Minute
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
}

// Step is one stream count through one side (SFU or floor).
type Step struct {
	Side    string  `json:"side"` // sfu, floor
	Streams int     `json:"streams"`
	Sent    int64   `json:"sent"`
	Lost    int64   `json:"lost"`
	Loss    float64 `json:"loss"`
	P50Ms   float64 `json:"p50Ms"`
	P99Ms   float64 `json:"p99Ms"`
	MaxMs   float64 `json:"maxMs"`
	// Dropped are the SFU's packets dropped on full subscriber queues (the SFU side only).
	Dropped uint64 `json:"dropped,omitempty"`
	Met     bool   `json:"met"`
	Error   string `json:"error,omitempty"`
}

// Join is the join scenario's figures.
type Join struct {
	Participants int     `json:"participants"`
	P50Ms        float64 `json:"p50Ms"`
	P99Ms        float64 `json:"p99Ms"`
	FloorP50Ms   float64 `json:"floorP50Ms"`
	FloorP99Ms   float64 `json:"floorP99Ms"`
	Met          bool    `json:"met"`
}

// Report is a run.
type Report struct {
	StartedAt   time.Time `json:"startedAt"`
	LoadAverage []string  `json:"loadAverage"` // before, after forwarding, after joining
	Bitrate     int       `json:"streamBitrate"`
	Steps       []Step    `json:"steps"`
	// Capacity is the most streams at which each side met the target (0: none).
	Capacity      int  `json:"capacity"`
	FloorCapacity int  `json:"floorCapacity"`
	Join          Join `json:"join"`
}

// Run runs both scenarios.
func Run(ctx context.Context, o Options) (*Report, error) {
	o.defaults()
	rep := &Report{StartedAt: time.Now().UTC(), LoadAverage: []string{LoadAverage()}, Bitrate: StreamBitrate}
	deadline := time.Now().Add(o.Budget)
	for i, n := range o.Ladder {
		if time.Now().After(deadline) || ctx.Err() != nil {
			fmt.Fprintf(o.Progress, "bench media: time budget spent before %d streams\n", n)
			break
		}
		// The sides alternate which goes first (the one before leaves its connections' teardown
		// behind), with a pause between them.
		var sfuStep, floorStep Step
		if i%2 == 0 {
			sfuStep = forwardSFU(ctx, n, o)
			time.Sleep(settle)
			floorStep = forwardFloor(ctx, n, o)
		} else {
			floorStep = forwardFloor(ctx, n, o)
			time.Sleep(settle)
			sfuStep = forwardSFU(ctx, n, o)
		}
		time.Sleep(settle)
		rep.Steps = append(rep.Steps, sfuStep, floorStep)
		fmt.Fprintf(o.Progress, "bench media: %d streams: sfu loss %.2f%% p99 %.1f ms, floor loss %.2f%% p99 %.1f ms\n",
			n, sfuStep.Loss*100, sfuStep.P99Ms, floorStep.Loss*100, floorStep.P99Ms)
		if sfuStep.Met {
			rep.Capacity = n
		}
		if floorStep.Met {
			rep.FloorCapacity = n
		}
		if !sfuStep.Met && !floorStep.Met {
			break
		}
	}
	rep.LoadAverage = append(rep.LoadAverage, LoadAverage())
	j, err := joinTimes(ctx, o)
	if err != nil {
		return rep, err
	}
	rep.Join = j
	rep.LoadAverage = append(rep.LoadAverage, LoadAverage())
	return rep, nil
}

// LoadAverage is the machine's 1, 5 and 15 minute load average.
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

// Print writes the report as tables.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "media forwarding (%d kbit/s VP8 streams, publisher → subscriber through the SFU or a bare pion relay), load average %s, target loss < %.0f %% and p99 < %d ms\n",
		r.Bitrate/1000, strings.Join(r.LoadAverage, " → "), TargetLoss*100, TargetP99Ms)
	fmt.Fprintf(w, "%8s %6s %9s %8s %8s %8s %8s %8s %s\n", "streams", "side", "sent", "loss %", "p50 ms", "p99 ms", "max ms", "dropped", "met")
	for _, s := range r.Steps {
		fmt.Fprintf(w, "%8d %6s %9d %8.2f %8.1f %8.1f %8.1f %8d %v %s\n", s.Streams, s.Side, s.Sent, s.Loss*100, s.P50Ms, s.P99Ms, s.MaxMs, s.Dropped, s.Met, s.Error)
	}
	fmt.Fprintf(w, "capacity at the target: sfu %d streams, floor %d streams\n", r.Capacity, r.FloorCapacity)
	fmt.Fprintf(w, "join time (offer → first media packet), %d participants one after another: p50 %.0f ms, p99 %.0f ms (target < %d ms: %v); floor p50 %.0f ms, p99 %.0f ms\n",
		r.Join.Participants, r.Join.P50Ms, r.Join.P99Ms, TargetJoinP99, r.Join.Met, r.Join.FloorP50Ms, r.Join.FloorP99Ms)
}

// pct is the p-th percentile of d in ms (d is sorted in place).
func pct(d []time.Duration, p int) float64 {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	i := min(len(d)-1, (len(d)*p+99)/100-1)
	return float64(d[max(i, 0)]) / float64(time.Millisecond)
}
