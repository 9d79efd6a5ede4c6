package networks_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry/api/internal/memrepo"
	"github.com/belfry/belfry/api/wickr/networks"
	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/domain/wickr/account"
	"github.com/belfry/belfry/domain/wickr/directory"
	"github.com/belfry/belfry/domain/wickr/network"
	"github.com/belfry/belfry/domain/wickr/roster"
)

// oneDeletion is the deletion queue of one network whose users are in one roster block.
type oneDeletion struct{ id, first string }

func (d oneDeletion) PendingDeletions(context.Context, int) ([]string, error) {
	return []string{d.id}, nil
}
func (d oneDeletion) RosterBlocks(context.Context, string) ([]string, error) {
	return []string{d.first}, nil
}

type noKeys struct{}

func (noKeys) DestroyTenant(context.Context, string) error { return nil }

// TestDeletionReadsTheRosterBlockUnderItsLock: the deletion of a network reads the users of each
// roster block, then deletes them. The repository's states are shared (Evolve updates a block's map
// of users in place), so the block must be read under the stream's lock: a command that another
// goroutine runs on the block right after the read (here, users invited by a request that passed
// its checks before the deletion was requested) must not write the map the deletion is still
// walking. Run with -race: the race detector reports the walk of a map another goroutine writes.
func TestDeletionReadsTheRosterBlockUnderItsLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	nets := memrepo.New(network.Initial, network.Evolve, network.Decide)
	accts := memrepo.New(account.Initial, account.Evolve, account.Decide)
	rosters := memrepo.New(roster.Initial, roster.Evolve, roster.Decide)
	dirs := memrepo.New(directory.Initial, directory.Evolve, directory.Decide)
	ryw := usecase.NewReadYourWrites(time.Second, nil)
	deps := networks.Deps{Networks: usecase.Networks{Repo: nets, RYW: ryw}, Accounts: usecase.Accounts{Repo: accts, RYW: ryw}}
	n, err := networks.New(deps).CreateNetwork(ctx, testAccount, testRegion, networks.CreateInput{Name: "Doomed", AccessLevel: network.Standard})
	if err != nil {
		t.Fatal(err)
	}
	const first = "1000"
	block := roster.StreamName(n.ID, first)
	invite := func(from, count int) []roster.Event {
		e := roster.UsersInvited{NetworkID: n.ID, At: time.Now()}
		for i := range count {
			e.UserIDs = append(e.UserIDs, fmt.Sprint(1000+from+i))
			e.Users = append(e.Users, roster.Invitee{Username: fmt.Sprintf("user%d@example.com", from+i), GroupID: "g", InviteExpiresAt: time.Now().Add(time.Hour)})
		}
		return []roster.Event{e}
	}
	if _, err := rosters.ExecuteFunc(ctx, block, func(roster.State, time.Time) ([]roster.Event, error) { return invite(0, 60), nil }); err != nil {
		t.Fatal(err)
	}
	deps.Fanout = &networks.Fanout{Deletions: oneDeletion{n.ID, first}, Rosters: usecase.Rosters{Repo: rosters, RYW: ryw}, Directory: dirs, Keys: noKeys{}}
	svc := networks.New(deps)
	if err := svc.DeleteNetwork(ctx, testAccount, testRegion, n.ID); err != nil {
		t.Fatal(err)
	}

	// Right after the deletion read the block, another goroutine invites users into it; the
	// deletion's first command on the block waits for that write (so that it happens while the
	// deletion may still be walking what it read, with nothing ordering the two).
	written := make(chan struct{})
	type writerKey struct{}
	wctx := context.WithValue(ctx, writerKey{}, true)
	var once sync.Once
	rosters.AfterRead(func(stream string) {
		once.Do(func() {
			go func() {
				defer close(written)
				if _, err := rosters.ExecuteFunc(wctx, stream, func(roster.State, time.Time) ([]roster.Event, error) { return invite(100, 5), nil }); err != nil {
					t.Error(err)
				}
			}()
		})
	})
	rosters.BeforeDecide(func(ctx context.Context, _ string) {
		if ctx.Value(writerKey{}) != nil {
			return
		}
		select {
		case <-written:
		case <-time.After(10 * time.Second):
		}
	})
	done, err := svc.CompleteDeletions(ctx)
	if err != nil || done != 1 {
		t.Fatalf("completed %d deletions: %v", done, err)
	}
	st, _, _ := rosters.Load(ctx, block)
	for i := range 60 {
		if u := st.Users[fmt.Sprint(1000+i)]; u == nil || !u.Deleted {
			t.Fatalf("user %d of the block was not deleted", 1000+i)
		}
	}
}
