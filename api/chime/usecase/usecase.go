package usecase

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Decided is what a command decided: the stream's resulting state, the events appended, and the $all
// position of the last one (0 when nothing was appended).
type Decided[S, E any] struct {
	State    S
	Events   []E
	Position uint64
}

// Repository runs the commands of one aggregate type (infra/eventstore's Repository behind an adapter).
type Repository[S, C, E any] interface {
	Execute(ctx context.Context, stream string, cmd C) (Decided[S, E], error)
	// ExecuteFunc is Execute with the caller's decision function (it may run more than once).
	ExecuteFunc(ctx context.Context, stream string, decide func(S, time.Time) ([]E, error)) (Decided[S, E], error)
	// Load folds the stream: its state and revision (-1: no stream).
	Load(ctx context.Context, stream string) (S, int64, error)
	// Peek answers from the repository's cache when it can: only for facts that never change once set.
	Peek(ctx context.Context, stream string) (S, error)
	// Inspect runs fn on the stream's state under the stream's lock (with latest, read up to the
	// stream's end; else the cached one when there is one); fn only reads it. For early refusals,
	// never instead of a decision.
	Inspect(ctx context.Context, stream string, latest bool, fn func(S) error) error
}

// Waiter waits until a read model has applied a position.
type Waiter interface {
	WaitFor(ctx context.Context, pos uint64) error
}

// ReadYourWrites bounds the wait for read models and counts the waits that ran out.
type ReadYourWrites struct {
	wait     time.Duration
	timeouts prometheus.Counter
}

// NewReadYourWrites waits at most wait (default 5 s) and registers
// belfry_read_your_writes_timeouts_total with reg (nil: not registered).
func NewReadYourWrites(wait time.Duration, reg prometheus.Registerer) *ReadYourWrites {
	if wait <= 0 {
		wait = 5 * time.Second
	}
	r := &ReadYourWrites{wait: wait, timeouts: prometheus.NewCounter(prometheus.CounterOpts{Name: "belfry_read_your_writes_timeouts_total",
		Help: "Mutations answered before their read models caught up."})}
	if reg != nil {
		reg.MustRegister(r.timeouts)
	}
	return r
}

// Timeouts is belfry_read_your_writes_timeouts_total.
func (r *ReadYourWrites) Timeouts() prometheus.Counter { return r.timeouts }

// Wait is the bound of one wait (ReadModelWait).
func (r *ReadYourWrites) Wait() time.Duration { return r.wait }

// Await waits, at most ReadModelWait, until w has applied pos; false means it has not (the timeout
// is counted), and the caller then answers from the decided state.
func (r *ReadYourWrites) Await(ctx context.Context, w Waiter, pos uint64) bool {
	if pos == 0 {
		return true
	}
	wctx, cancel := context.WithTimeout(ctx, r.wait)
	defer cancel()
	if err := w.WaitFor(wctx, pos); err != nil {
		r.timeouts.Inc()
		return false
	}
	return true
}

// Aggregate is one aggregate type's command path as a slice uses it: its repository, the read model
// that serves its reads, and the bounded wait between them.
type Aggregate[S, C, E any] struct {
	Repo Repository[S, C, E]
	RM   Waiter
	RYW  *ReadYourWrites
}

// Command is one command on one stream, ready to Run: an optional check, the execution, the wait.
type Command[S, E any] struct {
	check func(context.Context) error
	exec  func(context.Context) (Decided[S, E], error)
	rm    Waiter
	ryw   *ReadYourWrites
}

// Command prepares cmd on stream.
func (a Aggregate[S, C, E]) Command(stream string, cmd C) Command[S, E] {
	return Command[S, E]{rm: a.RM, ryw: a.RYW, exec: func(ctx context.Context) (Decided[S, E], error) {
		return a.Repo.Execute(ctx, stream, cmd)
	}}
}

// Decision prepares a decision function of the caller's on stream (see Repository.ExecuteFunc).
func (a Aggregate[S, C, E]) Decision(stream string, decide func(S, time.Time) ([]E, error)) Command[S, E] {
	return Command[S, E]{rm: a.RM, ryw: a.RYW, exec: func(ctx context.Context) (Decided[S, E], error) {
		return a.Repo.ExecuteFunc(ctx, stream, decide)
	}}
}

// Execute runs cmd on stream and waits for the read model (see Command.Do).
func (a Aggregate[S, C, E]) Execute(ctx context.Context, stream string, cmd C) (Decided[S, E], bool, error) {
	return a.Command(stream, cmd).Do(ctx)
}

// After makes check (typically the own-account check) run first; its error refuses the command.
func (c Command[S, E]) After(check func(context.Context) error) Command[S, E] {
	c.check = check
	return c
}

// Do runs the check, executes the command and waits, at most ReadModelWait, for the read model;
// fresh reports whether the read model applied the command's events in time.
func (c Command[S, E]) Do(ctx context.Context) (d Decided[S, E], fresh bool, err error) {
	if c.check != nil {
		if err := c.check(ctx); err != nil {
			return d, false, err
		}
	}
	if d, err = c.exec(ctx); err != nil {
		return d, false, err
	}
	return d, c.ryw.Await(ctx, c.rm, d.Position), nil
}

// Run is the one sequence of a mutating use case: check → execute → wait (bounded) → answer. The
// answer is read back through fromRM when the read model caught up, and built by fromDecided from
// the decided state when it is late (or when fromRM is nil); a nil fromDecided answers R's zero value.
func Run[S, E, R any](ctx context.Context, c Command[S, E], fromRM func(context.Context) (R, error), fromDecided func(Decided[S, E]) (R, error)) (R, error) {
	var zero R
	d, fresh, err := c.Do(ctx)
	switch {
	case err != nil:
		return zero, err
	case fresh && fromRM != nil:
		return fromRM(ctx)
	case fromDecided != nil:
		return fromDecided(d)
	}
	return zero, nil
}

// Exec is Run for a use case that answers nothing but its error.
func Exec[S, E any](ctx context.Context, c Command[S, E]) error {
	_, _, err := c.Do(ctx)
	return err
}
