package users_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/api/chime/users"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

// memAccounts is an in-memory account repository: each stream folds its events.
type memAccounts struct {
	mu      sync.Mutex
	streams map[string][]account.Event
}

func (r *memAccounts) state(stream string) account.State {
	st := account.Initial()
	for _, e := range r.streams[stream] {
		st = account.Evolve(st, e)
	}
	return st
}

func (r *memAccounts) Execute(ctx context.Context, stream string, cmd account.Command) (usecase.AccountDecided, error) {
	return r.ExecuteFunc(ctx, stream, func(st account.State, now time.Time) ([]account.Event, error) { return account.Decide(st, cmd, now) })
}

func (r *memAccounts) ExecuteFunc(_ context.Context, stream string, decide func(account.State, time.Time) ([]account.Event, error)) (usecase.AccountDecided, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	evs, err := decide(r.state(stream), time.Now())
	if err != nil {
		return usecase.AccountDecided{}, err
	}
	r.streams[stream] = append(r.streams[stream], evs...)
	return usecase.AccountDecided{State: r.state(stream), Events: evs, Position: uint64(len(r.streams[stream]))}, nil
}

func (r *memAccounts) Load(_ context.Context, stream string) (account.State, int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state(stream), int64(len(r.streams[stream])) - 1, nil
}

func (r *memAccounts) Peek(ctx context.Context, stream string) (account.State, error) {
	st, _, err := r.Load(ctx, stream)
	return st, err
}

func (r *memAccounts) Inspect(ctx context.Context, stream string, _ bool, fn func(account.State) error) error {
	st, _, err := r.Load(ctx, stream)
	if err != nil {
		return err
	}
	return fn(st)
}

// stalled is a read model that never catches up.
type stalled struct{}

func (stalled) WaitFor(ctx context.Context, _ uint64) error {
	<-ctx.Done()
	return errors.New("the read model is stalled")
}

// emptyStore is the accounts read model before it applied anything.
type emptyStore struct{}

func (emptyStore) GetUser(context.Context, string, string, string) (chimeaccounts.User, error) {
	return chimeaccounts.User{}, errors.New("not in the read model yet")
}

func (emptyStore) ListUsers(context.Context, string, string, chimeaccounts.UserFilter, string, int) ([]chimeaccounts.User, string, error) {
	return nil, "", nil
}

func (emptyStore) InviteEmailStatuses(context.Context, []string) (map[string]string, error) {
	return map[string]string{}, nil
}

func (emptyStore) VerifiedDomainOwners(context.Context, []string) (map[string]string, error) {
	return map[string]string{}, nil
}

// claimedStore is a read model in which account a2 has verified corp.example.
type claimedStore struct{ emptyStore }

func (claimedStore) VerifiedDomainOwners(_ context.Context, domains []string) (map[string]string, error) {
	out := map[string]string{}
	for _, d := range domains {
		if d == "corp.example" {
			out[d] = "a2"
		}
	}
	return out, nil
}

// teamAccount is a Team account of AWS account 111122223333 in memory, and the users slice over it
// and store, with a read model that never catches up (its wait ends after 20 ms).
func teamAccount(t *testing.T, store users.Store) (*memAccounts, string, *users.Service) {
	t.Helper()
	repo := &memAccounts{streams: map[string][]account.Event{}}
	acct := uuid.NewString()
	if _, err := repo.Execute(context.Background(), account.StreamName(acct), account.Create{AccountID: acct, AwsAccountID: "111122223333", Name: "Team"}); err != nil {
		t.Fatal(err)
	}
	svc := users.New(users.Deps{Store: store,
		Accounts: usecase.Accounts{Repo: repo, RM: stalled{}, RYW: usecase.NewReadYourWrites(20*time.Millisecond, nil)}})
	return repo, acct, svc
}

// TestInviteUsersRefusesADomainClaimedElsewhere: guide §4.1, a Team account invites users of any
// e-mail domain not claimed by another organisation; an address of a domain another account verified
// fails the call (Conflict), and nothing is invited.
func TestInviteUsersRefusesADomainClaimedElsewhere(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repo, acct, svc := teamAccount(t, claimedStore{})
	_, err := svc.InviteUsers(ctx, "111122223333", acct, []string{"alice@example.com", "Dave@Corp.Example"}, "")
	if !errors.Is(err, account.ErrDomainClaimed) {
		t.Fatalf("inviting an address of a domain another account claimed: %v", err)
	}
	if n := len(repo.streams[account.StreamName(acct)]); n != 1 {
		t.Fatalf("the refused call appended %d events", n-1)
	}
}

// TestInviteUsersBeforeTheReadModelHasTheInvitations: when the read model has not applied the
// invitations yet (it lags past ReadModelWait), InviteUsers still answers every invitation with an
// EmailStatus of the model's enum (NotSent), never an empty one.
func TestInviteUsersBeforeTheReadModelHasTheInvitations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, acct, svc := teamAccount(t, emptyStore{})
	invites, err := svc.InviteUsers(ctx, "111122223333", acct, []string{"alice@example.com", "bob@example.com"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(invites) != 2 {
		t.Fatalf("invites: %+v", invites)
	}
	for _, inv := range invites {
		if inv.EmailStatus != account.EmailNotSent || inv.Status != account.InvitePending || inv.InviteID == "" {
			t.Fatalf("invite %+v: want Status Pending and EmailStatus NotSent", inv)
		}
	}
}
