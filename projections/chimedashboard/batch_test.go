package chimedashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/conversation"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
	"github.com/belfry/belfry/projections/chimedashboard"
	"github.com/belfry/belfry/projections/projectiontest"
)

// TestApplyBatchIsApplyInTurn: the live runner's ApplyBatch (a run of posts in one statement) leaves
// every table exactly as Apply of each event in turn: posts of two accounts over two days, a user
// posting many times, a post of no account, and an account event (a registration, which moves the
// level a new day row starts from) in the middle of the posts.
func TestApplyBatchIsApplyInTurn(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var evs []*esdb.RecordedEvent
	add := func(stream string, e interface{ EventType() string }) {
		data, _ := json.Marshal(e)
		evs = append(evs, &esdb.RecordedEvent{StreamID: stream, EventType: e.EventType(), Data: data, CreatedDate: date(1, 0),
			Position: esdb.Position{Commit: uint64(len(evs) + 1)}, EventNumber: uint64(len(evs))})
	}
	for _, acc := range []string{"a", "b"} {
		add(account.StreamName(acc), account.Created{AccountID: acc, AwsAccountID: "111122223333", Name: acc, AccountType: "Team"})
		for _, u := range []string{"u1", "u2"} {
			add(account.StreamName(acc), account.UserAdded{UserID: acc + u, Email: acc + u + "@example.com", LicenseType: "Pro"})
		}
		add(account.StreamName(acc), account.UserRegistered{UserID: acc + "u1", At: date(1, 9)})
	}
	post := func(acc, user string, d, h int) {
		add(conversation.StreamName("c-"+acc), conversation.MessagePosted{MessageID: fmt.Sprint(len(evs)), SenderID: user,
			SenderAccountID: acc, At: date(d, h)})
	}
	for i := range 12 {
		post("a", "au1", 2, i)
		post("b", []string{"bu1", "bu2"}[i%2], 2+i%2, 10)
	}
	post("", "x", 2, 1)
	add(account.StreamName("a"), account.UserRegistered{UserID: "au2", At: date(3, 1)})
	for i := range 5 {
		post("a", "au2", 3, i)
		post("a", "au1", 4, i)
	}
	inTurn := projectiontest.Build(ctx, t, pool, chimedashboard.Projection{}, "in_turn", func(b *pgx.Batch, schema string) error {
		for _, ev := range evs {
			if err := (chimedashboard.Projection{}).Apply(b, schema, ev); err != nil {
				return err
			}
		}
		return nil
	})
	batched := projectiontest.Build(ctx, t, pool, chimedashboard.Projection{}, "batched", func(b *pgx.Batch, schema string) error {
		return chimedashboard.Projection{}.ApplyBatch(b, schema, evs)
	})
	if inTurn != batched {
		t.Fatalf("ApplyBatch left\n%s\nApply in turn left\n%s", batched, inTurn)
	}
	if !strings.Contains(inTurn, "(a,2026-03-02,1,1,0,12)") {
		t.Fatalf("the posts did not count:\n%s", inTurn)
	}
}
