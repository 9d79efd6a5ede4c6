package call_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/belfry/belfry/domain/chime/call"
)

// TestUnansweredLegEndsNoEarlierThanPlaced: a carrier whose clock is behind reports the end of a
// leg that never connected before the call was placed; the leg (and the conference) ends when the
// call was placed, not before, so its CDR never ends before it starts (as a connection stamped
// before the placing connects at the placing).
func TestUnansweredLegEndsNoEarlierThanPlaced(t *testing.T) {
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	one := call.Place{ConferenceID: "c1", AwsAccountID: "111122223333", AccountID: "a1", OrganizerUserID: "u1", Legs: []call.Leg{
		{LegID: "l1", Direction: call.Outbound, From: "+12065550100", To: "+14165550101", FromCountry: "US", ToCountry: "CA", UserID: "u1"}}}
	s, _ := when(t, given(), one, now)
	s, evs := when(t, s, call.End{LegID: "l1", Reason: call.ReasonBusy, At: now.Add(-time.Hour)}, now)
	if e := evs[0].(call.LegEnded); e.At.Before(now) {
		t.Errorf("the leg ended at %v, before its call was placed at %v", e.At, now)
	}
	cdrs := s.CDRs()
	if len(cdrs) != 1 {
		t.Fatalf("%d CDRs", len(cdrs))
	}
	c := cdrs[0]
	start, _ := strconv.ParseInt(c.StartTimeEpochSeconds, 10, 64)
	end, _ := strconv.ParseInt(c.EndTimeEpochSeconds, 10, 64)
	cstart, _ := strconv.ParseInt(c.ConferenceStartTimeEpochSeconds, 10, 64)
	cend, _ := strconv.ParseInt(c.ConferenceEndTimeEpochSeconds, 10, 64)
	if end < start || cend < cstart {
		t.Fatalf("a CDR that ends before it starts: %+v", c)
	}
}
