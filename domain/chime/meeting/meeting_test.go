package meeting_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/meeting"
)

var now = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// pin is u1's PIN sealed under u1's key in account a1 (opaque bytes to the domain).
var pin = domain.Sealed{KeyID: domain.SubjectKeyID("a1", account.UserKeySubject("u1")), Data: []byte{1, 2, 3}}

var (
	pro       = meeting.Host{UserID: "u1", Exists: true, License: "Pro"}
	basic     = meeting.Host{UserID: "u1", Exists: true, License: "Basic"}
	suspended = meeting.Host{UserID: "u1", Exists: true, Suspended: true, License: "Pro"}
	scheduled = meeting.Scheduled{AccountID: "a1", OrganizerID: "u1", Title: "Weekly", StartsAt: now.Add(time.Hour), PIN: pin, At: now}
	disabled  = meeting.Disabled{Reason: meeting.ReasonDomainRemoved, At: now}
)

func given(events ...meeting.Event) meeting.State {
	s := meeting.Initial()
	for _, e := range events {
		s = meeting.Evolve(s, e)
	}
	return s
}

func TestDecide(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		given   []meeting.Event
		when    meeting.Command
		want    []meeting.Event
		wantErr error
	}{
		{"a Pro user schedules", nil, meeting.Schedule{AccountID: "a1", Organizer: pro, Title: " Weekly ", StartsAt: now.Add(time.Hour), PIN: pin},
			[]meeting.Event{scheduled}, nil},
		{"the PIN must be sealed", nil, meeting.Schedule{AccountID: "a1", Organizer: pro, Title: "Weekly", StartsAt: now.Add(time.Hour),
			PIN: domain.Sealed{Data: []byte("1234567890")}}, nil, account.ErrUnsealed},
		{"under the organiser's key", nil, meeting.Schedule{AccountID: "a1", Organizer: pro, Title: "Weekly", StartsAt: now.Add(time.Hour),
			PIN: domain.Sealed{KeyID: domain.SubjectKeyID("a1", account.UserKeySubject("u2")), Data: []byte{1}}}, nil, account.ErrUnsealed},
		{"a Basic user has no host role", nil, meeting.Schedule{AccountID: "a1", Organizer: basic, Title: "Weekly", StartsAt: now}, nil, meeting.ErrNotHost},
		{"a suspended user cannot schedule", nil, meeting.Schedule{AccountID: "a1", Organizer: suspended, Title: "Weekly", StartsAt: now}, nil, meeting.ErrNotHost},
		{"a title is required", nil, meeting.Schedule{AccountID: "a1", Organizer: pro, Title: "  ", StartsAt: now}, nil, meeting.ErrInvalid},
		{"not in the past", nil, meeting.Schedule{AccountID: "a1", Organizer: pro, Title: "x", StartsAt: now.Add(-2 * time.Hour)}, nil, meeting.ErrInvalid},
		{"scheduled once", []meeting.Event{scheduled}, meeting.Schedule{AccountID: "a1", Organizer: pro, Title: "x", StartsAt: now}, nil, meeting.ErrExists},
		{"a member starts it", []meeting.Event{scheduled}, meeting.Start{AccountID: "a1", By: "u2", Organizer: pro},
			[]meeting.Event{meeting.Started{By: "u2", At: now}}, nil},
		{"another account cannot see it", []meeting.Event{scheduled}, meeting.Start{AccountID: "a2", By: "u2", Organizer: pro}, nil, meeting.ErrNotFound},
		{"a disabled meeting never starts", []meeting.Event{scheduled, disabled}, meeting.Start{AccountID: "a1", By: "u2", Organizer: pro}, nil, meeting.ErrDisabled},
		{"nor when its organiser was suspended since", []meeting.Event{scheduled}, meeting.Start{AccountID: "a1", By: "u2", Organizer: suspended}, nil, meeting.ErrDisabled},
		{"disable a scheduled meeting", []meeting.Event{scheduled}, meeting.Disable{AccountID: "a1", Reason: meeting.ReasonDomainRemoved},
			[]meeting.Event{disabled}, nil},
		{"disable is idempotent", []meeting.Event{scheduled, disabled}, meeting.Disable{AccountID: "a1", Reason: meeting.ReasonDomainRemoved}, nil, nil},
		{"disable leaves a started meeting alone", []meeting.Event{scheduled, meeting.Started{By: "u1"}}, meeting.Disable{AccountID: "a1"}, nil, nil},
		{"only the organiser cancels", []meeting.Event{scheduled}, meeting.Cancel{AccountID: "a1", By: "u2"}, nil, meeting.ErrNotOrganise},
		{"the organiser cancels", []meeting.Event{scheduled}, meeting.Cancel{AccountID: "a1", By: "u1"}, []meeting.Event{meeting.Cancelled{At: now}}, nil},
		{"a cancelled meeting does not start", []meeting.Event{scheduled, meeting.Cancelled{}}, meeting.Start{AccountID: "a1", By: "u1", Organizer: pro}, nil, meeting.ErrNotOpen},
		{"end a started meeting", []meeting.Event{scheduled, meeting.Started{By: "u1"}}, meeting.End{AccountID: "a1"}, []meeting.Event{meeting.Ended{Reason: meeting.EndReasonEndedByHost, At: now}}, nil},
		{"end needs a start", []meeting.Event{scheduled}, meeting.End{AccountID: "a1"}, nil, meeting.ErrNotOpen},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := meeting.Decide(given(tc.given...), tc.when, now)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("want error %v, got %v", tc.wantErr, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("want %#v, got %#v", tc.want, got)
			}
		})
	}
}

func TestEventsRoundTrip(t *testing.T) {
	t.Parallel()
	for _, e := range []meeting.Event{scheduled, meeting.Started{By: "u1", At: now}, meeting.Ended{At: now}, meeting.Cancelled{At: now}, disabled} {
		b, _ := json.Marshal(e)
		back, err := meeting.Decode(e.EventType(), b)
		if err != nil || !reflect.DeepEqual(back, e) {
			t.Fatalf("%s: %v %#v", e.EventType(), err, back)
		}
	}
}

// TestScheduledGolden pins the stored shape of Scheduled (a sealed PIN only) and keeps decoding
// events stored before sealing (the plain PIN lands in LegacyPIN).
func TestScheduledGolden(t *testing.T) {
	t.Parallel()
	b, _ := json.Marshal(scheduled)
	const golden = `{"accountId":"a1","organizerId":"u1","organizerEmail":"","title":"Weekly","startsAt":"2026-11-23T10:00:00Z",` +
		`"sealedPin":{"keyId":"subject/a1/user/u1","data":"AQID"},"at":"2026-11-23T09:00:00Z"}`
	if string(b) != golden {
		t.Fatalf("got  %s\nwant %s", b, golden)
	}
	old, err := meeting.Decode(meeting.TypeScheduled, []byte(`{"accountId":"a1","organizerId":"u1","organizerEmail":"a@x.example","title":"Old",`+
		`"startsAt":"2026-01-01T10:00:00Z","pin":"1234567890","at":"2026-01-01T09:00:00Z"}`))
	if err != nil || old.(meeting.Scheduled).LegacyPIN != "1234567890" || !old.(meeting.Scheduled).PIN.IsZero() {
		t.Fatalf("legacy Scheduled: %#v %v", old, err)
	}
}
