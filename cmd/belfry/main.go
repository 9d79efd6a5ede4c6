// Command belfry runs and administers Belfry.
//
//	belfry serve                               run the server with every default
//	belfry migrate                             apply the schema migrations
//	belfry admin create-access-key [--user U] [--json]
//	belfry projections status | rebuild NAME | retry NAME
//	belfry replay --as-of T [--name N] [--out DIR]
//	belfry bench eventstore [flags]
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	_ "github.com/belfry/belfry/infra/wirecodec" // gRPC's proto codec with a fast decoder of event reads
)

const usage = `usage:
  belfry serve                                  run Belfry (private PostgreSQL, embedded event log, HTTP API)
  belfry migrate                                apply schema migrations and exit
  belfry admin create-access-key [--user NAME] [--json]
                                                create an access key (printed once)
  belfry projections status [--json]            head, checkpoint, lag and parked events per projection
  belfry projections rebuild NAME               rebuild a read model into a shadow schema and switch
  belfry projections retry NAME                 re-apply a read model's parked events (after a fix)
  belfry audit verify [--from --to] [--dir EXPORT]
                                                verify the event log's hash chain and signed checkpoints
  belfry audit export-log --out DIR             export the log for offline verification
  belfry audit export [--from --to] (--dir DIR | --bucket NAME [--endpoint URL])
                                                write the audit records as CloudTrail log and digest files
  belfry audit verify-trail (--dir DIR | --bucket NAME)
                                                check a CloudTrail-format trail (digest chain, signatures, hashes)
  belfry bench eventstore [flags]               event store benchmarks (run with -h for flags)
  belfry bench api [flags]                      Chime API benchmarks with the official SDK (-h for flags)
  belfry bench audit-flood [flags]              GetAccount p99 during a flood of unauthenticated requests
  belfry bench snapshot [flags]                 load of a 100k-user account after a restart, with and without a snapshot
  belfry replay --as-of <RFC 3339 time | $all position> [--name NAME] [--out DIR] [--format jsonl|csv]
                [--account ID | --network ID]   rebuild every read model as of an instant into a snapshot
                                                (resumable), served read-only with X-Belfry-Snapshot: NAME
  belfry bench replay [--events N]              replay of every read model into a snapshot beside the live catch-up
  belfry bench audit [flags]                    audit verify and history lookups over a large log
  belfry bench reports [--calls N]              CDR generation from the log beside plain file writes
  belfry reports cdrs [--from --to] (--dir DIR | --bucket NAME [--endpoint URL])
                                                regenerate the Business Calling CDRs of a period from the log
  belfry retention purge [--dry-run] [--json] [--catch-up-stall 1m]
                                                destroy the chat messages out of retention (keys, then rows)
  belfry bench purge [flags]                    purge of N due messages beside ListRooms p99 (-h for flags)
  belfry export messages --account ID [--user ID] --from TIME --to TIME --out FILE [--catch-up-stall 1m]
                                                JSON Lines legal-hold export of Chime messages (resumable)
                                                (both catch their read models up first; --catch-up-stall: give up
                                                when none has advanced for this long)
configuration: BELFRY_DATA_DIR, BELFRY_DATABASE_URL, BELFRY_EVENTSTORE_URL, BELFRY_EVENTLOG_ADDR,
               BELFRY_HTTP_ADDR, BELFRY_REGION (see README.md)
`

// defaultGCPercent is the Go collector's target when GOGC is not set: four times the default. Under a
// chat load (bench chat, 500 messages/s on two cores, the cores ~85 % busy) each collection's mark
// phase takes the process ~80 ms of CPU within ~85 ms, and the deliveries of that moment wait for it:
// the slow deliveries of a run come in bursts at the collections (GODEBUG=gctrace=1 beside a trace of
// every delivery). At 400 they come every ~5 s instead of every ~2.5 s (at 200) or ~1.2 s (the
// default), with fewer assists each, for a heap of up to ~5× the live one (~400 MB at that load).
const defaultGCPercent = 400

func main() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(defaultGCPercent)
	}
	if err := runUntilSignalled(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "belfry:", err)
		os.Exit(1)
	}
}

// shutdownBound bounds the stop of `belfry serve`: past it the process exits without waiting for
// the rest of its stop (the next start's sweeps end what it leaves, as after a crash).
const shutdownBound = 90 * time.Second

// errStopCutShort: the stop of `belfry serve` did not finish (a second signal, or shutdownBound).
var errStopCutShort = errors.New("stop cut short")

// runUntilSignalled runs the command until the first SIGINT or SIGTERM; a second one cuts the stop
// of `belfry serve` short.
func runUntilSignalled(args []string) error {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-sigs: // the first signal; the next ones are the stop's (stopWithin)
			cancel()
		case <-ctx.Done():
		}
	}()
	return runCommand(ctx, args, sigs)
}

// run runs the command until ctx ends; the stop of `belfry serve` is bounded by shutdownBound only.
func run(ctx context.Context, args []string) error { return runCommand(ctx, args, nil) }

// stopWithin runs closeFn and returns its error, unless a signal arrives on again or bound passes
// first: then it returns errStopCutShort at once, leaving closeFn to the process's exit.
func stopWithin(closeFn func() error, again <-chan os.Signal, bound time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- closeFn() }()
	t := time.NewTimer(bound)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case sig := <-again:
		return fmt.Errorf("%w: a second signal (%s)", errStopCutShort, sig)
	case <-t.C:
		return fmt.Errorf("%w: still stopping after %s", errStopCutShort, bound)
	}
}

// serve runs m until ctx ends, then stops it within shutdownBound. A stop asked for while m starts
// (ctx ended: a signal) is a stop, not a failure: what started is stopped and serve returns nil, so
// the process exits 0 as it does after a stop once ready.
func serve(ctx context.Context, m *Main, again <-chan os.Signal) error {
	if err := m.Run(ctx); err != nil {
		stopErr := stopWithin(m.Close, again, shutdownBound)
		if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "belfry: stopped while starting")
			return stopErr
		}
		return err
	}
	fmt.Fprintf(os.Stderr, "belfry: ready: HTTP on http://%s, event log on %s\n", m.HTTPAddr(), m.EventStoreDesc())
	<-ctx.Done()
	fmt.Fprintf(os.Stderr, "belfry: shutting down (a second signal, or %s, ends the process at once)\n", shutdownBound)
	return stopWithin(m.Close, again, shutdownBound)
}

// runCommand runs the command of args; again receives the signals that come after ctx ended.
func runCommand(ctx context.Context, args []string, again <-chan os.Signal) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return fmt.Errorf("missing command")
	}
	cfg := ConfigFromEnv()
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	switch args[0] {
	case "serve":
		return serve(ctx, NewMain(cfg), again)
	case "migrate":
		return cmdMigrate(ctx, cfg)
	case "admin":
		return cmdAdmin(ctx, cfg, args[1:])
	case "projections":
		return cmdProjections(ctx, cfg, args[1:])
	case "audit":
		return cmdAudit(ctx, cfg, args[1:])
	case "bench":
		return cmdBench(ctx, cfg, args[1:])
	case "replay":
		return cmdReplay(ctx, cfg, args[1:])
	case "reports":
		return cmdReports(ctx, cfg, args[1:])
	case "retention":
		return cmdRetention(ctx, cfg, args[1:])
	case "export":
		return cmdExport(ctx, cfg, args[1:])
	case "help", "-h", "--help":
		fmt.Print(usage)
		return nil
	}
	fmt.Fprint(os.Stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
