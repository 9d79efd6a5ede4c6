package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
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
	if len(args) == 0 || args[0] != "eventstore" {
		return fmt.Errorf("usage: belfry bench eventstore|api [flags]")
	}
	fs := flag.NewFlagSet("bench eventstore", flag.ContinueOnError)
	d := fs.Duration("duration", 5*time.Second, "length of each append scenario")
	catchup := fs.Int("catchup-events", 1_000_000, "events in the projection catch-up scenario")
	lagRate := fs.Int("lag-rate", 1000, "events per second in the lag scenario")
	lagFor := fs.Duration("lag-duration", 10*time.Second, "length of the lag scenario")
	out := fs.String("json", "", "write the JSON report here (default bench-results/eventstore-<time>.json)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	adminURL := cfg.DatabaseURL
	if adminURL == "" {
		c, err := pgcluster.Start(ctx, pgcluster.Config{Dir: filepath.Join(cfg.DataDir, "postgres")})
		if err != nil {
			return err
		}
		defer c.Stop()
		adminURL = c.URL("postgres")
	}
	u, err := url.Parse(adminURL)
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return err
	}
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS belfry_bench WITH (FORCE)")
	if err == nil {
		_, err = conn.Exec(ctx, "CREATE DATABASE belfry_bench")
	}
	conn.Close(ctx)
	if err != nil {
		return fmt.Errorf("bench: scratch database: %w", err)
	}
	u.Path = "/belfry_bench"
	pc, err := pgxpool.ParseConfig(u.String())
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
	rep, err := bench.RunEventStore(ctx, pool, client, bench.Config{Duration: *d, CatchupEvents: *catchup, LagRate: *lagRate,
		LagDuration: *lagFor, Progress: os.Stderr})
	if err != nil {
		return err
	}
	fmt.Println()
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
