package securitygroups_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/belfry/belfry/api/internal/memrepo"
	"github.com/belfry/belfry/api/wickr/securitygroups"
	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr/network"
	"github.com/belfry/belfry/domain/wickr/roster"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
	"github.com/belfry/belfry/projections/wickrnetworks"
	"github.com/belfry/belfry/projections/wickrusers"
)

const (
	testAccount = "123456789012"
	testRegion  = "eu-west-2"
	testNetwork = "12345678"
)

type netRepo = memrepo.Repo[network.State, network.Command, network.Event]

// groups is the networks read model's groups, read from the network's stream.
type groups struct{ networks *netRepo }

func (g groups) Group(_ context.Context, networkID, groupID string) (wickrnetworks.Group, error) {
	st := g.networks.State(network.StreamName(networkID))
	x, ok := st.Groups[groupID]
	if !ok {
		return wickrnetworks.Group{}, domain.Wrapf(network.ErrGroupNotFound, "Security group %s not found", groupID)
	}
	return wickrnetworks.Group{NetworkID: networkID, ID: x.ID, Name: x.Name, IsDefault: x.IsDefault, Settings: x.Settings, Modified: x.Modified}, nil
}

func (groups) Groups(context.Context, string, wickrnetworks.Page) ([]wickrnetworks.Group, string, error) {
	return nil, "", errors.New("not read in this test")
}

// noUsers is a users read model without users.
type noUsers struct{}

func (noUsers) GroupMembers(context.Context, string, []string) (map[string]int, error) {
	return map[string]int{}, nil
}
func (noUsers) GroupUsers(context.Context, string, string, wickrusers.UserPage) ([]wickrusers.User, string, error) {
	return nil, "", nil
}
func (noUsers) GroupBlocks(context.Context, string, string) ([]string, error) { return nil, nil }

func newService(t *testing.T) *securitygroups.Service {
	t.Helper()
	networks := memrepo.New(network.Initial, network.Evolve, network.Decide)
	rosters := memrepo.New(roster.Initial, roster.Evolve, roster.Decide)
	ryw := usecase.NewReadYourWrites(time.Second, nil)
	create := network.Create{NetworkID: testNetwork, Name: "Test", AwsAccountID: testAccount, Region: testRegion,
		AccessLevel: network.Premium, DefaultGroupID: "DefGroup"}
	if _, err := networks.Execute(context.Background(), network.StreamName(testNetwork), create); err != nil {
		t.Fatal(err)
	}
	return securitygroups.New(securitygroups.Deps{Networks: usecase.Networks{Repo: networks, RYW: ryw},
		Rosters: usecase.Rosters{Repo: rosters, RYW: ryw}, Groups: groups{networks}, Users: noUsers{}})
}

// TestCreateGroupTokenReuse: CreateSecurityGroup's X-Client-Token makes a retried request answer the
// group the first made, but it does not make another request (another name, other settings) answer
// that group as if it had created it, nor bring back a group deleted since.
func TestCreateGroupTokenReuse(t *testing.T) {
	svc := newService(t)
	ctx := context.Background()
	c := securitygroups.Caller{AwsAccountID: testAccount, Region: testRegion}
	first, err := svc.CreateGroup(ctx, c, testNetwork, "Alpha", sg.Patch{}, "token-1")
	if err != nil {
		t.Fatal(err)
	}
	again, err := svc.CreateGroup(ctx, c, testNetwork, "Alpha", sg.Patch{}, "token-1")
	if err != nil || again.ID != first.ID || again.Name != "Alpha" {
		t.Fatalf("the retried request answered %+v, %v; want group %s", again, err, first.ID)
	}
	if g, err := svc.CreateGroup(ctx, c, testNetwork, "Beta", sg.Patch{}, "token-1"); !errors.Is(err, network.ErrGroupToken) {
		t.Fatalf("another name under the same token answered group %s %q, %v; want it refused", g.ID, g.Name, err)
	}
	if g, err := svc.CreateGroup(ctx, c, testNetwork, "Alpha", sg.Patch{EnableAtak: ptr(true)}, "token-1"); !errors.Is(err, network.ErrGroupToken) {
		t.Fatalf("other settings under the same token answered group %s (ATAK %v), %v; want it refused", g.ID, g.Settings.EnableAtak, err)
	}
	if err := svc.Delete(ctx, c, testNetwork, first.ID); err != nil {
		t.Fatal(err)
	}
	if g, err := svc.CreateGroup(ctx, c, testNetwork, "Alpha", sg.Patch{}, "token-1"); !errors.Is(err, network.ErrGroupToken) {
		t.Fatalf("the token of a deleted group made group %s again, %v; want it refused", g.ID, err)
	}
}

func ptr[T any](v T) *T { return &v }
