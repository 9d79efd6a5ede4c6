package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/belfry/belfry/infra/bench"
	"github.com/belfry/belfry/infra/bench/apibench"
)

// cmdBench runs `belfry bench eventstore|api|audit-flood|replay`: it parses the flags and hands the
// benchmark (infra/bench, infra/bench/apibench) what only this package can supply, the migrations and
// a server started in this process.
func cmdBench(ctx context.Context, cfg Config, args []string) error {
	if len(args) > 0 && args[0] == "api" {
		return cmdBenchAPI(ctx, cfg, args[1:])
	}
	if len(args) > 0 && args[0] == "snapshot" {
		return cmdBenchSnapshot(ctx, cfg, args[1:])
	}
	if len(args) > 0 && args[0] == "audit" {
		return cmdBenchAudit(ctx, cfg, args[1:])
	}
	if len(args) > 0 && args[0] == "audit-flood" {
		return cmdBenchAuditFlood(ctx, cfg, args[1:])
	}
	if len(args) > 0 && args[0] == "replay" {
		return cmdBenchReplay(ctx, cfg, args[1:])
	}
	if len(args) > 0 && args[0] == "chat" {
		return cmdBenchChat(ctx, cfg, args[1:])
	}
	if len(args) > 0 && args[0] == "archive" {
		return cmdBenchArchive(ctx, cfg, args[1:])
	}
	if len(args) > 0 && args[0] == "purge" {
		return cmdBenchPurge(ctx, cfg, args[1:])
	}
	if len(args) > 0 && args[0] == "wickr" {
		return cmdBenchWickr(ctx, cfg, args[1:])
	}
	if len(args) > 0 && args[0] == "reports" {
		return cmdBenchReports(ctx, cfg, args[1:])
	}
	if len(args) > 0 && args[0] == "media" {
		return cmdBenchMedia(ctx, args[1:])
	}
	if len(args) == 0 || args[0] != "eventstore" {
		return fmt.Errorf("usage: belfry bench eventstore|api|audit-flood|audit|snapshot|replay|wickr|reports|chat|archive|purge|media [flags]")
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
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	selected, err := regexp.Compile(*only)
	if err != nil {
		return fmt.Errorf("--only: %w", err)
	}
	if *syncCommit != "on" && *syncCommit != "off" {
		return fmt.Errorf("--synchronous-commit must be on or off")
	}
	return bench.EventStoreCommand(ctx, bench.EventStoreOptions{Postgres: benchPostgres(cfg), Migrate: migrate,
		Config: bench.Config{Duration: *d, CatchupEvents: *catchup, LagRate: *lagRate, LagDuration: *lagFor,
			Progress: os.Stderr, Only: selected.MatchString},
		SynchronousCommitOff: *syncCommit == "off", CPUProfile: *cpuProfile, JSON: *out, Out: os.Stdout})
}

// cmdBenchAPI runs `belfry bench api` (see apibench.APICommand).
func cmdBenchAPI(ctx context.Context, cfg Config, args []string) error {
	fs := flag.NewFlagSet("bench api", flag.ContinueOnError)
	o := apibench.APIOptions{}
	fs.IntVar(&o.Users, "users", 100_000, "users in the benchmark account")
	fs.IntVar(&o.Clients, "clients", 200, "concurrent clients")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "length of each scenario")
	getRates := fs.String("get-rates", "200,500,1000", "offered GetUser calls/s of the paced latency scenarios (all clients together), a sweep")
	fs.Float64Var(&o.ListRate, "list-rate", 200, "offered ListUsers calls/s of the paced latency scenario")
	fs.Float64Var(&o.BatchRate, "batch-rate", 100, "offered BatchUpdateUser calls/s of the paced latency scenario")
	fs.BoolVar(&o.AuditReads, "audit-reads", true, "audit read-only calls (BELFRY_AUDIT_READS); false measures the cost of doing so")
	serverMode := fs.String("server", "inline", "run the server in the bench's own process (inline) or as a `belfry serve` child process (process)")
	fs.IntVar(&o.Repeats, "repeats", 3, "runs of each paced scenario (the median run is reported, every run's p99 listed)")
	only := fs.String("only", "", "run only the scenarios whose name matches this regular expression")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the scenarios here")
	out := fs.String("json", "", "write the JSON report here (default bench-results/api-<time>.json)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	selected, err := regexp.Compile(*only)
	if err != nil {
		return fmt.Errorf("--only: %w", err)
	}
	o.Only = selected.MatchString
	if o.Repeats < 1 {
		return fmt.Errorf("--repeats must be at least 1")
	}
	for _, f := range strings.Split(*getRates, ",") {
		r, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || r <= 0 {
			return fmt.Errorf("--get-rates: %q is not a positive rate", f)
		}
		o.GetRates = append(o.GetRates, r)
	}
	if o.Harness, err = benchHarness(cfg, *serverMode, *cpuProfile, *out); err != nil {
		return err
	}
	return apibench.APICommand(ctx, o)
}

// cmdBenchWickr runs `belfry bench wickr` (see apibench.WickrCommand).
func cmdBenchWickr(ctx context.Context, cfg Config, args []string) error {
	fs := flag.NewFlagSet("bench wickr", flag.ContinueOnError)
	o := apibench.WickrOptions{}
	fs.IntVar(&o.Users, "users", 100_000, "users in the benchmark network, created by BatchCreateUser of 50")
	fs.IntVar(&o.Clients, "clients", 32, "concurrent clients")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "length of each paced scenario")
	fs.Float64Var(&o.ListRate, "list-rate", 200, "offered ListUsers pages/s (and the floor's)")
	fs.Float64Var(&o.CountRate, "count-rate", 200, "offered GetUsersCount calls/s")
	fs.IntVar(&o.Repeats, "repeats", 3, "runs of each paced scenario (the median run is reported)")
	serverMode := fs.String("server", "inline", "run the server in this process (inline) or as a `belfry serve` child process (process)")
	out := fs.String("json", "", "write the JSON report here (default bench-results/wickr-<time>.json)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the BatchCreateUser fill here, and of the paced reads here with .reads appended")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var err error
	if o.Harness, err = benchHarness(cfg, *serverMode, *cpuProfile, *out); err != nil {
		return err
	}
	return apibench.WickrCommand(ctx, o)
}

// cmdBenchAuditFlood runs `belfry bench audit-flood` (see apibench.AuditFloodCommand).
func cmdBenchAuditFlood(ctx context.Context, cfg Config, args []string) error {
	fs := flag.NewFlagSet("bench audit-flood", flag.ContinueOnError)
	o := apibench.FloodOptions{}
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "length of each scenario")
	fs.Float64Var(&o.Rate, "rate", 200, "offered GetAccount calls/s (all clients together)")
	fs.IntVar(&o.Clients, "clients", 20, "GetAccount clients")
	fs.IntVar(&o.Flooders, "flooders", 32, "goroutines sending unauthenticated requests")
	fs.Float64Var(&o.FloodRate, "flood-rate", 0, "unauthenticated requests/s offered by all flooders together (0: each floods in a closed loop, as fast as it can)")
	serverMode := fs.String("server", "inline", "run the server in this process (inline) or as a `belfry serve` child process (process)")
	out := fs.String("json", "", "write the JSON report here (default bench-results/audit-flood-<time>.json)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the flood scenario here")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var err error
	if o.Harness, err = benchHarness(cfg, *serverMode, *cpuProfile, *out); err != nil {
		return err
	}
	return apibench.AuditFloodCommand(ctx, o)
}

// cmdBenchReplay runs `belfry bench replay` (see bench.ReplayCommand).
func cmdBenchReplay(ctx context.Context, cfg Config, args []string) error {
	fs := flag.NewFlagSet("bench replay", flag.ContinueOnError)
	o := bench.ReplayOptions{Postgres: benchPostgres(cfg), Migrate: migrate, Out: os.Stdout, Progress: os.Stderr}
	fs.IntVar(&o.Events, "events", 1_000_000, "events seeded, caught up live and replayed into a snapshot")
	fs.IntVar(&o.Target, "target", 10_000_000, "the event count the measured rate is extrapolated to")
	fs.StringVar(&o.JSON, "json", "", "write the JSON report here (default bench-results/replay-<time>.json)")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the replay here")
	fs.BoolVar(&o.NoFloor, "no-floor", false, "skip the live catch-up (no floor to compare with: for profiling)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	for _, p := range allProjections() {
		o.Projections = append(o.Projections, p)
	}
	return bench.ReplayCommand(ctx, o)
}

// benchPostgres is where a benchmark's scratch database goes: the configured server, or the
// private cluster in the data directory.
func benchPostgres(cfg Config) bench.Postgres {
	return bench.Postgres{AdminURL: cfg.DatabaseURL, DataDir: cfg.DataDir}
}

// benchHarness wires an API benchmark: the server it measures is started by startInlineServer in
// this process, or as this binary's `belfry serve` in a child process.
func benchHarness(cfg Config, serverMode, cpuProfile, out string) (apibench.Harness, error) {
	self, err := os.Executable()
	if err != nil {
		return apibench.Harness{}, err
	}
	return apibench.Harness{Postgres: benchPostgres(cfg), ServerMode: serverMode, Inline: startInlineServer,
		ServeCommand: []string{self, "serve"}, CPUProfile: cpuProfile, JSON: out, Out: os.Stdout, Progress: os.Stderr}, nil
}

// startInlineServer runs Belfry in this process on loopback for a benchmark.
func startInlineServer(ctx context.Context, sc apibench.ServerConfig) (*apibench.Server, error) {
	m := NewMain(Config{DatabaseURL: sc.DatabaseURL, EventLogAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Region: "us-east-1", SkipReadAudit: !sc.AuditReads})
	var keyOut bytes.Buffer
	m.Out = &keyOut
	if err := m.Run(ctx); err != nil {
		_ = m.Close()
		return nil, err
	}
	id, secret, err := apibench.FirstKey(keyOut.String())
	if err != nil {
		_ = m.Close()
		return nil, err
	}
	return &apibench.Server{HTTPAddr: m.HTTPAddr(), LogURL: m.EmbeddedLogURL(), KeyID: id, Secret: secret, Metrics: m.reg, Stop: m.Close}, nil
}

// cmdBenchAudit runs `belfry bench audit` (see bench.AuditCommand).
func cmdBenchAudit(ctx context.Context, cfg Config, args []string) error {
	fs := flag.NewFlagSet("bench audit", flag.ContinueOnError)
	events := fs.Int("events", 2_000_000, "chained events in the log and rows in the history index (the issue's figure is 10,000,000)")
	lookups := fs.Int("lookups", 2000, "history pages read")
	out := fs.String("json", "", "write the JSON report here (default bench-results/audit-<time>.json)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return bench.AuditCommand(ctx, bench.AuditOptions{Postgres: benchPostgres(cfg), Migrate: migrate,
		Config: bench.AuditConfig{Events: *events, Lookups: *lookups, Progress: os.Stderr}, JSON: *out, Out: os.Stdout})
}
