package sso

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry/api/internal/memrepo"
	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/domain/wickr/directory"
	"github.com/belfry/belfry/domain/wickr/network"
)

const (
	testAWS, testRegion = "123456789012", "us-east-1"
	netA, netB          = "11111111", "22222222"
)

// ssoHarness is the slice over repositories in memory, with networks A and B; A has company id
// Acme_X.
func ssoHarness(t *testing.T) (*Service, *memrepo.Repo[network.State, network.Command, network.Event], *memrepo.Repo[directory.State, directory.Command, directory.Event]) {
	t.Helper()
	ctx := context.Background()
	nets := memrepo.NewLog(network.Initial, network.Evolve, network.Decide)
	claims := memrepo.NewLog(directory.Initial, directory.Evolve, directory.Decide)
	ryw := usecase.NewReadYourWrites(time.Second, nil)
	s := New(Deps{Networks: usecase.Networks{Repo: nets, RYW: ryw}, Claims: claims})
	for _, id := range []string{netA, netB} {
		if _, err := nets.Execute(ctx, network.StreamName(id), network.Create{NetworkID: id, Name: "Net " + id, AwsAccountID: testAWS, Region: testRegion,
			AccessLevel: network.Premium, DefaultGroupID: "G" + id}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Register(ctx, testAWS, testRegion, netA, oidcInput("Acme_X")); err != nil {
		t.Fatal(err)
	}
	return s, nets, claims
}

func oidcInput(companyID string) RegisterInput {
	return RegisterInput{CompanyID: companyID, Issuer: "https://idp.example.com", Scopes: "openid email", UserID: "belfry-client"}
}

// checkXIsAsAndYIsFree: network A has Acme_X, which B cannot claim; Acme_Y, which A left, is free.
func checkXIsAsAndYIsFree(t *testing.T, s *Service) {
	t.Helper()
	ctx := context.Background()
	info, err := s.Info(ctx, testAWS, testRegion, netA)
	if err != nil || info.CompanyID != "Acme_X" {
		t.Fatalf("network %s: %+v, %v", netA, info, err)
	}
	if _, err := s.Register(ctx, testAWS, testRegion, netB, oidcInput("Acme_X")); !errors.Is(err, directory.ErrTaken) {
		t.Fatalf("network %s registers network %s's company id: %v", netB, netA, err)
	}
	if _, err := s.Register(ctx, testAWS, testRegion, netB, oidcInput("Acme_Y")); err != nil {
		t.Fatalf("the company id network %s left is free: %v", netA, err)
	}
}

// TestReleaseLeavesACompanyIDRegisteredAgain: a network changes its company id from X to Y while
// another registration of the same network sets X again. The second one claims X — which the
// network still holds — and only then records its configuration; in between, the first records Y
// and releases X. The release must not free X under the registration that is about to record it:
// the network would have X with no claim, and another network could claim X too. (The second
// registration, overtaken, claims X again and records it.)
func TestReleaseLeavesACompanyIDRegisteredAgain(t *testing.T) {
	s, nets, _ := ssoHarness(t)
	// The change to Y runs whole once the registration of X claimed it, before it records it.
	type again struct{}
	var once sync.Once
	nets.BeforeDecide(func(ctx context.Context, _ string) {
		if ctx.Value(again{}) == nil {
			return
		}
		once.Do(func() {
			if _, err := s.Register(context.Background(), testAWS, testRegion, netA, oidcInput("Acme_Y")); err != nil {
				t.Errorf("the change to Y: %v", err)
			}
		})
	})
	if _, err := s.Register(context.WithValue(context.Background(), again{}, true), testAWS, testRegion, netA, oidcInput("Acme_X")); err != nil {
		t.Fatalf("the registration of X again: %v", err)
	}
	checkXIsAsAndYIsFree(t, s)
}

// TestReleaseLeavesAClaimMadeAfterTheChange: the other order. The change to Y records Y; before it
// releases X, a registration of X again reads the network (at Y), claims X and is about to record
// it. The release must leave X: the registration will record it.
func TestReleaseLeavesAClaimMadeAfterTheChange(t *testing.T) {
	s, nets, claims := ssoHarness(t)
	type change struct{}
	type again struct{}
	claimed, released, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var once sync.Once
	claims.BeforeDecide(func(ctx context.Context, stream string) {
		if ctx.Value(change{}) == nil || stream != directory.CompanyIDStream("acme_x") {
			return
		}
		once.Do(func() { // the release of X: the registration of X runs up to its record
			go func() {
				defer close(done)
				if _, err := s.Register(context.WithValue(context.Background(), again{}, true), testAWS, testRegion, netA, oidcInput("Acme_X")); err != nil {
					t.Errorf("the registration of X again: %v", err)
				}
			}()
			<-claimed
		})
	})
	var first sync.Once
	nets.BeforeDecide(func(ctx context.Context, _ string) {
		if ctx.Value(again{}) != nil {
			first.Do(func() { close(claimed); <-released })
		}
	})
	if _, err := s.Register(context.WithValue(context.Background(), change{}, true), testAWS, testRegion, netA, oidcInput("Acme_Y")); err != nil {
		t.Fatalf("the change to Y: %v", err)
	}
	close(released)
	<-done
	checkXIsAsAndYIsFree(t, s)
}
