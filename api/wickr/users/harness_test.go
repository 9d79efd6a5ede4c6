package users_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/api/wickr/users"
	"github.com/belfry/belfry/domain/wickr/directory"
	"github.com/belfry/belfry/domain/wickr/network"
	"github.com/belfry/belfry/domain/wickr/roster"
	"github.com/belfry/belfry/projections/wickrnetworks"
	"github.com/belfry/belfry/projections/wickrusers"
)

// memRepo is a repository of one aggregate type in memory (the event store's semantics without
// its I/O): decisions fold their events into the stream's state; appends counts the decisions that
// appended events.
type memRepo[S, C, E any] struct {
	mu      sync.Mutex
	states  map[string]S
	appends int
	initial func() S
	evolve  func(S, E) S
	decide  func(S, C, time.Time) ([]E, error)
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
	return r.ExecuteFunc(ctx, stream, func(s S, now time.Time) ([]E, error) { return r.decide(s, cmd, now) })
}

func (r *memRepo[S, C, E]) ExecuteFunc(_ context.Context, stream string, decide func(S, time.Time) ([]E, error)) (usecase.Decided[S, E], error) {
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
		r.appends++
	}
	return usecase.Decided[S, E]{State: s, Events: evs}, nil
}

func (r *memRepo[S, C, E]) Load(_ context.Context, stream string) (S, int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state(stream), 0, nil
}

func (r *memRepo[S, C, E]) Peek(ctx context.Context, stream string) (S, error) {
	s, _, err := r.Load(ctx, stream)
	return s, err
}

func (r *memRepo[S, C, E]) Inspect(_ context.Context, stream string, _ bool, fn func(S) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fn(r.state(stream))
}

// noStore is a read model that is never read by the use cases under test.
type noStore struct{}

func (noStore) User(context.Context, string, string) (wickrusers.User, error) {
	return wickrusers.User{}, fmt.Errorf("not read in this test")
}
func (noStore) Users(context.Context, string, wickrusers.UserFilter, wickrusers.UserPage) ([]wickrusers.User, string, error) {
	return nil, "", fmt.Errorf("not read in this test")
}
func (noStore) Unames(context.Context, string, []string) (map[string]string, error) {
	return nil, fmt.Errorf("not read in this test")
}
func (noStore) Counts(context.Context, string) (wickrusers.Counts, error) {
	return wickrusers.Counts{}, fmt.Errorf("not read in this test")
}
func (noStore) Network(context.Context, string, string, string) (wickrnetworks.Network, error) {
	return wickrnetworks.Network{}, fmt.Errorf("not read in this test")
}

const (
	testAccount = "123456789012"
	testRegion  = "us-east-1"
	testNetwork = "12345678"
	testGroup   = "DefGroup"
)

// harness is the users slice over repositories in memory.
type harness struct {
	svc      *users.Service
	networks *memRepo[network.State, network.Command, network.Event]
	rosters  *memRepo[roster.State, roster.Command, roster.Event]
	dirs     *memRepo[directory.State, directory.Command, directory.Event]
}

// newHarness is the slice with one network of the test account (on the Premium free trial when trial).
func newHarness(t *testing.T, trial bool) *harness {
	t.Helper()
	h := &harness{
		networks: newRepo(network.Initial, network.Evolve, network.Decide),
		rosters:  newRepo(roster.Initial, roster.Evolve, roster.Decide),
		dirs:     newRepo(directory.Initial, directory.Evolve, directory.Decide),
	}
	ryw := usecase.NewReadYourWrites(time.Second, nil)
	h.svc = users.New(users.Deps{
		Networks:    usecase.Networks{Repo: h.networks, RYW: ryw},
		Rosters:     usecase.Rosters{Repo: h.rosters, RYW: ryw},
		Directories: usecase.Directories{Repo: h.dirs, RYW: ryw},
		Store:       noStore{}, NetworkStore: noStore{},
	})
	create := network.Create{NetworkID: testNetwork, Name: "Test", AwsAccountID: testAccount, Region: testRegion,
		AccessLevel: network.Standard, EnablePremiumFreeTrial: trial, DefaultGroupID: testGroup}
	if _, err := h.networks.Execute(context.Background(), network.StreamName(testNetwork), create); err != nil {
		t.Fatal(err)
	}
	return h
}

// items are n new users user<from+i>@example.com of the default group.
func items(from, n int) []roster.NewUser {
	out := make([]roster.NewUser, n)
	for i := range out {
		out[i] = roster.NewUser{Username: fmt.Sprintf("user%d@example.com", from+i), SecurityGroupIDs: []string{testGroup}}
	}
	return out
}

func (h *harness) seats(t *testing.T) int {
	t.Helper()
	st, _, _ := h.networks.Load(context.Background(), network.StreamName(testNetwork))
	return st.Seats
}
