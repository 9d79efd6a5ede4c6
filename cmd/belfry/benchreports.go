package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/api/chime/usagereports"
	"github.com/belfry/belfry/infra/bench"
	"github.com/belfry/belfry/infra/objstore"
	"github.com/belfry/belfry/projections"
	chimeusagerm "github.com/belfry/belfry/projections/chimeusage"
)

// benchReportsResult is the JSON of `belfry bench reports`: the parts that ran.
type benchReportsResult struct {
	CDRs  *bench.CDRReport   `json:"cdrs,omitempty"`
	Usage *bench.UsageReport `json:"usage,omitempty"`
}

// cmdBenchReports runs `belfry bench reports`: CDR generation from the log (belfry reports cdrs)
// beside plain file writes, and the weekly usage report (belfry reports generate) from the usage
// read model and from the log beside the same pass over the log that only counts, each in a scratch
// database of the same server.
func cmdBenchReports(ctx context.Context, cfg Config, args []string) error {
	fs := flag.NewFlagSet("bench reports", flag.ContinueOnError)
	calls := fs.Int("calls", 20_000, "ended calls (one CDR each) seeded into the log")
	workers := fs.Int("workers", 8, "conferences read from the log at once (and floor writers)")
	users := fs.Int("usage-users", 10_000, "users of the usage report's account")
	events := fs.Int("usage-events", 200_000, "events of the usage report's week")
	only := fs.String("only", "", "run only this part: cdrs or usage")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run here")
	out := fs.String("json", "", "write the JSON report here (default bench-results/reports-<time>.json)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *only != "" && *only != "cdrs" && *only != "usage" {
		return errors.New("--only must be cdrs or usage")
	}
	stop, err := bench.StartCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stop()
	var res benchReportsResult
	started := time.Now().UTC()
	if *only != "usage" {
		rep, err := benchCDRs(ctx, cfg, *calls, *workers)
		if err != nil {
			return err
		}
		fmt.Println()
		rep.Print(os.Stdout)
		res.CDRs = &rep
	}
	if *only != "cdrs" {
		rep, err := benchUsage(ctx, cfg, *users, *events)
		if err != nil {
			return err
		}
		fmt.Println()
		rep.Print(os.Stdout)
		res.Usage = &rep
	}
	path := *out
	if path == "" {
		path = filepath.Join("bench-results", "reports-"+started.Format("20060102T150405Z")+".json")
	}
	return bench.WriteJSON(path, res)
}

func benchCDRs(ctx context.Context, cfg Config, calls, workers int) (bench.CDRReport, error) {
	_, client, release, err := scratchLog(ctx, cfg, "belfry_bench_reports")
	if err != nil {
		return bench.CDRReport{}, err
	}
	defer release()
	gen := func(ctx context.Context, dir string, from, to time.Time) (int, error) {
		g := cdrExport{pass: callsPass(client), out: objstore.DirTarget{Dir: dir, Name: "bench"}, workers: workers, progress: io.Discard}
		st, err := g.run(ctx, from, to)
		return int(st.written.Load() + st.kept.Load()), err
	}
	return bench.RunCDRs(ctx, client, bench.CDRConfig{Calls: calls, Workers: workers, Progress: os.Stderr, Generate: gen})
}

func benchUsage(ctx context.Context, cfg Config, users, events int) (bench.UsageReport, error) {
	dbURL, stop, err := bench.ScratchDatabase(ctx, benchPostgres(cfg), "belfry_bench_usage")
	if err != nil {
		return bench.UsageReport{}, err
	}
	defer stop()
	pool, client, closeLog, err := bench.OpenLog(ctx, dbURL, 0, migrate)
	if err != nil {
		return bench.UsageReport{}, err
	}
	defer closeLog()
	dir, err := os.MkdirTemp("", "belfry-bench-usage-")
	if err != nil {
		return bench.UsageReport{}, err
	}
	defer os.RemoveAll(dir)
	// The usage read model is built after the seed, as a server started on the seeded log would.
	if _, _, err := projections.Ensure(ctx, pool, chimeusagerm.Projection{}); err != nil {
		return bench.UsageReport{}, err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runner := projections.NewRunner(pool, client, chimeusagerm.Projection{}, projections.RunnerConfig{Linger: 50 * time.Millisecond})
	catchUp := func(ctx context.Context, head uint64) error {
		go func() { _ = runner.Run(rctx) }()
		return runner.WaitFor(ctx, head)
	}
	svc := benchUsageService(pool, client)
	gen := func(fromLog bool) func(context.Context, time.Time) (int, int, error) {
		return func(ctx context.Context, week time.Time) (int, int, error) {
			o := usagereports.Options{Out: objstore.DirTarget{Dir: dir, Name: "bench"}, FromLog: fromLog}
			if !fromLog {
				o.Progress = os.Stderr // where its time goes: the directories, then the account's counts and CSV
			}
			st, err := svc.Generate(ctx, week, o)
			if err == nil && st.FromReadModel == fromLog {
				err = fmt.Errorf("bench: the generation read the wrong source (from the read model: %v)", st.FromReadModel)
			}
			return st.Rows, st.Events, err
		}
	}
	return bench.RunUsage(ctx, client, bench.UsageConfig{Users: users, Events: events, Progress: os.Stderr, Generate: gen(true),
		GenerateRM: gen(false), CatchUp: catchUp})
}

// benchUsageService is the usage-report generator over a scratch log and its read model (its
// reports go to Out).
func benchUsageService(pool *pgxpool.Pool, client *esdb.Client) *usagereports.Service {
	return usagereports.New(usagereports.Deps{Log: usageLog{client}, Activity: chimeusagerm.NewStore(pool), Reports: newRepo(client, usageDecider, time.Now),
		Settings: newRepo(client, settingsDecider, time.Now), Now: time.Now})
}
