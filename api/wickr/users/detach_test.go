package users_test

import (
	"context"
	"testing"
	"time"

	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/api/internal/memrepo"
	wickrusecase "github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/api/wickr/users"
	"github.com/belfry/belfry/domain/wickr/network"
	"github.com/belfry/belfry/domain/wickr/roster"
)

// lateRepo is the network repository as the event store behaves for a caller that goes away: the
// decision may run and its events be appended, and the caller is told only its context's error.
type lateRepo struct {
	*memrepo.Repo[network.State, network.Command, network.Event]
}

func (r lateRepo) ExecuteFunc(ctx context.Context, stream string, decide func(network.State, time.Time) ([]network.Event, error)) (usecase.Decided[network.State, network.Event], error) {
	d, err := r.Repo.ExecuteFunc(ctx, stream, decide)
	if err == nil && ctx.Err() != nil {
		return usecase.Decided[network.State, network.Event]{}, ctx.Err()
	}
	return d, err
}

// A caller that goes away while its seats are taken leaves no seat without a user: the batch, once
// admitted, runs to its end.
func TestBatchCreateOutlivesItsCaller(t *testing.T) {
	h := newHarness(t, true)
	ryw := wickrusecase.NewReadYourWrites(time.Second, nil)
	svc := users.New(users.Deps{
		Networks:    wickrusecase.Networks{Repo: lateRepo{h.networks}, RYW: ryw},
		Rosters:     wickrusecase.Rosters{Repo: h.rosters, RYW: ryw},
		Directories: wickrusecase.Directories{Repo: h.dirs, RYW: ryw},
		Store:       noStore{}, NetworkStore: noStore{},
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The caller leaves while the seats are taken (the first decision on the network stream).
	h.networks.BeforeDecide(func(context.Context, string) { cancel() })
	_, err := svc.BatchCreateUser(ctx, testAccount, testRegion, testNetwork, "", items(0, 3))
	h.networks.BeforeDecide(nil)
	recorded := 0
	h.rosters.Range(func(_ string, st roster.State) {
		for _, u := range st.Users {
			if !u.Deleted {
				recorded++
			}
		}
	})
	if seats := h.seats(t); seats != recorded {
		t.Fatalf("after the caller left (err %v): %d seats taken for %d users recorded", err, seats, recorded)
	}
	if err != nil || recorded != 3 {
		t.Fatalf("the batch did not run to its end: err %v, %d users recorded", err, recorded)
	}
}
