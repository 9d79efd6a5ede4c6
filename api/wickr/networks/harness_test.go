package networks_test

import (
	"context"
	"sync"
	"time"

	"github.com/belfry/belfry/api/wickr/usecase"
)

// memRepo is a repository of one aggregate type in memory with the event store's semantics for
// states: a decision evolves the stream's state in place (Evolve updates maps of a state in place),
// and Load returns that same state, whose maps later decisions change. The hooks run outside the
// repository's lock, as concurrent callers would: before ahead of a command of Execute or
// ExecuteFunc, after once Execute appended, read once Load or Inspect read a stream.
type memRepo[S, C, E any] struct {
	mu      sync.Mutex
	states  map[string]S
	initial func() S
	evolve  func(S, E) S
	decide  func(S, C, time.Time) ([]E, error)

	before func(ctx context.Context, stream string)
	after  func(stream string, cmd C)
	read   func(stream string)
}

func newRepo[S, C, E any](initial func() S, evolve func(S, E) S, decide func(S, C, time.Time) ([]E, error)) *memRepo[S, C, E] {
	return &memRepo[S, C, E]{states: map[string]S{}, initial: initial, evolve: evolve, decide: decide}
}

func (r *memRepo[S, C, E]) state(stream string) S {
	if s, ok := r.states[stream]; ok {
		return s
	}
	return r.initial()
}

func (r *memRepo[S, C, E]) Execute(ctx context.Context, stream string, cmd C) (usecase.Decided[S, E], error) {
	d, err := r.ExecuteFunc(ctx, stream, func(s S, now time.Time) ([]E, error) { return r.decide(s, cmd, now) })
	if err == nil && r.after != nil {
		r.after(stream, cmd)
	}
	return d, err
}

func (r *memRepo[S, C, E]) ExecuteFunc(ctx context.Context, stream string, decide func(S, time.Time) ([]E, error)) (usecase.Decided[S, E], error) {
	if r.before != nil {
		r.before(ctx, stream)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.state(stream)
	evs, err := decide(s, time.Now())
	if err != nil {
		return usecase.Decided[S, E]{}, err
	}
	for _, e := range evs {
		s = r.evolve(s, e)
	}
	if len(evs) > 0 {
		r.states[stream] = s
	}
	return usecase.Decided[S, E]{State: s, Events: evs}, nil
}

func (r *memRepo[S, C, E]) Load(_ context.Context, stream string) (S, int64, error) {
	r.mu.Lock()
	s := r.state(stream)
	r.mu.Unlock()
	if r.read != nil {
		r.read(stream)
	}
	return s, 0, nil
}

func (r *memRepo[S, C, E]) Peek(_ context.Context, stream string) (S, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state(stream), nil
}

func (r *memRepo[S, C, E]) Inspect(_ context.Context, stream string, _ bool, fn func(S) error) error {
	r.mu.Lock()
	err := fn(r.state(stream))
	r.mu.Unlock()
	if r.read != nil {
		r.read(stream)
	}
	return err
}
