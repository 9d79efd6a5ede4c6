// Package chatbench is `belfry bench chat`: Clients WebSocket clients, in conversations of Group
// members, receive the messages that senders post at a steady Rate through the client API; every
// delivery's latency (from just before the POST to the frame's arrival on each member's WebSocket,
// the sender's own device included) is measured, beside a floor measured in the same run with the
// same clients, groups and rate: an in-memory WebSocket fan-out (echo) server in this process, which
// writes each frame a client sends to the members of its group.
//
// Each scenario first runs a warm-up of Warmup at the same rate on the same connections (the first
// message of each conversation creates its day key; the first request of each session and
// conversation fills the caches): the figures of the messages sent during it are reported apart, as
// "<scenario> (warm-up)", and the target applies to the steady rate after it.
//
// The caller (cmd/belfry) supplies the Belfry side (Target): a running server, a session token per
// client and the conversations.
package chatbench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Target is the Belfry server the benchmark drives.
type Target struct {
	BaseURL string   // http://host:port
	Tokens  []string // a session token per client
	// Groups are the clients (indexes into Tokens) of each conversation; ConversationIDs name them.
	Groups          [][]int
	ConversationIDs []string
}

// Options configure a run.
type Options struct {
	Clients, Group int
	Rate           float64 // messages/s offered, all senders together
	Duration       time.Duration
	Warmup         time.Duration // before Duration, at the same rate, reported apart (0: none)
	Senders        int           // concurrent senders (HTTP connections)
	Progress       io.Writer
	// Trace, when set, receives the Belfry scenario's measured phase as CSV, one line per delivery
	// and per send (kind,sent_unix_us,latency_us): where in the run the slow ones fall.
	Trace io.Writer
}

// Result is one scenario's figures.
type Result struct {
	Name         string  `json:"name"`
	Clients      int     `json:"clients"`
	Group        int     `json:"group"`
	OfferedRate  float64 `json:"offeredRate"`
	AchievedRate float64 `json:"achievedRate"`
	Sent         int64   `json:"sent"`
	SendErrors   int64   `json:"sendErrors"`
	Expected     int64   `json:"expectedDeliveries"`
	Delivered    int64   `json:"delivered"`
	P50Ms        float64 `json:"p50Ms"`
	P99Ms        float64 `json:"p99Ms"`
	MaxMs        float64 `json:"maxMs"`
	// PostP50Ms and PostP99Ms are the send calls' own latency (Belfry: the POST, which answers once
	// the read model holds the message); the delivery minus it is the fan-out's share.
	PostP50Ms float64 `json:"postP50Ms,omitempty"`
	PostP99Ms float64 `json:"postP99Ms,omitempty"`
}

// Report is what a run prints and writes.
type Report struct {
	StartedAt   time.Time `json:"startedAt"`
	LoadAverage []string  `json:"loadAverage"` // /proc/loadavg at the start and the end
	TargetP99Ms float64   `json:"targetP99Ms"`
	Results     []Result  `json:"results"`
}

// LoadAverage reads /proc/loadavg ("" where there is none).
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

// Print writes the report as a table.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "chat delivery (send → delivered on every member's WebSocket), load average %s → %s, target p99 < %.0f ms\n",
		r.LoadAverage[0], r.LoadAverage[len(r.LoadAverage)-1], r.TargetP99Ms)
	fmt.Fprintf(w, "%-28s %7s %5s %9s %7s %9s %9s %8s %8s %8s %9s %9s\n", "scenario", "clients", "group", "offered/s", "sent/s", "expected",
		"delivered", "p50 ms", "p99 ms", "max ms", "send p50", "send p99")
	for _, x := range r.Results {
		fmt.Fprintf(w, "%-28s %7d %5d %9.0f %7.1f %9d %9d %8.2f %8.2f %8.2f %9.2f %9.2f\n", x.Name, x.Clients, x.Group, x.OfferedRate, x.AchievedRate,
			x.Expected, x.Delivered, x.P50Ms, x.P99Ms, x.MaxMs, x.PostP50Ms, x.PostP99Ms)
	}
}

// recorder collects delivery latencies, bounded by the deliveries expected (and, when tracing,
// each one's send time).
type recorder struct {
	mu        sync.Mutex
	lat       []time.Duration
	sent      []int64 // unix µs, beside lat when tracing
	trace     bool
	limit     int
	delivered atomic.Int64
}

func newRecorder(limit int) *recorder {
	return &recorder{limit: limit, lat: make([]time.Duration, 0, min(limit, 1<<20))}
}

func (r *recorder) add(sent time.Time, d time.Duration) {
	r.delivered.Add(1)
	r.mu.Lock()
	if len(r.lat) < r.limit {
		r.lat = append(r.lat, d)
		if r.trace {
			r.sent = append(r.sent, sent.UnixMicro())
		}
	}
	r.mu.Unlock()
}

// writeTrace writes the recorded deliveries as CSV lines of kind (call before quantiles, which sorts).
func (r *recorder) writeTrace(w io.Writer, kind string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	bw := bufio.NewWriter(w)
	for i, s := range r.sent {
		fmt.Fprintf(bw, "%s,%d,%d\n", kind, s, r.lat[i].Microseconds())
	}
	return bw.Flush()
}

// result computes the percentiles.
func (r *recorder) result(name string, o Options, sent, sendErrors int64, elapsed time.Duration) Result {
	q := r.quantiles()
	return Result{Name: name, Clients: o.Clients, Group: o.Group, OfferedRate: o.Rate, AchievedRate: float64(sent) / elapsed.Seconds(),
		Sent: sent, SendErrors: sendErrors, Expected: sent * int64(o.Group), Delivered: r.delivered.Load(), P50Ms: q(0.50), P99Ms: q(0.99), MaxMs: q(1)}
}

// quantiles sorts the latencies and answers a function of a quantile, in milliseconds.
func (r *recorder) quantiles() func(p float64) float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	slices.Sort(r.lat)
	lat := r.lat
	return func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
}

// pace calls send Rate times a second for Duration, from Senders goroutines, each with a random
// client of a random group; it answers the sends and the failed ones.
func pace(ctx context.Context, o Options, groups [][]int, send func(ctx context.Context, sender, group int) error) (sent, failed int64, elapsed time.Duration) {
	jobs := make(chan [2]int, o.Senders)
	var wg sync.WaitGroup
	var nSent, nFailed atomic.Int64
	for range o.Senders {
		wg.Go(func() {
			for j := range jobs {
				if err := send(ctx, j[0], j[1]); err != nil {
					nFailed.Add(1)
					continue
				}
				nSent.Add(1)
			}
		})
	}
	start := time.Now()
	interval := time.Duration(float64(time.Second) / o.Rate)
	for i := 0; ; i++ {
		due := start.Add(time.Duration(i) * interval)
		if due.Sub(start) >= o.Duration || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Until(due))
		g := rand.IntN(len(groups))
		select {
		case jobs <- [2]int{groups[g][rand.IntN(len(groups[g]))], g}:
		default: // every sender is busy: the offered rate is not met, and the achieved rate says so
		}
	}
	close(jobs)
	wg.Wait()
	return nSent.Load(), nFailed.Load(), time.Since(start)
}

// stamp is a message text that carries its send time; parseStamp reads it back.
func stamp(t time.Time) string { return fmt.Sprintf("%d bench", t.UnixNano()) }

func parseStamp(text string) (time.Time, bool) {
	digits, ok := strings.CutSuffix(text, " bench")
	ns, err := strconv.ParseInt(digits, 10, 64)
	if !ok || err != nil {
		return time.Time{}, false
	}
	return time.Unix(0, ns), true
}

// contentKey precedes a message's text in a frame (Belfry's and the floor's): "Content" is the only
// member of that name in a frame, and a stamp is digits and a space, nothing JSON escapes.
var contentKey = []byte(`"Content":"`)

// stampOf reads the send time out of a message frame without decoding the whole frame: the readers
// of a thousand clients share the machine with the server they measure. Frames that carry no stamp
// (Ready, other kinds) answer false.
func stampOf(frame []byte) (time.Time, bool) {
	i := bytes.Index(frame, contentKey)
	if i < 0 {
		return time.Time{}, false
	}
	rest := frame[i+len(contentKey):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return time.Time{}, false
	}
	return parseStamp(string(rest[:end]))
}

// Groups splits clients into groups of size group (the last one may be larger).
func Groups(clients, group int) [][]int {
	var out [][]int
	for i := 0; i+group <= clients; i += group {
		g := make([]int, group)
		for j := range g {
			g[j] = i + j
		}
		out = append(out, g)
	}
	if rest := clients % group; rest > 0 && len(out) > 0 {
		for i := clients - rest; i < clients; i++ {
			out[len(out)-1] = append(out[len(out)-1], i)
		}
	}
	return out
}
