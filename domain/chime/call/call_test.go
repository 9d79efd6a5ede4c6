package call_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/call"
)

func given(evs ...call.Event) call.State {
	s := call.Initial()
	for _, e := range evs {
		s = call.Evolve(s, e)
	}
	return s
}

// when decides c on the state and folds what it decided.
func when(t *testing.T, s call.State, c call.Command, now time.Time) (call.State, []call.Event) {
	t.Helper()
	evs, err := call.Decide(s, c, now)
	if err != nil {
		t.Fatalf("%T: %v", c, err)
	}
	for _, e := range evs {
		s = call.Evolve(s, e)
	}
	return s, evs
}

func kind(err error) domain.Kind {
	var de *domain.Error
	if errors.As(err, &de) {
		return de.Kind
	}
	return 0
}

// TestAnsweredCallYieldsTheGuidesCDR: the guide's sample call (placed 1556009595, answered 1556009611,
// hung up 1556009623) gives a CDR with every value a string, 12 billable seconds (.2 minute), and the
// key of the guide's example layout.
func TestAnsweredCallYieldsTheGuidesCDR(t *testing.T) {
	t0 := time.Unix(1556009595, 20_000_000).UTC()
	s := given()
	p := call.Place{ConferenceID: placed.ConferenceID, AwsAccountID: placed.AwsAccountID, AccountID: placed.AccountID,
		OrganizerUserID: placed.OrganizerUserID, OrganizerEmail: placed.OrganizerEmail, Legs: placed.Legs, At: t0}
	s, _ = when(t, s, p, time.Time{})
	if s.CDRs() != nil {
		t.Fatal("no CDR before the conference ends")
	}
	s, _ = when(t, s, call.Connect{LegID: placed.Legs[0].LegID, At: time.Unix(1556009611, 20_000_000)}, time.Time{})
	s, evs := when(t, s, call.End{LegID: placed.Legs[0].LegID, Reason: call.ReasonCompleted, At: time.Unix(1556009623, 0)}, time.Time{})
	if len(evs) != 2 || evs[1].EventType() != call.TypeConferenceEnded {
		t.Fatalf("the last leg's end ends the conference: %v", evs)
	}
	cdrs := s.CDRs()
	if len(cdrs) != 1 {
		t.Fatalf("%d CDRs", len(cdrs))
	}
	got, _ := json.Marshal(cdrs[0])
	want := `{"SchemaVersion":"2.0","CdrId":"1a234567-89bc-01d2-3456-e78f9g01234h","ServiceCode":"AmazonChimeBusinessCalling",` +
		`"ChimeAccountId":"12a3456b-7c89-012d-3456-78901e23fg45","AwsAccountId":"111122223333","ConferenceId":"123a4567-b890-1234-5678-cd90efgh1234",` +
		`"ConferencePin":"XXXXXXXXXX","OrganizerUserId":"1ab2345c-67de-8901-f23g-45h678901j2k","OrganizerEmail":"jdoe@example.com",` +
		`"CallerPhoneNumber":"+12065550100","CallerCountry":"US","DestinationPhoneNumber":"+12065550101","DestinationCountry":"US",` +
		`"ConferenceStartTimeEpochSeconds":"1556009595","ConferenceEndTimeEpochSeconds":"1556009623","StartTimeEpochSeconds":"1556009611",` +
		`"EndTimeEpochSeconds":"1556009623","BillableDurationSeconds":"12","BillableDurationMinutes":".2","Direction":"Outbound"}`
	if string(got) != want {
		t.Fatalf("CDR:\n%s\nwant\n%s", got, want)
	}
	if k := s.CDRKey(s.Legs[0]); k != "Amazon-Chime-Business-Calling-CDRs/json/111122223333/2019/04/23/123a4567-b890-1234-5678-cd90efgh1234_2019-04-23-08.53.31.020_1a234567-89bc-01d2-3456-e78f9g01234h" {
		t.Fatalf("key %s", k)
	}
}

func TestLegRulesAndUnansweredLegs(t *testing.T) {
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	two := call.Place{ConferenceID: "c1", AwsAccountID: "111122223333", AccountID: "a1", OrganizerUserID: "u1", Legs: []call.Leg{
		{LegID: "l1", Direction: call.Outbound, From: "+12065550100", To: "+14165550101", FromCountry: "US", ToCountry: "CA", UserID: "u1"},
		{LegID: "l2", Direction: call.Inbound, From: "+12065550100", To: "+14165550101", FromCountry: "US", ToCountry: "CA", UserID: "u2"}}}
	s, _ := when(t, given(), two, now)
	if _, err := call.Decide(s, two, now); kind(err) != domain.KindConflict {
		t.Fatalf("placing twice: %v", err)
	}
	if _, err := call.Decide(given(), call.Connect{LegID: "l1"}, now); kind(err) != domain.KindNotFound {
		t.Fatalf("connect before placing: %v", err)
	}
	if _, err := call.Decide(s, call.Connect{LegID: "l9"}, now); kind(err) != domain.KindNotFound {
		t.Fatalf("unknown leg: %v", err)
	}
	s, evs := when(t, s, call.End{LegID: "l2", Reason: call.ReasonNoAnswer, At: now.Add(30 * time.Second)}, now)
	if len(evs) != 1 {
		t.Fatalf("one leg still up: the conference goes on: %v", evs)
	}
	if _, err := call.Decide(s, call.Connect{LegID: "l2"}, now); kind(err) != domain.KindUnprocessable {
		t.Fatalf("answering an ended leg: %v", err)
	}
	if evs, err := call.Decide(s, call.End{LegID: "l2", Reason: call.ReasonNoAnswer}, now); err != nil || len(evs) != 0 {
		t.Fatalf("a second report of the same end changes nothing: %v %v", evs, err)
	}
	if _, err := call.Decide(s, call.End{LegID: "l1", Reason: "Whatever"}, now); kind(err) != domain.KindInvalid {
		t.Fatalf("unknown reason: %v", err)
	}
	s, _ = when(t, s, call.End{LegID: "l1", Reason: call.ReasonRestart, At: now.Add(time.Minute)}, now)
	cdrs := s.CDRs()
	if len(cdrs) != 2 || cdrs[0].BillableDurationSeconds != "0" || cdrs[0].BillableDurationMinutes != "0" ||
		cdrs[1].Direction != call.Inbound || cdrs[1].StartTimeEpochSeconds != cdrs[1].ConferenceStartTimeEpochSeconds {
		t.Fatalf("unanswered legs bill nothing and start when placed: %+v", cdrs)
	}
	for _, bad := range []call.Place{{ConferenceID: "c2"}, {ConferenceID: "c2", Legs: []call.Leg{{LegID: "x", Direction: "Sideways", From: "+1", To: "+2"}}},
		{ConferenceID: "c2", Legs: []call.Leg{{LegID: "x", Direction: call.Outbound, From: "+1", To: "+2"}, {LegID: "x", Direction: call.Inbound, From: "+1", To: "+2"}}}} {
		if _, err := call.Decide(given(), bad, now); kind(err) != domain.KindInvalid {
			t.Fatalf("%+v: %v", bad, err)
		}
	}
}

func TestBillableMinutesAndCountries(t *testing.T) {
	for sec, want := range map[int64]string{0: "0", 2: "0", 3: ".1", 24: ".4", 59: "1", 60: "1", 90: "1.5", 3600: "60", 3629: "60.5"} {
		if got := call.BillableMinutes(sec); got != want {
			t.Errorf("%d s: %q, want %q", sec, got, want)
		}
	}
	for n, want := range map[string]string{"+12065550100": "US", "+14165550100": "CA", "+442071838750": "GB", "+353112345678": "IE", "+99912345": ""} {
		if got := call.CountryOf(n); got != want {
			t.Errorf("%s: %q, want %q", n, got, want)
		}
	}
}

// TestLegsReportedOutOfOrder: a carrier whose reports come out of order (the leg that ended first
// reported last, a connection stamped before the call was placed) gives a conference that ends at
// its latest leg's end, and legs that connect no earlier than the call was placed.
func TestLegsReportedOutOfOrder(t *testing.T) {
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	two := call.Place{ConferenceID: "c1", AwsAccountID: "111122223333", AccountID: "a1", OrganizerUserID: "u1", Legs: []call.Leg{
		{LegID: "l1", Direction: call.Outbound, From: "+12065550100", To: "+14165550101", FromCountry: "US", ToCountry: "CA", UserID: "u1"},
		{LegID: "l2", Direction: call.Inbound, From: "+12065550100", To: "+14165550101", FromCountry: "US", ToCountry: "CA", UserID: "u2"}}}
	s, _ := when(t, given(), two, now)
	s, evs := when(t, s, call.Connect{LegID: "l1", At: now.Add(-time.Minute)}, now)
	if c := evs[0].(call.LegConnected); !c.At.Equal(now) {
		t.Fatalf("a leg connected before its call was placed: %v", c.At)
	}
	s, _ = when(t, s, call.Connect{LegID: "l2", At: now.Add(time.Second)}, now)
	s, _ = when(t, s, call.End{LegID: "l2", Reason: call.ReasonCompleted, At: now.Add(3 * time.Minute)}, now)
	_, evs = when(t, s, call.End{LegID: "l1", Reason: call.ReasonCompleted, At: now.Add(2 * time.Minute)}, now)
	if len(evs) != 2 {
		t.Fatalf("the last leg's end ends the conference: %v", evs)
	}
	if e := evs[1].(call.ConferenceEnded); !e.At.Equal(now.Add(3 * time.Minute)) {
		t.Fatalf("the conference ends at %v, before its latest leg's end %v", e.At, now.Add(3*time.Minute))
	}
}
