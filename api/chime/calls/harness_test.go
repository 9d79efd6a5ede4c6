package calls_test

import (
	"context"
	"sync"
	"time"

	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/call"
	"github.com/belfry/belfry/domain/chime/meeting"
	"github.com/belfry/belfry/projections/chimenumbers"
)

// repo runs an aggregate's commands on states in memory, with the domain's Decide and Evolve.
type repo[S, C, E any] struct {
	decide func(S, C, time.Time) ([]E, error)
	evolve func(S, E) S
	mu     sync.Mutex
	states map[string]S
}

func newRepo[S, C, E any](decide func(S, C, time.Time) ([]E, error), evolve func(S, E) S) *repo[S, C, E] {
	return &repo[S, C, E]{decide: decide, evolve: evolve, states: map[string]S{}}
}

func (r *repo[S, C, E]) Execute(ctx context.Context, stream string, cmd C) (usecase.Decided[S, E], error) {
	return r.ExecuteFunc(ctx, stream, func(s S, now time.Time) ([]E, error) { return r.decide(s, cmd, now) })
}

func (r *repo[S, C, E]) ExecuteFunc(_ context.Context, stream string, decide func(S, time.Time) ([]E, error)) (usecase.Decided[S, E], error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.states[stream]
	evs, err := decide(s, time.Now())
	if err != nil {
		return usecase.Decided[S, E]{}, err
	}
	for _, e := range evs {
		s = r.evolve(s, e)
	}
	r.states[stream] = s
	return usecase.Decided[S, E]{State: s, Events: evs}, nil
}

func (r *repo[S, C, E]) Load(_ context.Context, stream string) (S, int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.states[stream], 0, nil
}

func (r *repo[S, C, E]) Peek(ctx context.Context, stream string) (S, error) {
	s, _, err := r.Load(ctx, stream)
	return s, err
}

func (r *repo[S, C, E]) Inspect(ctx context.Context, stream string, _ bool, fn func(S) error) error {
	s, _, _ := r.Load(ctx, stream)
	return fn(s)
}

func newCallRepo() *repo[call.State, call.Command, call.Event] {
	return newRepo(call.Decide, call.Evolve)
}

func newMeetingRepo() *repo[meeting.State, meeting.Command, meeting.Event] {
	return newRepo(meeting.Decide, meeting.Evolve)
}

// accounts is one account of an AWS account, dial-out enabled.
type accounts struct{ aws string }

func (a accounts) Peek(context.Context, string) (account.State, error) {
	return account.State{AwsAccountID: a.aws}, nil
}

func (a accounts) Load(context.Context, string) (account.State, int64, error) {
	return account.State{AwsAccountID: a.aws, Settings: account.Settings{EnableDialOut: true}}, 0, nil
}

// inventory holds every number.
type inventory struct{}

func (inventory) Get(_ context.Context, _, e164 string, _ time.Time) (chimenumbers.Number, error) {
	return chimenumbers.Number{}, nil
}

type logger struct{}

func (logger) Warn(string, ...any) {}
