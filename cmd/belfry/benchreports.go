package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/belfry/belfry/infra/bench"
	"github.com/belfry/belfry/infra/objstore"
	"github.com/belfry/belfry/projections/chimecalls"
)

// cmdBenchReports runs `belfry bench reports`: CDR generation from the log (belfry reports cdrs)
// beside plain file writes, in a scratch database (belfry_bench_reports) of the same server.
func cmdBenchReports(ctx context.Context, cfg Config, args []string) error {
	fs := flag.NewFlagSet("bench reports", flag.ContinueOnError)
	calls := fs.Int("calls", 20_000, "ended calls (one CDR each) seeded into the log")
	workers := fs.Int("workers", 8, "conferences read from the log at once (and floor writers)")
	out := fs.String("json", "", "write the JSON report here (default bench-results/reports-<time>.json)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pool, client, release, err := scratchLog(ctx, cfg, "belfry_bench_reports")
	if err != nil {
		return err
	}
	defer release()
	gen := func(ctx context.Context, dir string, from, to time.Time) (int, error) {
		g := cdrExport{load: newRepo(client, callDecider, time.Now).Load, ended: chimecalls.NewStore(pool).EndedBetween,
			out: objstore.DirTarget{Dir: dir, Name: "bench"}, workers: *workers, progress: io.Discard}
		st, err := g.run(ctx, from, to)
		return int(st.written.Load() + st.kept.Load()), err
	}
	rep, err := bench.RunCDRs(ctx, pool, client, bench.CDRConfig{Calls: *calls, Workers: *workers, Progress: os.Stderr, Generate: gen})
	if err != nil {
		return err
	}
	fmt.Println()
	rep.Print(os.Stdout)
	path := *out
	if path == "" {
		path = filepath.Join("bench-results", "reports-"+rep.StartedAt.Format("20060102T150405Z")+".json")
	}
	return bench.WriteJSON(path, rep)
}
