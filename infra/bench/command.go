package bench

import (
	"context"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5/pgxpool"
)

// EventStoreOptions are the parsed flags of `belfry bench eventstore` and what its caller supplies.
type EventStoreOptions struct {
	Postgres Postgres
	// Migrate brings the scratch database to Belfry's schema (cmd/belfry's migrations).
	Migrate func(ctx context.Context, pool *pgxpool.Pool) error
	// Config sizes the scenarios; its Progress is where progress lines go.
	Config Config
	// SynchronousCommitOff sets synchronous_commit=off on the scratch database (not durable).
	SynchronousCommitOff bool
	CPUProfile           string    // write a CPU profile of the scenarios here ("" for none)
	JSON                 string    // the JSON report's path ("" for bench-results/eventstore-<time>.json)
	Out                  io.Writer // the table and the checks
}

// EventStoreCommand runs `belfry bench eventstore`: RunEventStore in a scratch database
// (belfry_bench) of the configured PostgreSQL, against an embedded event log started on it.
func EventStoreCommand(ctx context.Context, o EventStoreOptions) error {
	benchURL, stop, err := ScratchDatabase(ctx, o.Postgres, "belfry_bench")
	if err != nil {
		return err
	}
	defer stop()
	if o.SynchronousCommitOff {
		o.Config.Setting = "synchronous_commit=off (stands in for a fast-fsync disk; not durable)"
		if err := setDatabaseOption(ctx, benchURL, "synchronous_commit", "off"); err != nil {
			return err
		}
	}
	pool, client, closeLog, err := OpenLog(ctx, benchURL, 64, o.Migrate)
	if err != nil {
		return err
	}
	defer closeLog()
	stopProfile, err := StartCPUProfile(o.CPUProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	rep, err := RunEventStore(ctx, pool, client, o.Config)
	if err != nil {
		return err
	}
	fmt.Fprintln(o.Out)
	if rep.Config.Setting != "" {
		fmt.Fprintln(o.Out, "setting:", rep.Config.Setting)
	}
	rep.Print(o.Out)
	path := ReportPath(o.JSON, "eventstore", rep.StartedAt)
	if err := WriteJSON(path, rep); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "\nJSON report: %s\n", path)
	return nil
}
