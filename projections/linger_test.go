package projections_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/projections"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

// A batch does not linger while someone waits for it: a command reading its own write through a
// read model that lingers for larger batches (a minute here) gets it at once, not a minute later;
// with nobody waiting the batch lingers.
func TestALingeringBatchIsAppliedForAWaiter(t *testing.T) {
	pool, client := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := projections.NewRunner(pool, client, chimeaccounts.Projection{}, projections.RunnerConfig{Linger: time.Minute})
	done := make(chan struct{})
	go func() { _ = r.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	repo := accountRepo(client)
	for i := range 3 {
		id := fmt.Sprintf("acc-linger-%d", i)
		res, err := repo.Execute(ctx, account.StreamName(id), account.Create{AccountID: id, AwsAccountID: "111122223333", Name: "Org " + id})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			// Nobody waits: the batch holding it lingers (its position is not applied a second later).
			time.Sleep(time.Second)
			if r.Position() >= res.Position {
				t.Fatalf("applied at once with nobody waiting: the batch did not linger")
			}
		}
		wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
		err = r.WaitFor(wctx, res.Position)
		wcancel()
		if err != nil {
			t.Fatalf("waiting for the command's own write: %v", err)
		}
	}
}
