package chimedashboard_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/belfry/belfry/api/chime/calls"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/meeting"
	"github.com/belfry/belfry/infra/eventlog/eventlogtest"
	"github.com/belfry/belfry/projections/chimedashboard"
	"github.com/belfry/belfry/projections/projectiontest"
)

// TestPhoneAttendeesAreNotUsers: a number dialled out into a meeting (CreateMeetingDialOut) joins its
// roster as the attendee "pstn:<number>". It is not a user of the account: it is no active user and
// does not count toward a meeting's three users; it is the meeting's phone attendee, which makes the
// organiser's day billable (guide §5.5: "the meeting included a dial-in (PSTN) attendee").
func TestPhoneAttendeesAreNotUsers(t *testing.T) {
	pool, client := eventlogtest.Start(t)
	ctx := context.Background()
	var head uint64
	emit := func(stream string, evs ...event) {
		t.Helper()
		data := make([]esdb.EventData, len(evs))
		for i, e := range evs {
			b, _ := json.Marshal(e)
			data[i] = esdb.EventData{EventID: uuid.New(), EventType: e.EventType(), ContentType: esdb.ContentTypeJson, Data: b}
		}
		res, err := client.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{}, data...)
		if err != nil {
			t.Fatal(err)
		}
		head = res.CommitPosition
	}
	phone := calls.PhoneUserPrefix + "+12065550100"
	emit(account.StreamName("acc"), account.Created{AccountID: "acc", AwsAccountID: "111122223333", Name: "Dash", AccountType: "Team"},
		account.UserAdded{UserID: "u1", Email: "u1@example.com", LicenseType: "Pro"})
	// An ad hoc meeting of its organiser and a callee dialled out: two attendees, one a phone.
	emit(meeting.StreamName("m1"), meeting.Scheduled{AccountID: "acc", OrganizerID: "u1", At: date(1, 0)},
		meeting.AttendeeJoined{AttendeeID: "a1", UserID: "u1", At: date(3, 10)},
		meeting.AttendeeJoined{AttendeeID: "a2", UserID: phone, At: date(3, 11)},
		meeting.Ended{At: date(3, 12)})
	projectiontest.CatchUp(t, ctx, pool, client, chimedashboard.Projection{}, head)

	s := chimedashboard.NewStore(pool)
	d, err := s.Dashboard(ctx, "acc", date(3, 0), date(3, 0))
	if err != nil {
		t.Fatal(err)
	}
	if d.Days[0].ActiveUsers != 1 || d.Range.ActiveUsers != 1 {
		t.Errorf("active users %d (range %d), want 1: the phone attendee is no user", d.Days[0].ActiveUsers, d.Range.ActiveUsers)
	}
	bill, err := s.BillableDays(ctx, "acc", date(1, 0), date(30, 0), time.Time{}, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(bill) != 1 || bill[0] != (chimedashboard.BillableDay{Date: date(3, 0), UserID: "u1", Email: "u1@example.com", Meetings: 1}) {
		t.Errorf("billable days %+v, want u1 on the 3rd (a meeting with a phone attendee)", bill)
	}
}
