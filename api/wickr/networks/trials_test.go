package networks_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry/api/internal/memrepo"
	"github.com/belfry/belfry/api/wickr/networks"
	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/domain/wickr/account"
	"github.com/belfry/belfry/domain/wickr/network"
)

const (
	testAccount = "123456789012"
	testRegion  = "us-east-1"
)

// TestTrialGrantOfADeletedNetworkIsGivenBack: a plan change to the Premium free trial records the
// account's grant, then changes the network's plan. A deletion of the network between the two steps
// makes the plan change refuse: the network never was on the trial, so the account's one trial is
// not used up — another network of the account can still have it.
func TestTrialGrantOfADeletedNetworkIsGivenBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	nets := memrepo.New(network.Initial, network.Evolve, network.Decide)
	accts := memrepo.New(account.Initial, account.Evolve, account.Decide)
	ryw := usecase.NewReadYourWrites(time.Second, nil)
	svc := networks.New(networks.Deps{Networks: usecase.Networks{Repo: nets, RYW: ryw}, Accounts: usecase.Accounts{Repo: accts, RYW: ryw}})
	first, err := svc.CreateNetwork(ctx, testAccount, testRegion, networks.CreateInput{Name: "First", AccessLevel: network.Standard})
	if err != nil {
		t.Fatal(err)
	}
	second, err := svc.CreateNetwork(ctx, testAccount, testRegion, networks.CreateInput{Name: "Second", AccessLevel: network.Standard})
	if err != nil {
		t.Fatal(err)
	}

	// The deletion runs once the account granted the trial to the first network.
	var once sync.Once
	accts.AfterCommand(func(_ string, cmd account.Command) {
		if g, ok := cmd.(account.GrantTrial); ok && g.NetworkID == first.ID {
			once.Do(func() {
				if err := svc.DeleteNetwork(ctx, testAccount, testRegion, first.ID); err != nil {
					t.Errorf("delete: %v", err)
				}
			})
		}
	})
	trial := true
	err = svc.UpdateNetwork(ctx, testAccount, testRegion, first.ID, networks.UpdateInput{Name: "First", Trial: &trial})
	if !errors.Is(err, network.ErrNotFound) && !errors.Is(err, network.ErrDeleting) {
		t.Fatalf("the plan change of a network deleted meanwhile: %v", err)
	}
	if err := svc.UpdateNetwork(ctx, testAccount, testRegion, second.ID, networks.UpdateInput{Name: "Second", Trial: &trial}); err != nil {
		t.Fatalf("the account's trial was used up by a network that never had it: %v", err)
	}
	n, _, _ := nets.Load(ctx, network.StreamName(second.ID))
	a, _, _ := accts.Load(ctx, account.StreamName(testAccount))
	if !n.Trial || a.TrialNetwork != second.ID || a.Blocked {
		t.Fatalf("the second network: trial %v; the account's trial network %q, blocked %v", n.Trial, a.TrialNetwork, a.Blocked)
	}
}
