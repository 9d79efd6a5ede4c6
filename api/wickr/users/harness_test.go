package users_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/belfry/belfry/api/internal/memrepo"
	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/api/wickr/users"
	"github.com/belfry/belfry/domain/wickr/directory"
	"github.com/belfry/belfry/domain/wickr/network"
	"github.com/belfry/belfry/domain/wickr/roster"
	"github.com/belfry/belfry/projections/wickrnetworks"
	"github.com/belfry/belfry/projections/wickrusers"
)

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
	networks *memrepo.Repo[network.State, network.Command, network.Event]
	rosters  *memrepo.Repo[roster.State, roster.Command, roster.Event]
	dirs     *memrepo.Repo[directory.State, directory.Command, directory.Event]
}

// newHarness is the slice with one network of the test account (on the Premium free trial when trial).
func newHarness(t *testing.T, trial bool) *harness {
	t.Helper()
	h := &harness{
		networks: memrepo.New(network.Initial, network.Evolve, network.Decide),
		rosters:  memrepo.New(roster.Initial, roster.Evolve, roster.Decide),
		dirs:     memrepo.New(directory.Initial, directory.Evolve, directory.Decide),
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
