// Package memrepo is an event-sourced repository held in memory, for the tests of the api slices.
// A Repo runs one aggregate type's Decide and Evolve the way the event store's repository does,
// without its I/O, and has the methods of the slices' repository ports: Execute, ExecuteFunc,
// Load, Peek and Inspect. Decisions on a Repo are serialized by one lock, as the event store
// serializes the appends to a stream.
//
// A Repo holds either each stream's state (New) or each stream's events (NewLog); see those for
// what the difference means to a test. Hooks (BeforeDecide, BeforeCommand, AfterCommand,
// AfterRead) run a test's function at a chosen point of a call, on the caller's goroutine and
// outside the lock, as a concurrent caller would: that is how a test builds an interleaving of two
// use cases. A hook may be set or replaced at any time, even while the Repo is in use; reading it
// orders no caller after another (the race detector sees the races between callers as they are).
//
// It is test support: only _test files import it.
package memrepo

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/belfry/belfry/api/chime/usecase"
)

// Repo is a repository of one aggregate type (state S, commands C, events E) in memory. The zero
// Repo is not usable: make one with New or NewLog.
type Repo[S, C, E any] struct {
	initial func() S
	evolve  func(S, E) S
	decide  func(S, C, time.Time) ([]E, error)
	log     bool // streams are held as events (NewLog), not states (New)

	mu      sync.Mutex
	states  map[string]S   // without log: each stream's state
	events  map[string][]E // with log: each stream's events
	appends int

	// The hooks are atomic, not under mu: a caller reading one must not be ordered after another
	// caller by it (the race detector would then miss a race a test is there to show).
	beforeDecide  atomic.Pointer[func(ctx context.Context, stream string)]
	beforeCommand atomic.Pointer[func(stream string, cmd C)]
	afterCommand  atomic.Pointer[func(stream string, cmd C)]
	afterRead     atomic.Pointer[func(stream string)]
}

// New is a repository that holds each stream's state, with the event store's semantics for
// states: a decision folds its events into the stream's state with evolve, in place (an Evolve
// that updates a map of the state changes the map that an earlier Load, Peek or State returned,
// as the store's cached state does), and stores it only when it appended events (a stream that no
// decision, Put or Append recorded into reads as a fresh initial() every time). Load's version is
// always 0. Inspect runs its function under the repository's lock, on the held state.
//
// initial is a stream's state before its first event; nil means S's zero value.
func New[S, C, E any](initial func() S, evolve func(S, E) S, decide func(S, C, time.Time) ([]E, error)) *Repo[S, C, E] {
	return &Repo[S, C, E]{initial: initial, evolve: evolve, decide: decide, states: map[string]S{}}
}

// NewLog is a repository that holds each stream's events and folds them from initial() on every
// read and every decision, so each caller gets a state folded for it (a decision's returned state
// too is a new fold of the whole stream, not the state it decided on). Load's version is the
// stream's number of events minus one (-1 for a stream with none). Inspect folds under the lock
// and runs its function after releasing it.
//
// initial is a stream's state before its first event; nil means S's zero value.
func NewLog[S, C, E any](initial func() S, evolve func(S, E) S, decide func(S, C, time.Time) ([]E, error)) *Repo[S, C, E] {
	return &Repo[S, C, E]{initial: initial, evolve: evolve, decide: decide, log: true, events: map[string][]E{}}
}

// BeforeDecide makes fn run at the start of every Execute and ExecuteFunc (after BeforeCommand's
// function), outside the lock, with the call's context and stream. nil removes it.
func (r *Repo[S, C, E]) BeforeDecide(fn func(ctx context.Context, stream string)) {
	r.beforeDecide.Store(&fn)
}

// BeforeCommand makes fn run at the start of every Execute (not ExecuteFunc), outside the lock,
// with the call's stream and command. nil removes it.
func (r *Repo[S, C, E]) BeforeCommand(fn func(stream string, cmd C)) {
	r.beforeCommand.Store(&fn)
}

// AfterCommand makes fn run at the end of every Execute (not ExecuteFunc) whose command was
// decided without error (whether or not it appended events), outside the lock. nil removes it.
func (r *Repo[S, C, E]) AfterCommand(fn func(stream string, cmd C)) {
	r.afterCommand.Store(&fn)
}

// AfterRead makes fn run at the end of every Load and Inspect (not Peek or State), once the
// stream was read, outside the lock. nil removes it.
func (r *Repo[S, C, E]) AfterRead(fn func(stream string)) {
	r.afterRead.Store(&fn)
}

// hook is the function p holds, nil when none was set.
func hook[F any](p *atomic.Pointer[F]) F {
	var none F
	if f := p.Load(); f != nil {
		return *f
	}
	return none
}

// state is the stream's state; the caller holds the lock.
func (r *Repo[S, C, E]) state(stream string) S {
	if !r.log {
		if s, ok := r.states[stream]; ok {
			return s
		}
		return r.fresh()
	}
	s := r.fresh()
	for _, e := range r.events[stream] {
		s = r.evolve(s, e)
	}
	return s
}

func (r *Repo[S, C, E]) fresh() S {
	if r.initial == nil {
		var zero S
		return zero
	}
	return r.initial()
}

// record appends evs to the stream whose state is s: with NewLog to its events (and is their fold
// from initial()), with New folded into s, stored when there were any (and is s after them). The
// caller holds the lock.
func (r *Repo[S, C, E]) record(stream string, s S, evs []E) S {
	if r.log {
		if len(evs) > 0 {
			r.events[stream] = append(r.events[stream], evs...)
		}
		return r.state(stream)
	}
	for _, e := range evs {
		s = r.evolve(s, e)
	}
	if len(evs) > 0 {
		r.states[stream] = s
	}
	return s
}

// Execute decides cmd on the stream's state with the repository's decide function and records
// the events it decided (see ExecuteFunc). It runs BeforeCommand's function first and, when the
// decision succeeded, AfterCommand's last.
func (r *Repo[S, C, E]) Execute(ctx context.Context, stream string, cmd C) (usecase.Decided[S, E], error) {
	if h := hook(&r.beforeCommand); h != nil {
		h(stream, cmd)
	}
	d, err := r.ExecuteFunc(ctx, stream, func(s S, now time.Time) ([]E, error) { return r.decide(s, cmd, now) })
	if h := hook(&r.afterCommand); err == nil && h != nil {
		h(stream, cmd)
	}
	return d, err
}

// ExecuteFunc runs BeforeDecide's function, then, under the lock, decides on the stream's state
// at time.Now() and records the events decided. A decision's error is returned as is, with
// nothing recorded. The Decided holds the stream's state after the events and the events
// (Position is zero). A decision that appended events counts in Appends.
func (r *Repo[S, C, E]) ExecuteFunc(ctx context.Context, stream string, decide func(S, time.Time) ([]E, error)) (usecase.Decided[S, E], error) {
	if h := hook(&r.beforeDecide); h != nil {
		h(ctx, stream)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.state(stream)
	evs, err := decide(s, time.Now())
	if err != nil {
		return usecase.Decided[S, E]{}, err
	}
	if len(evs) > 0 {
		r.appends++
	}
	return usecase.Decided[S, E]{State: r.record(stream, s, evs), Events: evs}, nil
}

// Load is the stream's state and version (see New and NewLog); then it runs AfterRead's function.
func (r *Repo[S, C, E]) Load(_ context.Context, stream string) (S, int64, error) {
	r.mu.Lock()
	s, v := r.state(stream), r.version(stream)
	r.mu.Unlock()
	if h := hook(&r.afterRead); h != nil {
		h(stream)
	}
	return s, v, nil
}

func (r *Repo[S, C, E]) version(stream string) int64 {
	if !r.log {
		return 0
	}
	return int64(len(r.events[stream])) - 1
}

// Peek is the stream's state, like Load without its version and hook.
func (r *Repo[S, C, E]) Peek(_ context.Context, stream string) (S, error) {
	return r.State(stream), nil
}

// Inspect runs fn on the stream's state (under the lock with New, after releasing it with NewLog;
// the bool is ignored: the state is always the latest) and returns fn's error; then it runs
// AfterRead's function.
func (r *Repo[S, C, E]) Inspect(_ context.Context, stream string, _ bool, fn func(S) error) error {
	var err error
	r.mu.Lock()
	if r.log {
		s := r.state(stream)
		r.mu.Unlock()
		err = fn(s)
	} else {
		err = fn(r.state(stream))
		r.mu.Unlock()
	}
	if h := hook(&r.afterRead); h != nil {
		h(stream)
	}
	return err
}

// State is the stream's state, as Peek returns it, for a test to read or set up (with New, a
// change to a map of a stored state changes the held state; with NewLog it is a fold of its own).
func (r *Repo[S, C, E]) State(stream string) S {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state(stream)
}

// Put makes s the stream's state, as a test's setup: no decision, hook or count. It is for a
// repository made with New; with NewLog, which holds events, it panics (use Append).
func (r *Repo[S, C, E]) Put(stream string, s S) {
	if r.log {
		panic("memrepo: Put on a repository made with NewLog; use Append")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.states[stream] = s
}

// Append records evs on the stream as though a decision had appended them, as a test's setup: no
// decision, hook or count.
func (r *Repo[S, C, E]) Append(stream string, evs ...E) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.record(stream, r.state(stream), evs)
}

// Range runs fn, under the lock, on every stream that holds a state (New) or events (NewLog) —
// that is, one a decision, Put or Append recorded into — in no particular order. fn must not call
// the repository.
func (r *Repo[S, C, E]) Range(fn func(stream string, s S)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.log {
		for stream := range r.events {
			fn(stream, r.state(stream))
		}
		return
	}
	for stream, s := range r.states {
		fn(stream, s)
	}
}

// Appends is the number of decisions (Execute or ExecuteFunc) that appended at least one event.
func (r *Repo[S, C, E]) Appends() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.appends
}
