package chimedashboard_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/conversation"
	"github.com/belfry/belfry/domain/chime/meeting"
	"github.com/belfry/belfry/domain/chime/room"
	"github.com/belfry/belfry/infra/eventlog/eventlogtest"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
	"github.com/belfry/belfry/projections/chimedashboard"
	"github.com/belfry/belfry/projections/projectiontest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func date(d, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, time.UTC) }

type event interface{ EventType() string }

// TestDashboardAndBillableDays: four users of an account register, meet, chat and are suspended over
// four days of March 2026; the dashboard's registered users (a level carried over quiet days), active
// users, meetings held and messages sent per day follow, and only the days a Pro user hosted a
// qualifying meeting (scheduled, three users, or recorded) are billable.
func TestDashboardAndBillableDays(t *testing.T) {
	pool, client := eventlogtest.Start(t)
	ctx := context.Background()
	var head uint64
	emit := func(stream string, at time.Time, evs ...event) {
		t.Helper()
		meta, _ := json.Marshal(map[string]any{"occurredAt": at})
		data := make([]esdb.EventData, len(evs))
		for i, e := range evs {
			b, _ := json.Marshal(e)
			data[i] = esdb.EventData{EventID: uuid.New(), EventType: e.EventType(), ContentType: esdb.ContentTypeJson, Data: b, Metadata: meta}
		}
		res, err := client.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{}, data...)
		if err != nil {
			t.Fatal(err)
		}
		head = res.CommitPosition
	}
	acc := account.StreamName("acc")
	emit(acc, date(1, 9), account.Created{AccountID: "acc", AwsAccountID: "111122223333", Name: "Dash", AccountType: "Team"},
		account.UserAdded{UserID: "u1", Email: "u1@example.com", LicenseType: "Pro"}, account.UserAdded{UserID: "u2", Email: "u2@example.com", LicenseType: "Basic"},
		account.UserAdded{UserID: "u3", Email: "u3@example.com", LicenseType: "Pro"}, account.UserAdded{UserID: "u4", Email: "u4@example.com", LicenseType: "Pro"})
	emit(acc, date(2, 9), account.UserRegistered{UserID: "u1", At: date(2, 9)}, account.UserRegistered{UserID: "u2", At: date(2, 9)})
	emit(acc, date(3, 9), account.UserRegistered{UserID: "u3", At: date(3, 9)})
	meet := func(id, organizer string, scheduled bool, day int, users ...string) {
		var starts time.Time
		if scheduled {
			starts = date(day, 8)
		}
		evs := []event{meeting.Scheduled{AccountID: "acc", OrganizerID: organizer, StartsAt: starts, At: date(1, 0)}}
		for i, u := range users {
			evs = append(evs, meeting.AttendeeJoined{AttendeeID: id + u, UserID: u, At: date(day, 10+i)})
		}
		emit(meeting.StreamName(id), date(day, 10), evs...)
	}
	meet("m1", "u1", true, 3, "u1", "u2")
	emit(meeting.StreamName("m1"), date(3, 12), meeting.Ended{At: date(3, 12)})
	meet("m2", "u3", false, 3, "u3")
	emit(meeting.StreamName("m2"), date(3, 13), meeting.Ended{At: date(3, 13)})
	emit(acc, date(4, 9), account.UserSuspended{UserID: "u3"})
	meet("m3", "u2", true, 4)
	emit(meeting.StreamName("m3"), date(4, 11), meeting.Ended{At: date(4, 11)})
	meet("m4", "u1", false, 4, "u1", "u2", "u3")
	emit(meeting.StreamName("m4"), date(5, 1), meeting.Ended{At: date(5, 1)}, meeting.Ended{At: date(5, 2)})
	// A meeting neither scheduled nor of three users, but recorded: billable (guide §5.5).
	meet("m5", "u4", false, 7, "u4")
	emit(meeting.StreamName("m5"), date(7, 12), meeting.RecordingStarted{RecordingID: "r", By: "m5u4", At: date(7, 11)},
		meeting.RecordingStopped{RecordingID: "r", Reason: meeting.RecordingStoppedMeetingEnded, At: date(7, 12)}, meeting.Ended{At: date(7, 12)})
	emit(conversation.StreamName("c1"), date(4, 15), conversation.MessagePosted{MessageID: "1", SenderID: "u2", SenderAccountID: "acc", At: date(4, 15)},
		conversation.MessagePosted{MessageID: "0", SenderID: "u2", At: date(4, 15)}) // no account: counted nowhere
	emit(room.StreamName("r1"), date(4, 16), room.Created{AccountID: "acc", Name: "r", At: date(1, 0)},
		room.MessagePosted{MessageID: "2", SenderID: "u1", SenderType: room.MemberUser, At: date(4, 16)},
		room.MessagePosted{MessageID: "3", SenderID: "b", SenderType: room.MemberBot, At: date(4, 17)})

	projectiontest.CatchUp(t, ctx, pool, client, chimedashboard.Projection{}, head)
	var parked int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM projections.parked_events`).Scan(&parked); err != nil || parked != 0 {
		t.Fatalf("%d parked events (%v)", parked, err)
	}
	s := chimedashboard.NewStore(pool)
	d, err := s.Dashboard(ctx, "acc", date(2, 0), date(6, 0))
	if err != nil {
		t.Fatal(err)
	}
	want := []chimedashboard.Day{
		{Date: date(2, 0), RegisteredUsers: 2},
		{Date: date(3, 0), RegisteredUsers: 3, ActiveUsers: 3, MeetingsHeld: 2},
		{Date: date(4, 0), RegisteredUsers: 2, ActiveUsers: 3, MeetingsHeld: 1, ChatSent: 2},
		{Date: date(5, 0), RegisteredUsers: 2, MeetingsHeld: 1},
		{Date: date(6, 0), RegisteredUsers: 2},
	}
	if len(d.Days) != len(want) {
		t.Fatalf("days: %+v", d.Days)
	}
	for i := range want {
		if d.Days[i] != want[i] {
			t.Errorf("day %d: %+v, want %+v", i, d.Days[i], want[i])
		}
	}
	if rg := d.Range; rg.RegisteredUsers != 2 || rg.ActiveUsers != 3 || rg.MeetingsHeld != 4 || rg.ChatSent != 2 {
		t.Errorf("range: %+v", rg)
	}
	bill, err := s.BillableDays(ctx, "acc", date(1, 0), date(30, 0), time.Time{}, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(bill) != 3 || bill[0] != (chimedashboard.BillableDay{Date: date(3, 0), UserID: "u1", Email: "u1@example.com", Meetings: 1}) ||
		bill[1] != (chimedashboard.BillableDay{Date: date(5, 0), UserID: "u1", Email: "u1@example.com", Meetings: 1}) ||
		bill[2] != (chimedashboard.BillableDay{Date: date(7, 0), UserID: "u4", Email: "u4@example.com", Meetings: 1}) {
		t.Errorf("billable days: %+v", bill)
	}
	if page, _ := s.BillableDays(ctx, "acc", date(1, 0), date(30, 0), date(3, 0), "u1", 10); len(page) != 2 || !page[0].Date.Equal(date(5, 0)) {
		t.Errorf("next page: %+v", page)
	}
	if aws, deleted, err := s.Owner(ctx, "acc"); aws != "111122223333" || deleted || err != nil {
		t.Errorf("owner: %s %v %v", aws, deleted, err)
	}
}
