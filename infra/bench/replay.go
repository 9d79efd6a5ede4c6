package bench

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strconv"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/infra/eventlog"
	"github.com/belfry/belfry/projections"
)

// ReplayOptions are the parsed flags of `belfry bench replay` and what its caller supplies.
type ReplayOptions struct {
	Postgres Postgres
	// Migrate brings the scratch database to Belfry's schema (cmd/belfry's migrations).
	Migrate func(ctx context.Context, pool *pgxpool.Pool) error
	// Projections are the read models (cmd/belfry's allProjections): each live, then all of them
	// in one snapshot.
	Projections []projections.Projection
	Events      int    // events seeded (default 1,000,000)
	Target      int    // events in the target figure the rate is extrapolated to (default 10,000,000)
	JSON        string // the report's path ("" for bench-results/replay-<time>.json)
	CPUProfile  string // where to write a CPU profile of the replay ("" for none)
	// NoFloor skips the live catch-up: the report then has no floor to compare with (for profiling).
	NoFloor  bool
	Out      io.Writer // the table and the checks
	Progress io.Writer
}

// ReplayReport is the outcome of `belfry bench replay`.
type ReplayReport struct {
	StartedAt time.Time `json:"startedAt"`
	CPUs      int       `json:"cpus"`
	GoVersion string    `json:"goVersion"`
	Events    int       `json:"events"`
	// ReadModels are the projections replayed (and caught up live).
	ReadModels []string `json:"readModels"`
	Results    []Result `json:"results"`
	// ExtrapolatedSeconds is how long the replay of Target events would take at the measured rate
	// (linear: the snapshot's tables grow, but each event's statements touch rows by key).
	Target              int     `json:"targetEvents"`
	ExtrapolatedSeconds float64 `json:"extrapolatedSecondsForTarget"`
	Checks              []Check `json:"checks"`
}

// ReplayCommand runs `belfry bench replay`: it seeds Events account events into an embedded log on
// a scratch database (belfry_bench_replay), catches every read model up live from position 0 (the
// floor: what the runners do after a start on an old log), then replays the whole log into a
// snapshot of every read model, and reports both rates side by side.
func ReplayCommand(ctx context.Context, o ReplayOptions) error {
	if o.Events <= 0 {
		o.Events = 1_000_000
	}
	if o.Target <= 0 {
		o.Target = 10_000_000
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	benchURL, stop, err := ScratchDatabase(ctx, o.Postgres, "belfry_bench_replay")
	if err != nil {
		return err
	}
	defer stop()
	pool, client, closeLog, err := OpenLog(ctx, benchURL, 32, o.Migrate)
	if err != nil {
		return err
	}
	defer closeLog()
	rep, err := RunReplay(ctx, pool, client, o)
	if err != nil {
		return err
	}
	rep.Print(o.Out)
	path := ReportPath(o.JSON, "replay", rep.StartedAt)
	if err := WriteJSON(path, rep); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "\nJSON report: %s\n", path)
	return nil
}

// RunReplay measures seeding, the live catch-up and the replay on an open log.
func RunReplay(ctx context.Context, pool *pgxpool.Pool, client *esdb.Client, o ReplayOptions) (*ReplayReport, error) {
	rep := &ReplayReport{StartedAt: time.Now().UTC(), CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), Events: o.Events, Target: o.Target}
	for _, p := range o.Projections {
		rep.ReadModels = append(rep.ReadModels, p.Name())
	}
	sort.Strings(rep.ReadModels)
	add := func(r Result) Result {
		if r.Seconds > 0 {
			r.EventsPerSec = float64(r.Events) / r.Seconds
		}
		rep.Results = append(rep.Results, r)
		return r
	}
	fmt.Fprintf(o.Progress, "seeding %d account events (streams of 1 Created and 9 Renamed) ...\n", o.Events)
	start := time.Now()
	last, err := writeAccountHistory(ctx, client, o.Events, "replay-"+uuid.NewString()[:8], o.Progress)
	if err != nil {
		return nil, err
	}
	add(Result{Name: "seed", Events: int64(o.Events), Seconds: time.Since(start).Seconds(), Note: "10-event appends, 8 writers"})

	var live Result
	if !o.NoFloor {
		fmt.Fprintf(o.Progress, "catching every read model up live from position 0 ...\n")
		if live, err = liveCatchUp(ctx, pool, client, o.Projections, last, o.Events); err != nil {
			return nil, err
		}
		live = add(live)
	}

	fmt.Fprintf(o.Progress, "replaying the log into a snapshot of every read model ...\n")
	snaps := projections.NewSnapshots(pool, client, o.Projections)
	snaps.TimeIndex = func(ctx context.Context, t time.Time) (uint64, bool, error) { return eventlog.PositionAt(ctx, pool, t) }
	stopProfile, err := StartCPUProfile(o.CPUProfile)
	if err != nil {
		return nil, err
	}
	defer stopProfile()
	start = time.Now()
	sn, err := snaps.Create(ctx, "bench", strconv.FormatUint(last, 10))
	if err != nil {
		return nil, err
	}
	var lastPrint, filled time.Time
	created := time.Since(start)
	err = snaps.Build(ctx, sn.Name, func(s projections.Snapshot) {
		if s.ReachedPosition >= s.TargetPosition && filled.IsZero() {
			filled = time.Now()
		}
		if time.Since(lastPrint) >= 2*time.Second {
			lastPrint = time.Now()
			fmt.Fprintf(o.Progress, "  position %d/%d (%.1f%%), %d events\n", s.ReachedPosition, s.TargetPosition, 100*s.Progress, s.Events)
		}
	})
	if err != nil {
		return nil, err
	}
	sn, err = snaps.Get(ctx, sn.Name)
	if err != nil {
		return nil, err
	}
	replay := add(Result{Name: "snapshot_replay", Events: sn.Events, Seconds: time.Since(start).Seconds(),
		Note: fmt.Sprintf("every read model (%d) from position 0 into one snapshot schema; %d parked; of which %.2f s creating the schema, %.2f s indexing and logging the tables at the end",
			len(o.Projections), sn.Parked, created.Seconds(), time.Since(filled).Seconds())})
	if replay.EventsPerSec > 0 {
		rep.ExtrapolatedSeconds = float64(o.Target) / replay.EventsPerSec
	}
	rep.Checks = []Check{{Name: "snapshot replay", Target: ">= 50000 events/s", Value: replay.EventsPerSec, Pass: replay.EventsPerSec >= 50000}}
	if !o.NoFloor {
		rep.Checks = append(rep.Checks, Check{Name: "replay vs live catch-up (floor)", Target: ">= 1.0x",
			Value: replay.EventsPerSec / max(live.EventsPerSec, 1e-9), Pass: replay.EventsPerSec >= live.EventsPerSec})
	}
	return rep, nil
}

// liveCatchUp runs every read model's live runner from position 0 at once, as a start on an old log
// does, until each has applied position last.
func liveCatchUp(ctx context.Context, pool *pgxpool.Pool, client *esdb.Client, ps []projections.Projection, last uint64, events int) (Result, error) {
	for _, p := range ps {
		if _, _, err := projections.Ensure(ctx, pool, p); err != nil {
			return Result{}, err
		}
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	runners := make([]*projections.Runner, len(ps))
	for i, p := range ps {
		runners[i] = projections.NewRunner(pool, client, p, projections.RunnerConfig{})
		go func(r *projections.Runner) { _ = r.Run(rctx) }(runners[i])
	}
	for _, r := range runners {
		if err := r.WaitFor(ctx, last); err != nil {
			return Result{}, err
		}
	}
	return Result{Name: "live_catchup", Events: int64(events), Seconds: time.Since(start).Seconds(),
		Note: fmt.Sprintf("the %d live runners from position 0 at once (the floor)", len(ps))}, nil
}

// Print writes the report as a table.
func (r *ReplayReport) Print(w io.Writer) {
	rows := make([][]string, len(r.Results))
	for i, x := range r.Results {
		rows[i] = []string{x.Name, fmt.Sprint(x.Events), fmt.Sprintf("%.2f", x.Seconds), fmt.Sprintf("%.0f", x.EventsPerSec), x.Note}
	}
	fmt.Fprintln(w)
	Table(w, []string{"SCENARIO", "EVENTS", "SECONDS", "EVENTS/S", "NOTE"}, rows)
	fmt.Fprintf(w, "\nat this rate, %d events replay in %.0f s\n", r.Target, r.ExtrapolatedSeconds)
	PrintChecks(w, r.Checks)
}
