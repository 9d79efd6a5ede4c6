package client_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/api/chime/client"
	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/infra/datakeys"
	"github.com/belfry/belfry/infra/eventlog/eventlogtest"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/infra/migrations"
	"github.com/belfry/belfry/infra/pins"
	"github.com/belfry/belfry/infra/sessions"
	"github.com/belfry/belfry/projections"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

// TestRefusedRegistrationChangesNothing: a registration the account refuses (an invitation already
// used, a display name too long) appends no event and creates no key: no personal PIN is reserved
// (a pins stream in the log) for a user who does not register.
func TestRefusedRegistrationChangesNothing(t *testing.T) {
	ctx := context.Background()
	pool, esc := eventlogtest.Start(t)
	if _, err := migrations.Apply(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if _, _, err := projections.Ensure(ctx, pool, chimeaccounts.Projection{}); err != nil {
		t.Fatal(err)
	}
	rm := projections.NewRunner(pool, esc, chimeaccounts.Projection{}, projections.RunnerConfig{})
	rctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = rm.Run(rctx) }()
	t.Cleanup(func() { stop(); <-done })
	keys := datakeys.New(pool)
	accounts := repo[account.State, account.Command, account.Event]{eventstore.NewRepository(esc, eventstore.Decider[account.State, account.Command, account.Event]{
		Initial: account.Initial, Evolve: account.Evolve, Decide: account.Decide, Decode: account.Decode,
		Type: func(e account.Event) string { return e.EventType() }}, nil)}
	acct, alice, bob := uuid.NewString(), uuid.NewString(), uuid.NewString()
	aliceInvite, bobInvite := uuid.NewString(), uuid.NewString()
	aliceTok, aliceHash := usecase.NewToken()
	bobTok, bobHash := usecase.NewToken()
	var last uint64
	for _, cmd := range []account.Command{
		account.Create{AccountID: acct, AwsAccountID: "111122223333", Name: "Acme"},
		account.InviteUsers{AccountID: acct, Items: []account.InviteItem{{Email: "alice@example.com", UserID: alice, InviteID: aliceInvite},
			{Email: "bob@example.com", UserID: bob, InviteID: bobInvite}}},
		account.IssueInviteToken{AccountID: acct, InviteID: aliceInvite, TokenHash: aliceHash},
		account.IssueInviteToken{AccountID: acct, InviteID: bobInvite, TokenHash: bobHash},
	} {
		d, err := accounts.Execute(ctx, account.StreamName(acct), cmd)
		if err != nil {
			t.Fatal(err)
		}
		last = d.Position
	}
	if err := rm.WaitFor(ctx, last); err != nil {
		t.Fatal(err)
	}
	svc := client.New(client.Deps{Accounts: usecase.Accounts{Repo: accounts, RM: rm, RYW: usecase.NewReadYourWrites(0, nil)},
		Store: chimeaccounts.NewStore(pool).WithSecrets(keys), Sessions: sessions.New(pool), Keys: keys, PINs: pins.Reserver{Client: esc, Keys: keys}})
	if _, err := svc.Register(ctx, aliceTok, "correct horse battery", "Alice"); err != nil {
		t.Fatal(err)
	}
	before := stored(t, pool)
	if _, err := svc.Register(ctx, aliceTok, "another horse battery", "Alice again"); err == nil {
		t.Fatal("an invitation used twice")
	}
	if _, err := svc.Register(ctx, bobTok, "correct horse battery", strings.Repeat("b", account.MaxUsernameLength+1)); err == nil {
		t.Fatal("a display name over the limit")
	}
	if after := stored(t, pool); after != before {
		t.Fatalf("refused registrations stored %d events and keys", after-before)
	}
	if _, err := svc.Register(ctx, bobTok, "correct horse battery", "Bob"); err != nil {
		t.Fatalf("bob's invitation still works: %v", err)
	}
}

// stored counts the events of the log and the rows of the key tables.
func stored(t *testing.T, pool *pgxpool.Pool) (n int64) {
	t.Helper()
	if err := pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM eventlog.events) + (SELECT count(*) FROM keys.message_keys)
		+ (SELECT count(*) FROM keys.data_keys) + (SELECT count(*) FROM keys.scopes) + (SELECT count(*) FROM keys.keks)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
