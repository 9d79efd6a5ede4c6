package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/infra/bench"
	"github.com/belfry/belfry/infra/eventstore"
)

// cmdBenchSnapshot runs `belfry bench snapshot`: the load of a large account after a restart, with
// and without its snapshot, in a scratch database (belfry_bench_snapshot) of the same server.
func cmdBenchSnapshot(ctx context.Context, cfg Config, args []string) error {
	fs := flag.NewFlagSet("bench snapshot", flag.ContinueOnError)
	users := fs.Int("users", 100_000, "users in the benchmark account")
	every := fs.Int64("every", eventstore.DefaultSnapshotEvery, "snapshot distance in events (the worst tail is one less)")
	runs := fs.Int("runs", 5, "loads per figure (the median is printed)")
	out := fs.String("json", "", "write the JSON report here (default bench-results/snapshot-<time>.json)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	pool, client, release, err := scratchLog(ctx, cfg, "belfry_bench_snapshot")
	if err != nil {
		return err
	}
	defer release()
	rep, err := bench.RunSnapshot(ctx, pool, client, bench.SnapshotConfig{Users: *users, Every: *every, Runs: *runs, Progress: os.Stderr})
	if err != nil {
		return err
	}
	fmt.Println()
	rep.Print(os.Stdout)
	path := *out
	if path == "" {
		path = filepath.Join("bench-results", "snapshot-"+rep.StartedAt.Format("20060102T150405Z")+".json")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(rep, "", "  ")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return err
	}
	fmt.Printf("\nJSON report: %s\n", path)
	return nil
}

// scratchLog opens the bench server's scratch database name (recreated empty) with an embedded event
// log on it (which applies the migrations); release stops them and the private cluster, in reverse order.
func scratchLog(ctx context.Context, cfg Config, name string) (*pgxpool.Pool, *esdb.Client, func(), error) {
	dbURL, stop, err := bench.ScratchDatabase(ctx, benchPostgres(cfg), name)
	if err != nil {
		return nil, nil, nil, err
	}
	pool, client, closeLog, err := bench.OpenLog(ctx, dbURL, 0, nil)
	if err != nil {
		stop()
		return nil, nil, nil, err
	}
	return pool, client, func() { closeLog(); stop() }, nil
}
