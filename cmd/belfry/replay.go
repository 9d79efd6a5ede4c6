package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/infra/eventlog"
	"github.com/belfry/belfry/projections"
)

const replayUsage = `usage: belfry replay --as-of <RFC 3339 time | $all position> [--name NAME] [--out DIR [--format jsonl|csv] [--account ID | --network ID]]`

// newSnapshots returns the snapshots of every read model; with the embedded log, times are
// resolved in its table rather than by reading the log backwards.
func newSnapshots(cfg Config, pool *pgxpool.Pool, client *esdb.Client) *projections.Snapshots {
	var ps []projections.Projection
	for _, p := range allProjections() {
		ps = append(ps, p)
	}
	s := projections.NewSnapshots(pool, client, ps)
	if cfg.EventStoreURL == "" {
		s.TimeIndex = func(ctx context.Context, t time.Time) (uint64, bool, error) { return eventlog.PositionAt(ctx, pool, t) }
	}
	return s
}

// cmdReplay runs `belfry replay`: it builds (or resumes) a snapshot of every read model as of an
// instant, then exports it when --out is given.
func cmdReplay(ctx context.Context, cfg Config, args []string) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	asOf := fs.String("as-of", "", "the instant: an RFC 3339 time, or a $all position")
	name := fs.String("name", "", "the snapshot's name (default asof_<position>): lower-case letters, digits, underscores")
	out := fs.String("out", "", "write every table of the snapshot into this directory")
	format := fs.String("format", "jsonl", "export format: jsonl or csv")
	acct := fs.String("account", "", "export only the rows of this Chime account (tables with an account_id column)")
	network := fs.String("network", "", "export only the rows of this Wickr network (tables with a network_id column)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	exp := projections.ExportOptions{Format: *format}
	switch {
	case *asOf == "":
		return errors.New(replayUsage)
	case *acct != "" && *network != "":
		return errors.New("--account and --network exclude each other: export one account or one network")
	case (*acct != "" || *network != "") && *out == "":
		return errors.New("--account and --network narrow an export: add --out DIR")
	case *format != "jsonl" && *format != "csv":
		return fmt.Errorf("--format %q: use jsonl or csv", *format)
	case *acct != "":
		exp.Column, exp.Value = "account_id", *acct
	case *network != "":
		exp.Column, exp.Value = "network_id", *network
	}
	var cl closerList
	defer cl.close()
	pool, err := openDatabase(ctx, cfg, cl.add)
	if err != nil {
		return err
	}
	client, _, _, err := openEventStore(ctx, cfg, pool, nil, cl.add)
	if err != nil {
		return err
	}
	snaps := newSnapshots(cfg, pool, client)
	sn, err := snaps.Create(ctx, *name, *asOf)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "snapshot %s: every read model from position 0 to %d into schema %s (the live read models are untouched)\n",
		sn.Name, sn.TargetPosition, sn.Schema)
	if err := snaps.Build(ctx, sn.Name, progressBar(os.Stderr, time.Now())); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted: run the same command again to resume from position %d: %w", lastReached(snaps, sn.Name), err)
		}
		return err
	}
	fmt.Fprintf(os.Stderr, "snapshot %s ready: read it through the admin APIs with the header X-Belfry-Snapshot: %s\n", sn.Name, sn.Name)
	if *out == "" {
		return nil
	}
	files, err := snaps.Export(ctx, sn.Name, *out, exp)
	if err != nil {
		return err
	}
	for _, f := range files {
		fmt.Printf("%s\t%d rows\n", f.File, f.Rows)
	}
	return nil
}

func lastReached(s *projections.Snapshots, name string) uint64 {
	sn, _ := s.Get(context.Background(), name)
	return sn.ReachedPosition
}

// progressBar prints a build's progress at most once a second, and when it is complete.
func progressBar(w io.Writer, start time.Time) projections.SnapshotProgress {
	var last time.Time
	printedDone := false
	return func(sn projections.Snapshot) {
		done := sn.ReachedPosition >= sn.TargetPosition
		if done && printedDone || !done && time.Since(last) < time.Second {
			return
		}
		last, printedDone = time.Now(), done
		const width = 30
		filled := min(int(sn.Progress*width), width)
		rate := float64(sn.Events) / max(time.Since(start).Seconds(), 1e-3)
		fmt.Fprintf(w, "  [%s%s] %5.1f%%  position %d/%d  %d events  %.0f events/s\n", strings.Repeat("#", filled),
			strings.Repeat(".", width-filled), 100*sn.Progress, sn.ReachedPosition, sn.TargetPosition, sn.Events, rate)
	}
}

// snapshotService runs the snapshots of a server: builds in the background (resumed at start),
// and the snapshot a request names for the admin APIs (awsproto.Snapshots).
type snapshotService struct {
	s      *projections.Snapshots
	ctx    context.Context // the server's: builds end with it
	spawn  func(func())
	logger *slog.Logger

	mu       sync.Mutex
	building map[string]*build
}

type build struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func newSnapshotService(ctx context.Context, s *projections.Snapshots, spawn func(func()), logger *slog.Logger) *snapshotService {
	return &snapshotService{s: s, ctx: ctx, spawn: spawn, logger: logger, building: map[string]*build{}}
}

// resume restarts the builds an earlier run left unfinished.
func (a *snapshotService) resume(ctx context.Context) error {
	names, err := a.s.Pending(ctx)
	for _, n := range names {
		a.start(n)
	}
	return err
}

// Begin registers a snapshot and builds it in the background.
func (a *snapshotService) Begin(ctx context.Context, name, asOf string) (projections.Snapshot, error) {
	sn, err := a.s.Create(ctx, name, asOf)
	if err == nil && sn.Status != projections.SnapshotReady {
		a.start(sn.Name)
	}
	return sn, err
}

func (a *snapshotService) start(name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.building[name]; ok {
		return
	}
	ctx, cancel := context.WithCancel(a.ctx)
	b := &build{cancel: cancel, done: make(chan struct{})}
	a.building[name] = b
	a.spawn(func() {
		defer func() {
			a.mu.Lock()
			delete(a.building, name)
			a.mu.Unlock()
			cancel()
			close(b.done)
		}()
		start := time.Now()
		if err := a.s.Build(ctx, name, nil); err != nil {
			if ctx.Err() == nil {
				a.logger.Error("building a snapshot failed", "snapshot", name, "err", err)
			}
			return
		}
		a.logger.Info("snapshot ready", "snapshot", name, "seconds", time.Since(start).Seconds())
	})
}

func (a *snapshotService) Get(ctx context.Context, name string) (projections.Snapshot, error) {
	return a.s.Get(ctx, name)
}

func (a *snapshotService) List(ctx context.Context) ([]projections.Snapshot, error) {
	return a.s.List(ctx)
}

// Delete stops the snapshot's build here, if one runs, and drops it.
func (a *snapshotService) Delete(ctx context.Context, name string) error {
	a.mu.Lock()
	b := a.building[name]
	a.mu.Unlock()
	if b != nil {
		b.cancel()
		select {
		case <-b.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return a.s.Delete(ctx, name)
}

// ReadFrom makes the read models answer from a ready snapshot.
func (a *snapshotService) ReadFrom(ctx context.Context, name string) (context.Context, error) {
	schema, err := a.s.Serving(ctx, name)
	if err != nil {
		return nil, err
	}
	return projections.WithSnapshot(ctx, schema), nil
}
