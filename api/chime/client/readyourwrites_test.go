package client_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/belfry/belfry/api/chime/client"
	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/infra/datakeys"
	"github.com/belfry/belfry/infra/eventlog/eventlogtest"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/infra/migrations"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
	"github.com/belfry/belfry/infra/pins"
	"github.com/belfry/belfry/infra/sessions"
	"github.com/belfry/belfry/projections"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestRegisterAnswersFromTheDecidedStateWhenTheReadModelIsLate: the accounts read model applies the
// invitation and then stops, so Register's wait times out; Register still answers with the user as it
// decided it (Registered, the invitation Accepted, the new PIN), and the timeout is counted.
func TestRegisterAnswersFromTheDecidedStateWhenTheReadModelIsLate(t *testing.T) {
	ctx := context.Background()
	pool, esc := eventlogtest.Start(t)
	if _, err := migrations.Apply(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if _, _, err := projections.Ensure(ctx, pool, chimeaccounts.Projection{}); err != nil {
		t.Fatal(err)
	}
	rm := projections.NewRunner(pool, esc, chimeaccounts.Projection{}, projections.RunnerConfig{})
	keys := datakeys.New(pool)
	accounts := repo[account.State, account.Command, account.Event]{eventstore.NewRepository(esc, eventstore.Decider[account.State, account.Command, account.Event]{
		Initial: account.Initial, Evolve: account.Evolve, Decide: account.Decide, Decode: account.Decode,
		Type: func(e account.Event) string { return e.EventType() }}, nil)}
	acct, user, invite := uuid.NewString(), uuid.NewString(), uuid.NewString()
	token, hash := usecase.NewToken()
	var last uint64
	for _, cmd := range []account.Command{
		account.Create{AccountID: acct, AwsAccountID: "111122223333", Name: "Acme"},
		account.InviteUsers{AccountID: acct, Items: []account.InviteItem{{Email: "bob@example.com", UserID: user, InviteID: invite}}},
		account.IssueInviteToken{AccountID: acct, InviteID: invite, TokenHash: hash},
	} {
		d, err := accounts.Execute(ctx, account.StreamName(acct), cmd)
		if err != nil {
			t.Fatal(err)
		}
		last = d.Position
	}
	// The read model holds the invitation, then stops following the log.
	rctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = rm.Run(rctx) }()
	if err := rm.WaitFor(ctx, last); err != nil {
		t.Fatal(err)
	}
	stop()
	<-done

	reg := prometheus.NewRegistry()
	ryw := usecase.NewReadYourWrites(50*time.Millisecond, reg)
	svc := client.New(client.Deps{Accounts: usecase.Accounts{Repo: accounts, RM: rm, RYW: ryw}, Store: chimeaccounts.NewStore(pool).WithSecrets(keys),
		Sessions: sessions.New(pool), Keys: keys, PINs: pins.Reserver{Client: esc, Keys: keys}})
	u, err := svc.Register(ctx, token, "correct horse battery", "Bob")
	if err != nil || u.UserID != user || u.Email != "bob@example.com" || u.RegistrationStatus != account.RegistrationRegistered ||
		u.InvitationStatus == nil || *u.InvitationStatus != account.InviteAccepted || u.RegisteredOn == nil || len(u.PersonalPIN) != 10 {
		t.Fatalf("register past the read-model wait: %+v %v", u, err)
	}
	if n := timeouts(t, reg); n != 1 {
		t.Fatalf("belfry_read_your_writes_timeouts_total = %v, want 1", n)
	}
}

// repo adapts an event-store repository to the slices' port, as cmd/belfry does.
type repo[S, C, E any] struct {
	*eventstore.Repository[S, C, E]
}

func (r repo[S, C, E]) Execute(ctx context.Context, stream string, cmd C) (usecase.Decided[S, E], error) {
	res, err := r.Repository.Execute(ctx, stream, cmd)
	return usecase.Decided[S, E]{State: res.State, Events: res.Events, Position: res.Position}, err
}

func (r repo[S, C, E]) ExecuteFunc(ctx context.Context, stream string, decide func(S, time.Time) ([]E, error)) (usecase.Decided[S, E], error) {
	res, err := r.Repository.ExecuteFunc(ctx, stream, decide)
	return usecase.Decided[S, E]{State: res.State, Events: res.Events, Position: res.Position}, err
}

// timeouts reads belfry_read_your_writes_timeouts_total from the registry.
func timeouts(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "belfry_read_your_writes_timeouts_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatal("belfry_read_your_writes_timeouts_total not registered")
	return 0
}
