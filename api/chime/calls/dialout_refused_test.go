package calls_test

import (
	"context"
	"testing"
	"time"

	"github.com/belfry/belfry/api/chime/calls"
	"github.com/belfry/belfry/domain/chime/call"
	"github.com/belfry/belfry/domain/chime/meeting"
	"github.com/belfry/belfry/infra/carrier"
)

// TestDialOutRefusedByTheMeetingEndsTheCall: a dial-out's callee answers but the meeting no longer
// takes them (here a moderator locked it); the carrier drops the leg, and the call ends with it
// (Completed, since it was answered) and yields its CDR, instead of staying Connected forever.
func TestDialOutRefusedByTheMeetingEndsTheCall(t *testing.T) {
	ctx := context.Background()
	const aws = "111122223333"
	meetings, callRepo := newMeetingRepo(), newCallRepo()
	id := startedMeeting(t, meetings, meeting.Lock{AccountID: "a1", By: "host-attendee", On: true})
	svc := calls.New(calls.Deps{Calls: callRepo, Accounts: accounts{aws}, AccountState: accounts{aws}, Meetings: meetings, Numbers: inventory{},
		Carrier: &carrier.Sim{Ring: time.Second, Talk: time.Hour, Speed: 100}, Logger: logger{}, Now: time.Now})
	conf, err := svc.DialOut(ctx, aws, id, "+12065550100", "+13605550199", "dGhlLWpvaW4tdG9rZW4")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	var st call.State
	for time.Now().Before(deadline) {
		if st, _, _ = callRepo.Load(ctx, call.StreamName(conf)); !st.Ended.IsZero() {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st.Ended.IsZero() || len(st.Legs) != 1 {
		t.Fatalf("the call is still up after the meeting refused its callee and the carrier dropped it: %+v", st.Legs)
	}
	if l := st.Legs[0]; l.Connected.IsZero() || l.Reason != call.ReasonCompleted {
		t.Fatalf("leg %+v: want answered, then Completed", l)
	}
	if cdrs := st.CDRs(); len(cdrs) != 1 {
		t.Fatalf("%d CDRs, want one for the leg", len(cdrs))
	}
	m, _, _ := meetings.Load(ctx, meeting.StreamName(id))
	if m.InRoster(calls.PhoneUserPrefix + "+13605550199") {
		t.Fatal("the callee joined a locked meeting")
	}
}
