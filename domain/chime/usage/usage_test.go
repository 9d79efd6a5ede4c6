package usage_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/conversation"
	"github.com/belfry/belfry/domain/chime/meeting"
	"github.com/belfry/belfry/domain/chime/room"
	"github.com/belfry/belfry/domain/chime/usage"
)

func day(d, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, time.UTC) }

// TestWeekAndKey: a week starts on Sunday 00:00 UTC; a report is due from the Monday after it; the
// key holds the Sunday twice and the account name escaped with '+' for a space.
func TestWeekAndKey(t *testing.T) {
	for _, c := range []struct{ at, start time.Time }{{day(8, 0), day(8, 0)}, {day(14, 23), day(8, 0)}, {day(15, 0), day(15, 0)}, {day(11, 5), day(8, 0)}} {
		if got := usage.WeekStart(c.at); !got.Equal(c.start) {
			t.Errorf("WeekStart(%s) = %s, want %s", c.at, got, c.start)
		}
	}
	for _, c := range []struct{ now, due time.Time }{{day(16, 0), day(8, 0)}, {day(15, 23), day(1, 0)}, {day(21, 12), day(8, 0)}} {
		if got := usage.LatestDue(c.now); !got.Equal(c.due) {
			t.Errorf("LatestDue(%s) = %s, want %s", c.now, got, c.due)
		}
	}
	want := "Amazon-Chime-User-Activity-Reports/csv/123456789012/2026/03/08/Example+Sales%2FEU_86efea2f-96af-40f7-be75-be057ff52c8c_20260308.csv"
	if got := usage.Key("123456789012", "Example Sales/EU", "86efea2f-96af-40f7-be75-be057ff52c8c", day(8, 0)); got != want {
		t.Errorf("Key = %s\nwant  %s", got, want)
	}
}

type ev interface{ EventType() string }

// TestTallyCountsTheWeek: activity outside the week, bots' posts and directory changes after the
// account's cutoff do not count; a suspended user keeps its row.
func TestTallyCountsTheWeek(t *testing.T) {
	tl := usage.NewTally(day(8, 0))
	tl.Cutoff = func(string) uint64 { return 100 }
	pos := uint64(0)
	apply := func(stream string, e ev) {
		t.Helper()
		pos++
		b, _ := json.Marshal(e)
		if err := tl.Apply(stream, e.EventType(), pos, b); err != nil {
			t.Fatal(err)
		}
	}
	acc := account.StreamName("acc")
	apply(acc, account.Created{AccountID: "acc", AwsAccountID: "111122223333", Name: "Example Sales", AccountType: "Team", CreatedAt: day(1, 0)})
	apply(acc, account.UserAdded{UserID: "u1", Email: "ana@example.com", Username: "Ana", LicenseType: "Pro", CreatedAt: day(2, 9)})
	apply(acc, account.UserAdded{UserID: "u2", Email: "bo@example.com", Username: "Bo", LicenseType: "Pro", CreatedAt: day(3, 9)})
	apply(acc, account.UserSuspended{UserID: "u2"})
	apply(usage.SignInStream("u1"), usage.SignedIn{AccountID: "acc", UserID: "u1", At: day(9, 8)})
	apply(usage.SignInStream("u1"), usage.SignedIn{AccountID: "acc", UserID: "u1", At: day(15, 8)}) // after the week
	m := meeting.StreamName("m1")
	apply(m, meeting.Scheduled{AccountID: "acc", OrganizerID: "u1", At: day(1, 0)})
	apply(m, meeting.Started{By: "u1", At: day(9, 10)})
	apply(m, meeting.AttendeeJoined{AttendeeID: "a1", UserID: "u1", At: day(9, 10)})
	apply(m, meeting.AttendeeJoined{AttendeeID: "a2", UserID: "u2", At: day(9, 10)})
	apply(m, meeting.AttendeeJoined{AttendeeID: "a3", UserID: "u2", At: day(9, 11)}) // the same meeting again
	apply(conversation.StreamName("c1"), conversation.MessagePosted{MessageID: "x", SenderID: "u1", At: day(10, 0)})
	apply(conversation.StreamName("c1"), conversation.MessagePosted{MessageID: "y", SenderID: "u1", At: day(7, 0)}) // before
	apply(room.StreamName("r1"), room.MessagePosted{MessageID: "z", SenderID: "u1", SenderType: room.MemberUser, At: day(14, 23)})
	apply(room.StreamName("r1"), room.MessagePosted{MessageID: "b", SenderID: "u1", SenderType: room.MemberBot, At: day(10, 0)})
	pos = 200
	apply(acc, account.UserAdded{UserID: "u3", Email: "late@example.com", CreatedAt: day(16, 0)}) // after the cutoff
	rows := tl.Rows("acc")
	want := []usage.Row{
		{DisplayName: "Ana", Email: "ana@example.com", Registration: "Unregistered", Created: day(2, 9), LastLogin: day(9, 8), Attended: 1, Hosted: 1, ChatSent: 2},
		{DisplayName: "Bo", Email: "bo@example.com", Registration: "Suspended", Created: day(3, 9), Attended: 1},
	}
	if len(rows) != len(want) {
		t.Fatalf("rows = %+v", rows)
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("row %d = %+v, want %+v", i, rows[i], want[i])
		}
	}
	cells := rows[0].Cells("Example Sales", day(8, 0))
	if got := []string{cells[1], cells[5], cells[6]}; got[0] != "20260308" || got[1] != "20260302" || got[2] != "2026-03-09T08:00:00.000Z" {
		t.Errorf("cells = %q", cells)
	}
}
