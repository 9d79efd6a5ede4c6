package wickranalytics_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/belfry/belfry/domain"
	wconv "github.com/belfry/belfry/domain/wickr/conversation"
	"github.com/belfry/belfry/domain/wickr/network"
	"github.com/belfry/belfry/domain/wickr/roster"
	"github.com/belfry/belfry/infra/eventlog/eventlogtest"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
	"github.com/belfry/belfry/projections"
	"github.com/belfry/belfry/projections/projectiontest"
	"github.com/belfry/belfry/projections/wickranalytics"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func date(day int) time.Time { return time.Date(2026, 3, day, 10, 0, 0, 0, time.UTC) }

// TestFiguresOverDaysWeeksAndMonths: a network's users are invited, register, sign in from a device,
// are suspended and deleted over ten days of March 2026 (the 2nd is a Monday); the report's levels,
// flows and distinct active users per day, week and month follow, and nothing of the figures comes
// from counting users.
func TestFiguresOverDaysWeeksAndMonths(t *testing.T) {
	pool, client := eventlogtest.Start(t)
	ctx := context.Background()
	nets := eventstore.NewRepository(client, eventstore.Decider[network.State, network.Command, network.Event]{
		Initial: network.Initial, Evolve: network.Evolve, Decide: network.Decide, Decode: network.Decode,
		Type: func(e network.Event) string { return e.EventType() }}, nil)
	rosters := eventstore.NewRepository(client, eventstore.Decider[roster.State, roster.Command, roster.Event]{
		Initial: roster.Initial, Evolve: roster.Evolve, Decide: roster.Decide, Decode: roster.Decode,
		Type: func(e roster.Event) string { return e.EventType() }}, nil)
	const id = "12345678"
	var head uint64
	emitN := func(evs ...network.Event) {
		res, err := nets.ExecuteFunc(ctx, network.StreamName(id), func(network.State, time.Time) ([]network.Event, error) { return evs, nil })
		if err != nil {
			t.Fatal(err)
		}
		head = res.Position
	}
	emitR := func(evs ...roster.Event) {
		res, err := rosters.ExecuteFunc(ctx, roster.StreamName(id, "1001"), func(roster.State, time.Time) ([]roster.Event, error) { return evs, nil })
		if err != nil {
			t.Fatal(err)
		}
		head = res.Position
	}
	invite := func(user string) roster.Event {
		return roster.UserInvited{NetworkID: id, UserID: user, Username: user + "@example.com", GroupID: "g", InviteExpiresAt: date(9), At: date(2)}
	}
	pw := domain.Sealed{KeyID: domain.SubjectKeyID(id, "user/x"), Data: []byte{1}}
	emitN(network.Created{NetworkID: id, Name: "Stats", AwsAccountID: "111122223333", Region: "us-east-1", AccessLevel: network.Premium, At: date(2)})
	// Two invitations as stored by earlier versions (one event per user), two as one batch event.
	emitR(invite("1001"), invite("1002"), roster.UsersInvited{NetworkID: id, UserIDs: []string{"1003", "1004"}, Users: []roster.Invitee{
		{Username: "1003@example.com", GroupID: "g", InviteExpiresAt: date(9)}, {Username: "1004@example.com", GroupID: "g", InviteExpiresAt: date(9)}}, At: date(2)})
	emitR(roster.UserRegistered{UserID: "1001", Password: pw, At: date(3)}, roster.UserRegistered{UserID: "1002", Password: pw, At: date(3)},
		roster.DeviceRegistered{UserID: "1001", AppID: "a1", Type: "iOS", At: date(3)}, roster.SignedIn{UserID: "1001", AppID: "a1", At: date(3)})
	emitR(roster.SignedIn{UserID: "1001", AppID: "a1", At: date(9)}, roster.UserSuspended{UserID: "1002", At: date(9)},
		roster.UserDeleted{UserID: "1003", At: date(9)})
	emitN(network.BotCreated{BotID: "7", Username: "helperbot", GroupID: "g", Challenge: pw, At: date(9)})
	emitR(roster.DeviceWasReset{UserID: "1001", AppID: "a1", At: date(10)}, roster.UserDeleted{UserID: "1002", At: date(10)})
	// Messages: two of a member on the 3rd, one with a file on the 9th, one of a guest (no network).
	member, guest := wconv.Participant{NetworkID: id, UserID: "1001"}, wconv.Participant{GuestHash: "abc"}
	post := func(m wconv.MessagePosted) {
		b, _ := json.Marshal(m)
		res, err := client.AppendToStream(ctx, wconv.StreamName("c1"), esdb.AppendToStreamOptions{},
			esdb.EventData{EventID: uuid.New(), EventType: wconv.TypeMessagePosted, ContentType: esdb.ContentTypeJson, Data: b})
		if err != nil {
			t.Fatal(err)
		}
		head = res.CommitPosition
	}
	post(wconv.MessagePosted{MessageID: "m1", Sender: member, At: date(3)})
	post(wconv.MessagePosted{MessageID: "m2", Sender: member, At: date(3)})
	post(wconv.MessagePosted{MessageID: "m3", Sender: member, Attachment: &wconv.Attachment{ContentType: "audio/aac", Size: 10}, At: date(9)})
	post(wconv.MessagePosted{MessageID: "m4", Sender: guest, At: date(9)})

	projectiontest.CatchUp(t, ctx, pool, client, wickranalytics.Projection{}, head)

	store := wickranalytics.NewStore(pool)
	if o, err := store.Owner(ctx, id); err != nil || o != (wickranalytics.Owner{AwsAccountID: "111122223333", Region: "us-east-1", Status: network.StatusActive}) {
		t.Fatalf("owner %+v %v", o, err)
	}
	if _, err := store.Owner(ctx, "87654321"); err != wickranalytics.ErrNoNetwork {
		t.Fatalf("an unknown network: %v", err)
	}
	rep, err := store.Report(ctx, id, wickranalytics.Day, date(1), date(10))
	if err != nil {
		t.Fatal(err)
	}
	if want := (wickranalytics.Levels{Registered: 1, Pending: 1, Bots: 1}); rep.Current != want {
		t.Fatalf("current %+v, want %+v", rep.Current, want)
	}
	type fig struct {
		L                 wickranalytics.Levels
		Inv, Reg, Del, Ac int
	}
	L := func(reg, pend, susp, dev, bots int) wickranalytics.Levels {
		return wickranalytics.Levels{Registered: reg, Pending: pend, Suspended: susp, Devices: dev, Bots: bots}
	}
	wantDays := map[int]fig{1: {}, 2: {L(0, 4, 0, 0, 0), 4, 0, 0, 0}, 3: {L(2, 2, 0, 1, 0), 0, 2, 0, 2}, 4: {L: L(2, 2, 0, 1, 0)},
		8: {L: L(2, 2, 0, 1, 0)}, 9: {L(2, 1, 1, 1, 1), 0, 0, 1, 1}, 10: {L(1, 1, 0, 0, 1), 0, 0, 1, 0}}
	if len(rep.Points) != 10 {
		t.Fatalf("%d daily points, want 10", len(rep.Points))
	}
	for _, pt := range rep.Points {
		w, ok := wantDays[pt.Start.Day()]
		if !ok {
			continue
		}
		if got := (fig{pt.Levels, pt.Invited, pt.Registrations, pt.Deletions, pt.ActiveUsers}); got != w || !pt.End.Equal(pt.Start) {
			t.Errorf("March %d: %+v, want %+v", pt.Start.Day(), got, w)
		}
	}
	weeks, err := store.Report(ctx, id, wickranalytics.Week, date(4), date(10))
	if err != nil {
		t.Fatal(err)
	}
	if len(weeks.Points) != 2 || weeks.Points[0].Start.Day() != 2 || weeks.Points[0].End.Day() != 8 ||
		(fig{weeks.Points[0].Levels, weeks.Points[0].Invited, weeks.Points[0].Registrations, weeks.Points[0].Deletions, weeks.Points[0].ActiveUsers}) != (fig{L(2, 2, 0, 1, 0), 4, 2, 0, 2}) ||
		(fig{weeks.Points[1].Levels, weeks.Points[1].Invited, weeks.Points[1].Registrations, weeks.Points[1].Deletions, weeks.Points[1].ActiveUsers}) != (fig{L(1, 1, 0, 0, 1), 0, 0, 2, 1}) {
		t.Fatalf("weeks %+v", weeks.Points)
	}
	months, err := store.Report(ctx, id, wickranalytics.Month, date(1), date(31))
	if err != nil {
		t.Fatal(err)
	}
	if got := [4]int{rep.Points[2].Messages, rep.Points[2].Files, rep.Points[8].Messages, rep.Points[8].Files}; got != [4]int{2, 0, 1, 1} {
		t.Errorf("messages and files on the 3rd and the 9th: %v", got)
	}
	if len(months.Points) != 1 || months.Points[0].Messages != 3 || months.Points[0].Files != 1 || months.Points[0].ActiveUsers != 2 || months.Points[0].Invited != 4 || months.Points[0].Deletions != 2 ||
		months.Points[0].Levels != L(1, 1, 0, 0, 1) || months.Points[0].End.Day() != 31 {
		t.Fatalf("months %+v", months.Points)
	}
	// Levels carry into a range that starts after the last change; a snapshot's context reads the
	// same store (the live read models here: no snapshot is named).
	later, err := store.Report(projections.WithSnapshot(ctx, ""), id, wickranalytics.Day, date(20), date(21))
	if err != nil || len(later.Points) != 2 || later.Points[1].Levels != L(1, 1, 0, 0, 1) || later.Points[1].ActiveUsers != 0 {
		t.Fatalf("later %+v %v", later.Points, err)
	}
}
