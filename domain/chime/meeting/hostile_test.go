package meeting_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry/domain/chime/meeting"
)

// TestScheduleRefusesWhatCannotBeStored: a title with a NUL (a PostgreSQL text column refuses it,
// so the read model parks the event and the meeting is never found) or invalid UTF-8, and a start
// time whose UTC year is past 9999 (an event that cannot be encoded as JSON), are refused as
// invalid before anything is appended; every Scheduled decided encodes.
func TestScheduleRefusesWhatCannotBeStored(t *testing.T) {
	t.Parallel()
	farEast := time.FixedZone("-23:59", -(23*3600 + 59*60))
	cases := map[string]meeting.Schedule{
		"a NUL in the title":             {Title: "Stand\x00up", StartsAt: now.Add(time.Hour)},
		"a NUL past the title's edge":    {Title: strings.Repeat("a", meeting.MaxTitle-1) + "\x00", StartsAt: now.Add(time.Hour)},
		"invalid UTF-8 in the title":     {Title: "Stand\xffup", StartsAt: now.Add(time.Hour)},
		"a start past year 9999 in UTC":  {Title: "Weekly", StartsAt: time.Date(9999, 12, 31, 23, 59, 59, 0, farEast)},
		"a start in year 10000 or later": {Title: "Weekly", StartsAt: time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for name, c := range cases {
		c.AccountID, c.Organizer, c.PIN = "a1", pro, pin
		evs, err := meeting.Decide(meeting.Initial(), c, now)
		if !errors.Is(err, meeting.ErrInvalid) {
			t.Errorf("%s: %v %v, want ErrInvalid", name, evs, err)
		}
		for _, e := range evs {
			if _, err := json.Marshal(e); err != nil {
				t.Errorf("%s: a decided event cannot be stored: %v", name, err)
			}
		}
	}
	// The last representable instant is accepted and encodes.
	last := meeting.Schedule{AccountID: "a1", Organizer: pro, PIN: pin, Title: "Weekly", StartsAt: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)}
	evs, err := meeting.Decide(meeting.Initial(), last, now)
	if err != nil || len(evs) != 1 {
		t.Fatalf("a start on 9999-12-31: %v %v", evs, err)
	}
	if _, err := json.Marshal(evs[0]); err != nil {
		t.Fatal(err)
	}
}
