package settings_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry/domain/chime/settings"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

func TestDecide(t *testing.T) {
	t.Parallel()
	named := settings.CallingNameUpdated{CallingName: "Department 5", At: now.Add(-8 * 24 * time.Hour)}
	recent := settings.CallingNameUpdated{CallingName: "Department 5", At: now.Add(-6 * 24 * time.Hour)}
	cases := []struct {
		name    string
		given   []settings.Event
		when    settings.Command
		want    []settings.Event
		wantErr error
	}{
		{"set CDR bucket", nil, settings.UpdateGlobal{BusinessCallingCdrBucket: ptr("my-cdr.bucket-1")},
			[]settings.Event{settings.GlobalSettingsUpdated{BusinessCallingCdrBucket: "my-cdr.bucket-1"}}, nil},
		{"turn off", []settings.Event{settings.GlobalSettingsUpdated{BusinessCallingCdrBucket: "abc"}}, settings.UpdateGlobal{BusinessCallingCdrBucket: ptr("")},
			[]settings.Event{settings.GlobalSettingsUpdated{}}, nil},
		{"unchanged", []settings.Event{settings.GlobalSettingsUpdated{VoiceConnectorCdrBucket: "abc"}}, settings.UpdateGlobal{VoiceConnectorCdrBucket: ptr("abc")}, nil, nil},
		{"calling name", nil, settings.UpdateCallingName{CallingName: "Jane Doe"}, []settings.Event{settings.CallingNameUpdated{CallingName: "Jane Doe", At: now}}, nil},
		{"calling name of 16", nil, settings.UpdateCallingName{CallingName: strings.Repeat("x", 16)}, nil, settings.ErrInvalidCallingName},
		{"calling name again after 8 days", []settings.Event{named}, settings.UpdateCallingName{CallingName: "Other"},
			[]settings.Event{settings.CallingNameUpdated{CallingName: "Other", At: now}}, nil},
		{"calling name again after 6 days", []settings.Event{recent}, settings.UpdateCallingName{CallingName: "Other"}, nil, settings.ErrTooSoon},
		{"clear the calling name", []settings.Event{named}, settings.UpdateCallingName{}, []settings.Event{settings.CallingNameUpdated{At: now}}, nil},
		{"clear no calling name", nil, settings.UpdateCallingName{}, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := settings.Initial()
			for _, e := range tc.given {
				s = settings.Evolve(s, e)
			}
			got, err := settings.Decide(s, tc.when, now)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("want %v, got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#v, %v; want %#v", got, err, tc.want)
			}
			for _, e := range got {
				back, err := settings.Decode(e.EventType(), mustJSON(e))
				if err != nil || !reflect.DeepEqual(back, e) {
					t.Fatalf("round trip of %s: %#v %v", e.EventType(), back, err)
				}
			}
		})
	}
}

func TestBucketNames(t *testing.T) {
	t.Parallel()
	for name, ok := range map[string]bool{
		"abc": true, "my.cdr-bucket1": true, "1bucket": true, strings.Repeat("a", 63): true, "": true,
		"ab": false, strings.Repeat("a", 64): false, "Upper": false, "-start": false, "end-": false, "end.": false,
		"a..b": false, "a.-b": false, "a-.b": false, "192.168.5.4": false, "under_score": false, ".dot": false,
	} {
		if err := settings.ValidateBucket("CdrBucket", name); (err == nil) != ok {
			t.Errorf("%q: ok=%v err=%v", name, ok, err)
		}
	}
}

func TestCallingNameStatus(t *testing.T) {
	t.Parallel()
	at := now.Add(-71 * time.Hour)
	if s := settings.CallingNameStatus("X", at, now, 72*time.Hour); s != settings.CallingNameUpdateInProgress {
		t.Fatal(s)
	}
	if s := settings.CallingNameStatus("X", at, now.Add(2*time.Hour), 72*time.Hour); s != settings.CallingNameUpdateSucceeded {
		t.Fatal(s)
	}
	if s := settings.CallingNameStatus("", at, now, 72*time.Hour); s != settings.CallingNameUnassigned {
		t.Fatal(s)
	}
}

// TestUsageReporting: turning reporting on records since when; moving to another bucket keeps that
// time; the same bucket again changes nothing; off clears it; a bad bucket name is refused.
func TestUsageReporting(t *testing.T) {
	t0 := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	s := settings.Initial()
	step := func(bucket string, at time.Time) []settings.Event {
		t.Helper()
		evs, err := settings.Decide(s, settings.UpdateUsageReporting{Bucket: bucket}, at)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			s = settings.Evolve(s, e)
		}
		return evs
	}
	step("usage-a", t0)
	if s.UsageReportBucket != "usage-a" || !s.UsageReportingSince.Equal(t0) {
		t.Fatalf("on: %+v", s)
	}
	if evs := step("usage-a", t0.Add(time.Hour)); len(evs) != 0 {
		t.Errorf("same bucket again: %v", evs)
	}
	step("usage-b", t0.Add(2*time.Hour))
	if s.UsageReportBucket != "usage-b" || !s.UsageReportingSince.Equal(t0) {
		t.Errorf("moved: %+v", s)
	}
	step("", t0.Add(3*time.Hour))
	if s.UsageReportBucket != "" || !s.UsageReportingSince.IsZero() {
		t.Errorf("off: %+v", s)
	}
	if _, err := settings.Decide(s, settings.UpdateUsageReporting{Bucket: "Bad_Bucket"}, t0); !errors.Is(err, settings.ErrInvalidBucket) {
		t.Errorf("bad bucket: %v", err)
	}
}
