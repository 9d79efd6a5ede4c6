package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/infra/bench"
	"github.com/belfry/belfry/infra/eventlog"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/infra/pgcluster"
)

// cmdBench runs `belfry bench eventstore` in a scratch database (belfry_bench) of the same server.
func cmdBench(ctx context.Context, cfg Config, args []string) error {
	if len(args) > 0 && args[0] == "api" {
		return cmdBenchAPI(ctx, cfg, args[1:])
	}
	if len(args) > 0 && args[0] == "snapshot" {
		return cmdBenchSnapshot(ctx, cfg, args[1:])
	}
	if len(args) > 0 && args[0] == "audit-flood" {
		return cmdBenchAuditFlood(ctx, cfg, args[1:])
	}
	if len(args) == 0 || args[0] != "eventstore" {
		return fmt.Errorf("usage: belfry bench eventstore|api [flags]")
	}
	fs := flag.NewFlagSet("bench eventstore", flag.ContinueOnError)
	d := fs.Duration("duration", 5*time.Second, "length of each append scenario")
	catchup := fs.Int("catchup-events", 1_000_000, "events in the projection catch-up scenario")
	lagRate := fs.Int("lag-rate", 1000, "events per second in the lag scenario")
	lagFor := fs.Duration("lag-duration", 10*time.Second, "length of the lag scenario")
	out := fs.String("json", "", "write the JSON report here (default bench-results/eventstore-<time>.json)")
	only := fs.String("only", "", "run only the scenarios whose name matches this regular expression (with their baselines)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the scenarios (client, server and baselines) here")
	syncCommit := fs.String("synchronous-commit", "on", "synchronous_commit of the bench database; off stands in for a fast-fsync disk (not durable)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	selected, err := regexp.Compile(*only)
	if err != nil {
		return fmt.Errorf("--only: %w", err)
	}
	if *syncCommit != "on" && *syncCommit != "off" {
		return fmt.Errorf("--synchronous-commit must be on or off")
	}
	benchURL, stop, err := scratchDatabase(ctx, cfg, "belfry_bench")
	if err != nil {
		return err
	}
	defer stop()
	setting := ""
	if *syncCommit == "off" {
		setting = "synchronous_commit=off (stands in for a fast-fsync disk; not durable)"
		if err := setDatabaseOption(ctx, benchURL, "synchronous_commit", "off"); err != nil {
			return err
		}
	}
	pc, err := pgxpool.ParseConfig(benchURL)
	if err != nil {
		return err
	}
	pc.MaxConns = 64
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := migrate(ctx, pool); err != nil {
		return err
	}
	srv, err := eventlog.Start(ctx, pool, eventlog.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		return err
	}
	defer srv.Close()
	client, err := eventstore.Connect(srv.URL())
	if err != nil {
		return err
	}
	defer client.Close()
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	rep, err := bench.RunEventStore(ctx, pool, client, bench.Config{Duration: *d, CatchupEvents: *catchup, LagRate: *lagRate,
		LagDuration: *lagFor, Progress: os.Stderr, Only: selected.MatchString, Setting: setting})
	if err != nil {
		return err
	}
	fmt.Println()
	if setting != "" {
		fmt.Println("setting:", setting)
	}
	rep.Print(os.Stdout)
	path := *out
	if path == "" {
		path = filepath.Join("bench-results", "eventstore-"+rep.StartedAt.Format("20060102T150405Z")+".json")
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

// setDatabaseOption sets a server option for every later session of the database at url.
func setDatabaseOption(ctx context.Context, url, name, value string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s SET %s = %s", conn.Config().Database, name, value)); err != nil {
		return fmt.Errorf("bench: set %s: %w", name, err)
	}
	return nil
}

// scratchDatabase recreates an empty database named name on the configured server (the private
// cluster by default) and returns its URL and a function that releases the cluster.
func scratchDatabase(ctx context.Context, cfg Config, name string) (string, func(), error) {
	stop := func() {}
	adminURL := cfg.DatabaseURL
	if adminURL == "" {
		c, err := pgcluster.Start(ctx, pgcluster.Config{Dir: filepath.Join(cfg.DataDir, "postgres")})
		if err != nil {
			return "", stop, err
		}
		stop = func() { _ = c.Stop() }
		adminURL = c.URL("postgres")
	}
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", stop, err
	}
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", stop, err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		return "", stop, fmt.Errorf("bench: scratch database: %w", err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", stop, fmt.Errorf("bench: scratch database: %w", err)
	}
	u.Path = "/" + name
	return u.String(), stop, nil
}

// startCPUProfile writes a CPU profile to path until the returned stop is called; an empty path
// profiles nothing.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
