package chimeaccounts_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
	"github.com/belfry/belfry/projections/chimeaccounts"
	"github.com/belfry/belfry/projections/projectiontest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestApplyBatchIsApplyInTurn: ApplyBatch, which leaves out the overwrites a later one of the same
// kind on the same account supersedes, leaves every table exactly as Apply of each event in turn:
// two accounts renamed many times with user events, license and settings changes in between, one
// account renamed only once, and a rename after a type change. It also queues fewer statements.
func TestApplyBatchIsApplyInTurn(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var evs []*esdb.RecordedEvent
	add := func(acc string, e interface{ EventType() string }) {
		data, _ := json.Marshal(e)
		evs = append(evs, &esdb.RecordedEvent{StreamID: account.StreamName(acc), EventType: e.EventType(), Data: data,
			CreatedDate: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Position: esdb.Position{Commit: uint64(len(evs) + 1)}})
	}
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, acc := range []string{"a", "b", "c"} {
		add(acc, account.Created{AccountID: acc, AwsAccountID: "111122223333", Name: acc + "-0", AccountType: "Team",
			DefaultLicense: "Pro", SupportedLicenses: []string{"Basic", "Pro"}, CreatedAt: at})
	}
	for i := range 6 {
		for _, acc := range []string{"a", "b"} {
			add(acc, account.Renamed{Name: acc + "-" + string(rune('1'+i))})
			add(acc, account.SettingsUpdated{DisableRemoteControl: i%2 == 0, EnableDialOut: i%3 == 0})
		}
		if i == 2 {
			add("a", account.UserAdded{UserID: "u1", Email: "u1@example.com", UserType: "PrivateUser", LicenseType: "Pro"})
			add("a", account.DefaultLicenseChanged{DefaultLicense: "Basic"})
			add("b", account.AccountTypeChanged{AccountType: "EnterpriseDirectory"})
		}
	}
	add("c", account.Renamed{Name: "c-only"})
	add("b", account.Renamed{Name: "b-last"})
	var inTurnN, batchedN int
	inTurn := projectiontest.Build(ctx, t, pool, chimeaccounts.Projection{}, "in_turn", func(b *pgx.Batch, schema string) error {
		defer func() { inTurnN = b.Len() }()
		for _, ev := range evs {
			if err := (chimeaccounts.Projection{}).Apply(b, schema, ev); err != nil {
				return err
			}
		}
		return nil
	})
	batched := projectiontest.Build(ctx, t, pool, chimeaccounts.Projection{}, "batched", func(b *pgx.Batch, schema string) error {
		defer func() { batchedN = b.Len() }()
		return chimeaccounts.Projection{}.ApplyBatch(b, schema, evs)
	})
	if inTurn != batched {
		t.Fatalf("ApplyBatch left\n%s\nApply in turn left\n%s", batched, inTurn)
	}
	for _, want := range []string{"(a,111122223333,a-6,", "b-last", "c-only", "EnterpriseDirectory"} {
		if !strings.Contains(inTurn, want) {
			t.Fatalf("the tables lack %q:\n%s", want, inTurn)
		}
	}
	if batchedN >= inTurnN-20 {
		t.Fatalf("ApplyBatch queued %d statements, Apply in turn %d: the superseded overwrites were not left out", batchedN, inTurnN)
	}
}

// TestApplyBatchFailsOnAMalformedSupersededEvent: a superseded overwrite is left out of the
// statements but still decoded and checked, so a malformed one, or one PostgreSQL would refuse,
// fails the batch (and is parked by the runner's one-by-one pass) as Apply would.
func TestApplyBatchFailsOnAMalformedSupersededEvent(t *testing.T) {
	evs := []*esdb.RecordedEvent{
		{StreamID: account.StreamName("a"), EventType: account.TypeRenamed, Data: []byte(`{"name":`)},
		{StreamID: account.StreamName("a"), EventType: account.TypeRenamed, Data: []byte(`{"name":"ok"}`)},
	}
	if err := (chimeaccounts.Projection{}).ApplyBatch(&pgx.Batch{}, "s", evs); err == nil {
		t.Fatal("a malformed superseded rename applied without error")
	}
	// A rename PostgreSQL would refuse (a NUL in the name) fails the batch too, superseded or not.
	evs[0].Data = []byte(`{"name":"a\u0000b"}`)
	if err := (chimeaccounts.Projection{}).ApplyBatch(&pgx.Batch{}, "s", evs); err == nil {
		t.Fatal("a superseded rename with a NUL applied without error")
	}
}
