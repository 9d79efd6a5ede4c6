package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/projections"
)

// defaultCatchUpStall is how long a CLI command's catch-up of the read models waits without any of
// them advancing before it gives up (--catch-up-stall).
const defaultCatchUpStall = time.Minute

// catchUpGrace bounds the wait for a runner (or a read of the log's head) a catch-up gave up on to
// stop: the log's client can outlast its context by far when the log does not answer (its discovery
// attempts take about 50 s).
const catchUpGrace = 5 * time.Second

// errCatchUpStalled is a catch-up that gave up: a read model made no progress for the bound (stuck on
// an event it keeps failing to apply, a database it cannot write, a log it cannot read), or the log
// did not answer.
var errCatchUpStalled = errors.New("catch-up stalled")

// catchUpFlag registers --catch-up-stall on fs: a duration, not negative (0: wait for ever).
func catchUpFlag(fs *flag.FlagSet) *time.Duration {
	d := defaultCatchUpStall
	fs.Var(stallFlag{&d}, "catch-up-stall",
		"give up catching the read models up with the log once none has advanced for this long (0: wait for ever)")
	return &d
}

// stallFlag is --catch-up-stall's value: a negative duration is refused (it meant "wait for ever"
// by accident).
type stallFlag struct{ d *time.Duration }

func (s stallFlag) String() string {
	if s.d == nil {
		return defaultCatchUpStall.String()
	}
	return s.d.String()
}

func (s stallFlag) Set(v string) error {
	d, err := time.ParseDuration(v)
	if err != nil {
		return err
	}
	if d < 0 {
		return errors.New("must not be negative (0: wait for ever)")
	}
	*s.d = d
	return nil
}

// catchUpper catches read models up with the log in this process before a CLI command reads them.
// A catch-up that keeps advancing is never cut short, however long the log.
type catchUpper struct {
	// stall gives up once the read model being caught up has not advanced for this long, and bounds
	// the read of the log's head (0: neither).
	stall time.Duration
	// out receives the progress (nil: none); tick is how often it is shown and the stall checked
	// (default 1s).
	out  io.Writer
	tick time.Duration
}

// newCatchUpper is the catch-up of a CLI command: progress on stderr.
func newCatchUpper(stall time.Duration, out io.Writer) catchUpper {
	return catchUpper{stall: stall, out: out, tick: time.Second}
}

// run catches each projection up with the log's head as it is now (a stale schema version rebuilt
// first), one at a time, each with a runner of its own stopped once it is there. Every tick it shows
// which read model it is at and where it stands; it gives up with an error matching
// errCatchUpStalled — naming the read model, where it stopped and the runner's last error — once the
// read model has not advanced for c.stall, and when the log does not answer the read of its head
// within c.stall. A read model that has parked events (it moved past events it could not apply)
// caught up all the same, and is named in a warning.
func (c catchUpper) run(ctx context.Context, pool *pgxpool.Pool, client *esdb.Client, ps ...projections.Projection) error {
	if c.tick <= 0 {
		c.tick = time.Second
	}
	head, err := c.readHead(ctx, client)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if err := c.one(ctx, pool, client, p, head); err != nil {
			return err
		}
	}
	c.warnParked(ctx, pool, ps)
	return nil
}

// readHead reads the log's head, showing every tick that it waits, and gives up after c.stall: the
// client's own retries outlast its context by far when the log does not answer.
func (c catchUpper) readHead(ctx context.Context, client *esdb.Client) (uint64, error) {
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		head uint64
		err  error
	}
	res := make(chan result, 1) // the read may end after this returns
	go func() { h, err := headPosition(hctx, client); res <- result{h, err} }()
	t := time.NewTicker(c.tick)
	defer t.Stop()
	for start := time.Now(); ; {
		select {
		case r := <-res:
			if r.err != nil {
				return 0, fmt.Errorf("catching the read models up: reading the event log's head (is the log reachable?): %w", r.err)
			}
			return r.head, nil
		case <-ctx.Done():
			return 0, fmt.Errorf("catching the read models up: reading the event log's head: %w", ctx.Err())
		case <-t.C:
		}
		waited := time.Since(start)
		if c.out != nil {
			fmt.Fprintf(c.out, "\rcatching up: the event log has not answered for %s", waited.Round(time.Second))
		}
		if c.stall > 0 && waited >= c.stall {
			if c.out != nil {
				fmt.Fprintln(c.out)
			}
			return 0, fmt.Errorf("catching the read models up: %w: the event log did not answer within %s (--catch-up-stall); is it reachable?",
				errCatchUpStalled, c.stall)
		}
	}
}

// one catches one projection up with head.
func (c catchUpper) one(ctx context.Context, pool *pgxpool.Pool, client *esdb.Client, p projections.Projection, head uint64) error {
	_, stale, err := projections.Ensure(ctx, pool, p)
	if err != nil {
		return err
	}
	if stale { // the runner would rebuild it without a word: rebuild it here, watched
		var reached atomic.Uint64
		err := c.watch(ctx, p.Name()+" (rebuilding)", head, reached.Load, nil, func(ctx context.Context) error {
			return projections.Rebuild(ctx, pool, client, p, func(pos uint64, _ int64) { reached.Store(pos) })
		})
		if err != nil {
			return err
		}
	}
	last := &lastWarning{}
	r := projections.NewRunner(pool, client, p, projections.RunnerConfig{Logger: slog.New(last)})
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(rctx) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(catchUpGrace):
		}
	}()
	return c.watch(ctx, p.Name(), head, r.Position, last, func(ctx context.Context) error { return r.WaitFor(ctx, head) })
}

// watch runs wait, showing every tick where pos stands against head, and gives up — cancelling wait,
// and waiting for it at most catchUpGrace — once pos has not moved for c.stall; last, when set, is
// the runner's last warning, for the error.
func (c catchUpper) watch(ctx context.Context, name string, head uint64, pos func() uint64, last *lastWarning, wait func(context.Context) error) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	res := make(chan error, 1)
	go func() { res <- wait(wctx) }()
	t := time.NewTicker(c.tick)
	defer t.Stop()
	at, since, shown := pos(), time.Now(), false
	for {
		select {
		case err := <-res:
			if shown {
				c.show(name, pos(), head, 0, "\n")
			}
			if err != nil {
				return fmt.Errorf("catching up read model %s: %w", name, err)
			}
			return nil
		case <-t.C:
		}
		if p := pos(); p != at {
			at, since = p, time.Now()
		}
		idle := time.Since(since)
		c.show(name, at, head, idle, "")
		shown = true
		if c.stall > 0 && idle >= c.stall {
			cancel()
			select {
			case <-res:
			case <-time.After(catchUpGrace):
			}
			c.show(name, at, head, idle, "\n")
			return fmt.Errorf("catching up read model %s: %w: no progress for %s (--catch-up-stall) at position %d of the log's %d (last error: %s); see belfry projections status",
				name, errCatchUpStalled, c.stall.Round(time.Millisecond), at, head, last)
		}
	}
}

// show writes one progress line (over the previous one), ended by end.
func (c catchUpper) show(name string, at, head uint64, idle time.Duration, end string) {
	if c.out == nil {
		return
	}
	stalled := ""
	if idle >= c.tick {
		stalled = fmt.Sprintf(", no progress for %s", idle.Round(time.Second))
	}
	fmt.Fprintf(c.out, "\rcatching up read model %s: position %d of %d%s%s", name, at, head, stalled, end)
}

// warnParked names the read models among ps that have parked events.
func (c catchUpper) warnParked(ctx context.Context, pool *pgxpool.Pool, ps []projections.Projection) {
	if c.out == nil {
		return
	}
	st, err := projections.Statuses(ctx, pool)
	if err != nil {
		return
	}
	for _, s := range st {
		for _, p := range ps {
			if s.Name == p.Name() && s.Parked > 0 {
				fmt.Fprintf(c.out, "warning: read model %s has %d parked events it could not apply and moved past (belfry projections status; belfry projections retry %s)\n",
					s.Name, s.Parked, s.Name)
			}
		}
	}
}

// lastWarning is a slog handler that keeps a runner's last warning with its error: why the read model
// stopped, for the error of a catch-up that gives up.
type lastWarning struct {
	mu  sync.Mutex
	msg string
}

func (h *lastWarning) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (h *lastWarning) Handle(_ context.Context, r slog.Record) error {
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" {
			msg += ": " + a.Value.String()
		}
		return true
	})
	h.mu.Lock()
	h.msg = msg
	h.mu.Unlock()
	return nil
}

func (h *lastWarning) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *lastWarning) WithGroup(string) slog.Handler      { return h }

// String is the last warning ("none" before the first, and for no handler).
func (h *lastWarning) String() string {
	if h == nil {
		return "none"
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.msg == "" {
		return "none"
	}
	return h.msg
}
