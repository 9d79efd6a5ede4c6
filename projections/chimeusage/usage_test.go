package chimeusage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/conversation"
	"github.com/belfry/belfry/domain/chime/meeting"
	"github.com/belfry/belfry/domain/chime/room"
	"github.com/belfry/belfry/domain/chime/usage"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
	"github.com/belfry/belfry/projections/chimeusage"
	"github.com/belfry/belfry/projections/projectiontest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func date(d, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, time.UTC) }

// TestApplyBatchIsApplyInTurn: the live runner's ApplyBatch (runs of joins, posts, sign-ins and
// account events in a few statements) leaves every table exactly as Apply of each event in turn: a
// user joining the same meeting twice in a run and again in a later run, sign-ins out of order,
// posts of users, a bot and a webhook, schedules and starts (which end a run) of meetings re-scheduled.
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
	add(account.StreamName("a"), account.Created{AccountID: "a", AwsAccountID: "111122223333", Name: "a", AccountType: "Team"})
	add(account.StreamName("a"), account.UserAdded{UserID: "u1", Email: "u1@example.com", LicenseType: "Pro"})
	add(meeting.StreamName("m1"), meeting.Scheduled{AccountID: "a", OrganizerID: "u2", At: date(1, 0)})
	add(meeting.StreamName("m1"), meeting.Scheduled{AccountID: "a", OrganizerID: "u1", At: date(1, 0)})
	add(meeting.StreamName("m1"), meeting.Started{By: "u1", At: date(9, 10)})
	for i := range 3 {
		add(meeting.StreamName("m1"), meeting.AttendeeJoined{AttendeeID: fmt.Sprint("a", i), UserID: "u1", At: date(9, 10+i)})
		add(meeting.StreamName("m1"), meeting.AttendeeJoined{AttendeeID: fmt.Sprint("b", i), UserID: "u2", At: date(7+i, 10)})
		add(usage.SignInStream("u1"), usage.SignedIn{AccountID: "a", UserID: "u1", At: date(12-i, 8)})
		add(conversation.StreamName("c1"), conversation.MessagePosted{MessageID: fmt.Sprint("c", i), SenderID: "u1", SenderAccountID: "a", At: date(10, i)})
		add(room.StreamName("r1"), room.MessagePosted{MessageID: fmt.Sprint("r", i), SenderID: []string{"u2", "bot", "hook"}[i],
			SenderType: []string{room.MemberUser, room.MemberBot, room.MemberWebhook}[i], At: date(10, i)})
	}
	add(account.StreamName("b"), account.Created{AccountID: "b", AwsAccountID: "111122223333", Name: "b", AccountType: "Team"})
	add(meeting.StreamName("m2"), meeting.Scheduled{AccountID: "a", OrganizerID: "u1", At: date(1, 0)})
	add(meeting.StreamName("m2"), meeting.Started{By: "u1", At: date(14, 23)})
	add(meeting.StreamName("m1"), meeting.AttendeeJoined{AttendeeID: "a9", UserID: "u1", At: date(14, 10)})
	add(meeting.StreamName("m2"), meeting.AttendeeJoined{AttendeeID: "a8", UserID: "u1", At: date(15, 10)})
	add(usage.SignInStream("u1"), usage.SignedIn{AccountID: "a", UserID: "u1", At: date(3, 8)})
	inTurn := projectiontest.Build(ctx, t, pool, chimeusage.Projection{}, "in_turn", func(b *pgx.Batch, schema string) error {
		for _, ev := range evs {
			if err := (chimeusage.Projection{}).Apply(b, schema, ev); err != nil {
				return err
			}
		}
		return nil
	})
	batched := projectiontest.Build(ctx, t, pool, chimeusage.Projection{}, "batched", func(b *pgx.Batch, schema string) error {
		return chimeusage.Projection{}.ApplyBatch(b, schema, evs)
	})
	if inTurn != batched {
		t.Fatalf("ApplyBatch left\n%s\nApply in turn left\n%s", batched, inTurn)
	}
	// u1's week of 8 March: meetings m1 (joined four times) attended, m1 and m2 hosted, three posts,
	// the latest sign-in on the 12th (as microseconds); u2 posted once and joined m1 in two weeks.
	for _, row := range []string{"(u1,2026-03-08,1,2,3,1773302400000000)", "(u1,2026-03-15,1,0,0,)", "(u1,2026-03-01,0,0,0,1772524800000000)",
		"(u2,2026-03-08,1,0,1,)", "(u2,2026-03-01,1,0,0,)", "chime_usage_accounts:\n(a)\n(b)\n"} {
		if !strings.Contains(inTurn, row) {
			t.Errorf("missing %s in\n%s", row, inTurn)
		}
	}
}
