package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/belfry/belfry/api/chime/calls"
	"github.com/belfry/belfry/domain/chime/call"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/infra/objstore"
)

const reportsUsage = `usage:
  belfry reports cdrs [--from T] [--to T] (--dir DIR | --bucket NAME [--endpoint URL]) [--workers N]
        write the Business Calling CDRs of the calls that ended in [from, to) (RFC 3339; default: all,
        until now), regenerated from the event log; objects already present with the same content are
        kept, so an interrupted run resumes where it stopped
  belfry reports generate --week YYYY-MM-DD [--dir DIR | --bucket NAME [--endpoint URL]] [--from-log]
        write the weekly usage reports of the week starting on that Sunday, regenerated from the event
        log: to each AWS account's usage-report bucket (recording the reports not yet recorded), or
        all of them to DIR or a bucket; objects already present with the same content are kept. The
        activity comes from the usage read model when it has caught up with the log within 5 s, else
        (or with --from-log) from a pass over the whole log: the same bytes`

// cmdReports runs the reports subcommands.
func cmdReports(ctx context.Context, cfg Config, args []string) error {
	if len(args) > 0 && args[0] == "generate" {
		return cmdReportsGenerate(ctx, cfg, args[1:])
	}
	if len(args) == 0 || args[0] != "cdrs" {
		return errors.New(reportsUsage)
	}
	fs := flag.NewFlagSet("reports cdrs", flag.ContinueOnError)
	from := fs.String("from", "", "first instant (RFC 3339)")
	to := fs.String("to", "", "end instant, exclusive (RFC 3339; default now)")
	dir := fs.String("dir", "", "directory target")
	bucket := fs.String("bucket", "", "S3 bucket target (credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)")
	endpoint := fs.String("endpoint", "", "S3-compatible endpoint URL (default AWS S3)")
	workers := fs.Int("workers", 8, "conferences read from the log at once")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	var tgt objstore.Target
	switch {
	case (*dir == "") == (*bucket == ""):
		return errors.New("give --dir or --bucket (exactly one)\n" + reportsUsage)
	case *dir != "":
		tgt = objstore.DirTarget{Dir: *dir, Name: "cdrs"}
	default:
		tgt = s3Target(*bucket, *endpoint, cfg.Region)
	}
	r, err := parseRange(*from, *to)
	if err != nil {
		return err
	}
	if *workers < 1 || *workers > 64 {
		return fmt.Errorf("--workers must be 1-64, not %d", *workers)
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
	g := cdrExport{pass: callsPass(client), out: tgt, workers: *workers, progress: os.Stderr}
	st, err := g.run(ctx, r.from, r.to)
	fmt.Fprintf(os.Stderr, "CDRs of %d calls: %d written, %d already present, %d calls not written (an event does not decode) (%.0f records/s)\n",
		st.calls.Load(), st.written.Load(), st.kept.Load(), st.failed.Load(), st.rate())
	return err
}

type timeRange struct{ from, to time.Time }

// parseRange reads --from and --to (RFC 3339; empty: the beginning, now).
func parseRange(fromS, toS string) (timeRange, error) {
	r := timeRange{to: time.Now()}
	for _, p := range []struct {
		s, flag string
		t       *time.Time
	}{{fromS, "--from", &r.from}, {toS, "--to", &r.to}} {
		if p.s == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, p.s)
		if err != nil {
			return r, fmt.Errorf("%s %q: give an RFC 3339 time such as 2025-01-31T14:00:00Z: %w", p.flag, p.s, err)
		}
		*p.t = t
	}
	if !r.from.Before(r.to) {
		return r, fmt.Errorf("--from %s must be before --to %s", r.from.Format(time.RFC3339), r.to.Format(time.RFC3339))
	}
	return r, nil
}

// callsPass is one filtered pass over the call streams of $all, up to the log's head now.
func callsPass(client *esdb.Client) func(ctx context.Context, fn func(*esdb.RecordedEvent) error) error {
	return func(ctx context.Context, fn func(*esdb.RecordedEvent) error) error {
		head, err := eventstore.Head(ctx, client)
		if err != nil {
			return err
		}
		return eventstore.Pass(ctx, client, []string{call.StreamPrefix}, 0, head, fn)
	}
}

// cdrExport regenerates CDRs from the log: one filtered pass over the call streams folds every
// conference (in $all order, each stream's events stay in order); a conference that ended in the
// range goes to the workers, which write its records. Only conferences still open are held. A
// conference with an event that does not decode holds back no other: its records are not written
// and the run's error names it, if it ended in the range or its end is unknown (cdrFold).
type cdrExport struct {
	pass     func(ctx context.Context, fn func(*esdb.RecordedEvent) error) error
	out      calls.Objects
	workers  int
	progress io.Writer
}

type cdrStats struct {
	calls, written, kept, failed atomic.Int64
	began                        time.Time
}

func (s *cdrStats) rate() float64 {
	return float64(s.written.Load()+s.kept.Load()) / max(time.Since(s.began).Seconds(), 1e-9)
}

func (g cdrExport) run(ctx context.Context, from, to time.Time) (*cdrStats, error) {
	st := &cdrStats{began: time.Now()}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	ended := make(chan call.State, 4*g.workers)
	var wg sync.WaitGroup
	for range g.workers {
		wg.Go(func() {
			for s := range ended {
				if err := g.one(ctx, s, st); err != nil {
					cancel(err)
				}
			}
		})
	}
	tick := time.Now()
	f := cdrFold{open: map[string]call.State{}, broken: map[string]error{}}
	err := g.pass(ctx, func(ev *esdb.RecordedEvent) error {
		s, ok := f.next(ev, from, to)
		if !ok {
			return nil
		}
		if time.Since(tick) > time.Second {
			tick = time.Now()
			fmt.Fprintf(g.progress, "… %d calls, %d CDRs written, %d already present\n", st.calls.Load(), st.written.Load(), st.kept.Load())
		}
		select {
		case ended <- s:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	})
	close(ended)
	wg.Wait()
	failed := f.unwritten()
	st.failed.Add(int64(len(failed)))
	return st, errors.Join(append([]error{err, context.Cause(ctx)}, failed...)...)
}

// cdrFold folds the conferences of a pass. A conference with an event that does not decode is
// broken: its records cannot be known, so it is never written; it is still followed, to learn
// whether it ended in the range.
type cdrFold struct {
	open   map[string]call.State
	broken map[string]error
	failed []error // broken conferences that ended in the range
}

// next folds ev and returns the conference it ended in [from, to), unless that one is broken.
func (f *cdrFold) next(ev *esdb.RecordedEvent, from, to time.Time) (call.State, bool) {
	id := strings.TrimPrefix(ev.StreamID, call.StreamPrefix)
	e, err := call.Decode(ev.EventType, ev.Data)
	if err != nil {
		if f.broken[id] == nil {
			f.broken[id] = fmt.Errorf("conference %s: its CDRs are not written: the event at position %d (%s) does not decode: %w",
				id, ev.Position.Commit, ev.EventType, err)
		}
		if _, ok := f.open[id]; !ok {
			f.open[id] = call.State{} // followed until it ends
		}
		return call.State{}, false
	}
	s := call.Evolve(f.open[id], e)
	if s.Ended.IsZero() {
		f.open[id] = s
		return s, false
	}
	delete(f.open, id)
	bad := f.broken[id]
	delete(f.broken, id)
	if s.Ended.Before(from) || !s.Ended.Before(to) {
		return s, false
	}
	if bad != nil {
		f.failed = append(f.failed, bad)
		return s, false
	}
	return s, true
}

// unwritten are the broken conferences that ended in the range, and those whose end is unknown
// (still open at the end of the pass: the event that ended them may be the one that does not decode).
func (f *cdrFold) unwritten() []error {
	out := f.failed
	for _, id := range slices.Sorted(maps.Keys(f.broken)) {
		out = append(out, f.broken[id])
	}
	return out
}

func (g cdrExport) one(ctx context.Context, s call.State, st *cdrStats) error {
	n, err := calls.PutCDRs(ctx, g.out, s)
	st.calls.Add(1)
	st.written.Add(int64(n))
	st.kept.Add(int64(len(s.Legs) - n))
	return err
}
