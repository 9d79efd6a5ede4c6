// Package archivebench measures whether the Wickr data-retention archive (infra/wickrarchive) keeps
// up with a steady flow of messages: `belfry bench archive` posts messages through the Wickr client
// API at a paced rate into conversations of a network whose data retention is enabled, and follows
// the archive's shipment (wickrarchive.shipments: the last log position written to the target) to
// date when each message reached the archive. A message is archived once the shipment passed its
// position (rm.wickr_archive_items.seq); its archive latency runs from the answer to its POST to the
// first sample of the shipment past it (sampled every SampleEvery).
//
// The archive keeps up when the posts were answered at the rate offered (at least 95 % of it: else
// the archive was not offered that rate) and every message posted in the measured window was
// archived, each within Options.Within of its post: its backlog then stays bounded while messages
// keep coming. The floor,
// in the same run, is the target's own write rate for the same bytes: the archive's files, read back
// and written again line by line into files of the same size with os.WriteFile. Beside it, the
// archive's own rate: a second target catching up on the whole network at once (Target.CatchUp),
// which tells how far above the offered rate the archive would keep up.
package archivebench

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/infra/bench"
)

// SampleEvery is how often the shipment is read.
const SampleEvery = 20 * time.Millisecond

// Options are the parsed flags of `belfry bench archive`.
type Options struct {
	Users, Group, Senders int
	Rate                  float64       // messages/s offered
	Duration, Warmup      time.Duration // measured window, and the warm-up before it (reported apart)
	Within                time.Duration // the latency bound of "keeps up"
	CPUProfile            string        // a CPU profile of the posting and archiving ("": none)
	Progress              io.Writer
}

// Conversation is one conversation of the benchmark and the indexes of its members in Target.Tokens.
type Conversation struct {
	ID      string
	Members []int
}

// Target is what the messages go to.
type Target struct {
	BaseURL       string
	Pool          *pgxpool.Pool
	NetworkID     string
	Tokens        []string // a session token per user
	Conversations []Conversation
	ArchiveDir    string // where the archive's files are (the floor rewrites them)
	// CatchUp ships, once, every item of the network not shipped yet to a target of its own (a
	// second archive, which starts from the network's first item) and answers the lines it wrote.
	CatchUp func(ctx context.Context) (int, error)
}

// Report is the result of one run.
type Report struct {
	StartedAt      time.Time `json:"startedAt"`
	LoadAverage    []string  `json:"loadAverage"`
	Users          int       `json:"users"`
	Conversations  int       `json:"conversations"`
	OfferedRate    float64   `json:"offeredPerSecond"`
	PostedRate     float64   `json:"postedPerSecond"`
	Posted         int       `json:"posted"`
	PostErrors     int       `json:"postErrors"`
	Archived       int       `json:"archived"`
	NotArchived    int       `json:"notArchived"`
	ArchivedRate   float64   `json:"archivedPerSecond"`
	PostP50Ms      float64   `json:"postP50Ms"`
	PostP99Ms      float64   `json:"postP99Ms"`
	P50Ms          float64   `json:"archiveLatencyP50Ms"`
	P99Ms          float64   `json:"archiveLatencyP99Ms"`
	MaxMs          float64   `json:"archiveLatencyMaxMs"`
	MaxBacklog     int       `json:"maxBacklog"`
	DrainSeconds   float64   `json:"drainSecondsAfterLastPost"`
	WithinMs       float64   `json:"withinMs"`
	KeepsUp        bool      `json:"keepsUp"`
	WarmupPosted   int       `json:"warmupPosted"`
	CatchUpLines   int       `json:"catchUpLines"`
	CatchUpSeconds float64   `json:"catchUpSeconds"`
	CatchUpRate    float64   `json:"catchUpLinesPerSecond"`
	FloorLines     int       `json:"floorLines"`
	FloorBytes     int64     `json:"floorBytes"`
	FloorLinesRate float64   `json:"floorLinesPerSecond"`
}

// post is one message posted: its id, when its POST was answered, and whether it was in the
// measured window.
type post struct {
	id       string
	due      time.Time // when it was to be sent
	acked    time.Time
	measured bool
}

// sample is the shipment's position at a time.
type sample struct {
	at      time.Time
	shipped int64
}

// Run posts the messages, waits for the archive, and reports.
func Run(ctx context.Context, t Target, o Options) (Report, error) {
	rep := Report{StartedAt: time.Now().UTC(), Users: len(t.Tokens), Conversations: len(t.Conversations), OfferedRate: o.Rate,
		WithinMs: float64(o.Within.Microseconds()) / 1000, LoadAverage: []string{loadAverage()}}
	stopProfile, err := bench.StartCPUProfile(o.CPUProfile)
	if err != nil {
		return rep, err
	}
	sampler := newSampler(t.Pool, t.NetworkID)
	sctx, stopSampling := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { sampler.run(sctx) })
	fmt.Fprintf(o.Progress, "posting %.0f messages/s from %d senders into %d conversations: %s warm-up, %s measured\n",
		o.Rate, o.Senders, len(t.Conversations), o.Warmup, o.Duration)
	posts, errs, from := postPaced(ctx, t, o)
	last := time.Now()
	fmt.Fprintf(o.Progress, "posted %d (%d refused); waiting for the archive (at most %s)\n", len(posts), errs, o.Within+30*time.Second)
	seqs, err := waitArchived(ctx, t, posts, sampler, o.Within+30*time.Second)
	stopProfile()
	stopSampling()
	wg.Wait()
	if err != nil {
		return rep, err
	}
	rep.PostErrors = errs
	analyze(&rep, posts, seqs, sampler.samples(), from, last)
	// Kept up with the rate offered: the posts themselves reached it (else the archive was not
	// offered it), and every one was archived in time.
	rep.KeepsUp = rep.Posted > 0 && rep.PostedRate >= 0.95*o.Rate && rep.NotArchived == 0 && rep.PostErrors == 0 && rep.MaxMs <= rep.WithinMs
	if err := catchUp(ctx, t, &rep); err != nil {
		return rep, err
	}
	rep.FloorLines, rep.FloorBytes, rep.FloorLinesRate, err = floor(t.ArchiveDir)
	rep.LoadAverage = append(rep.LoadAverage, loadAverage())
	return rep, err
}

// catchUp times a second archive shipping the whole network at once, with nothing else to do: the
// archive's own rate, beside the rate it was offered.
func catchUp(ctx context.Context, t Target, rep *Report) error {
	start := time.Now()
	for {
		n, err := t.CatchUp(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
		rep.CatchUpLines += n
	}
	rep.CatchUpSeconds = time.Since(start).Seconds()
	if rep.CatchUpLines > 0 {
		rep.CatchUpRate = float64(rep.CatchUpLines) / rep.CatchUpSeconds
	}
	return nil
}

// analyze fills in the figures of the measured posts (due from the window's start, from on): the
// rates they were answered and archived at (from the window's start to the last answer and to the
// last archived), each one's archive latency, the backlog at each sample, and how long after the
// last post the archive had everything.
func analyze(rep *Report, posts []post, seqs map[string]int64, samples []sample, from, last time.Time) {
	var lat, postLat []float64
	var lastAcked, lastShipped time.Time
	for _, p := range posts {
		if !p.measured {
			rep.WarmupPosted++
			continue
		}
		rep.Posted++
		lastAcked = later(lastAcked, p.acked)
		postLat = append(postLat, float64(p.acked.Sub(p.due).Microseconds())/1000)
		seq, ok := seqs[p.id]
		at, shipped := archivedAt(samples, seq)
		if !ok || !shipped {
			rep.NotArchived++
			continue
		}
		rep.Archived++
		lat = append(lat, float64(max(at.Sub(p.acked), 0).Microseconds())/1000)
		lastShipped = later(lastShipped, at)
	}
	if rep.Posted > 0 {
		rep.PostedRate = float64(rep.Posted) / lastAcked.Sub(from).Seconds()
	}
	if rep.Archived > 0 {
		rep.ArchivedRate = float64(rep.Archived) / lastShipped.Sub(from).Seconds()
	}
	slices.Sort(lat)
	slices.Sort(postLat)
	rep.PostP50Ms, rep.PostP99Ms = pct(postLat, 0.50), pct(postLat, 0.99)
	rep.P50Ms, rep.P99Ms, rep.MaxMs = pct(lat, 0.50), pct(lat, 0.99), pct(lat, 1)
	rep.MaxBacklog = maxBacklog(posts, seqs, samples)
	if !lastShipped.IsZero() {
		rep.DrainSeconds = max(lastShipped.Sub(last), 0).Seconds()
	}
}

// archivedAt is the time of the first sample whose shipment passed seq.
func archivedAt(samples []sample, seq int64) (time.Time, bool) {
	i, _ := slices.BinarySearchFunc(samples, seq, func(s sample, seq int64) int {
		if s.shipped < seq {
			return -1
		}
		return 1
	})
	if i == len(samples) {
		return time.Time{}, false
	}
	return samples[i].at, true
}

// maxBacklog is the most messages answered but not archived at any sample.
func maxBacklog(posts []post, seqs map[string]int64, samples []sample) int {
	worst := 0
	for _, s := range samples {
		n := 0
		for _, p := range posts {
			if !p.acked.After(s.at) && seqs[p.id] > s.shipped {
				n++
			}
		}
		worst = max(worst, n)
	}
	return worst
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func pct(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(p*float64(len(sorted)-1))]
}

// Print writes the report's figures.
func (r Report) Print(w io.Writer) {
	fmt.Fprintf(w, "Wickr data-retention archive, %d users in %d conversations, %.0f messages/s offered:\n", r.Users, r.Conversations, r.OfferedRate)
	fmt.Fprintf(w, "  posted %d in the measured window (answered at %.1f/s, POST p50 %.0f ms, p99 %.0f ms from its scheduled time; %d refused; %d in the warm-up)\n",
		r.Posted, r.PostedRate, r.PostP50Ms, r.PostP99Ms, r.PostErrors, r.WarmupPosted)
	fmt.Fprintf(w, "  archived %d (%.1f/s), not archived %d; post → archived p50 %.0f ms, p99 %.0f ms, max %.0f ms; backlog at most %d messages; everything archived %.2f s after the last post\n",
		r.Archived, r.ArchivedRate, r.NotArchived, r.P50Ms, r.P99Ms, r.MaxMs, r.MaxBacklog, r.DrainSeconds)
	fmt.Fprintf(w, "  its own rate: a second archive target catching up on the whole network at once, %d lines in %.2f s: %.0f lines/s\n",
		r.CatchUpLines, r.CatchUpSeconds, r.CatchUpRate)
	fmt.Fprintf(w, "  floor (the archive's %d lines, %d bytes, written again by os.WriteFile into files of the same size): %.0f lines/s\n",
		r.FloorLines, r.FloorBytes, r.FloorLinesRate)
	fmt.Fprintf(w, "  keeps up with %.0f messages/s (every message archived within %.0f ms of its post): %v\n", r.OfferedRate, r.WithinMs, r.KeepsUp)
	fmt.Fprintf(w, "  load average: %v\n", r.LoadAverage)
}
