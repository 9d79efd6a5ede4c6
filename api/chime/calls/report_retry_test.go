package calls_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/belfry/belfry/api/chime/calls"
	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/api/internal/memrepo"
	"github.com/belfry/belfry/domain/chime/call"
	"github.com/belfry/belfry/infra/carrier"
)

// flakyCalls is a call repository whose store fails the first fails leg ends it is asked to record
// (a transient error: the event store briefly unreachable).
type flakyCalls struct {
	*memrepo.Repo[call.State, call.Command, call.Event]
	fails atomic.Int32
}

func (f *flakyCalls) Execute(ctx context.Context, stream string, c call.Command) (usecase.Decided[call.State, call.Event], error) {
	if _, ok := c.(call.End); ok && f.fails.Add(-1) >= 0 {
		return usecase.Decided[call.State, call.Event]{}, errors.New("append: connection refused")
	}
	return f.Repo.Execute(ctx, stream, c)
}

// TestCarrierEndSurvivesATransientStoreFailure: the carrier reports a leg's end (here: busy) while
// the event store briefly fails. The end is the carrier's one and only report of it; dropping it
// leaves the call live, billed until the server stops (then ServiceRestart), with no CDR until then.
// The report must be recorded once the store is back, with the carrier's reason.
func TestCarrierEndSurvivesATransientStoreFailure(t *testing.T) {
	ctx := context.Background()
	const aws = "111122223333"
	meetings := newMeetingRepo()
	callRepo := &flakyCalls{Repo: newCallRepo()}
	callRepo.fails.Store(2)
	id := startedMeeting(t, meetings)
	svc := calls.New(calls.Deps{Calls: callRepo, Accounts: accounts{aws}, AccountState: accounts{aws}, Meetings: meetings, Numbers: inventory{},
		Carrier: &carrier.Sim{Speed: 100}, Logger: logger{}, Now: time.Now})
	conf, err := svc.DialOut(ctx, aws, id, "+12065550100", "+13605550001", "dGhlLWpvaW4tdG9rZW4") // 0001: busy at once
	if err != nil {
		t.Fatal(err)
	}
	var st call.State
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if st, _, _ = callRepo.Load(ctx, call.StreamName(conf)); !st.Ended.IsZero() {
			break
		}
	}
	if st.Ended.IsZero() || len(st.Legs) != 1 || st.Legs[0].Reason != call.ReasonBusy {
		t.Fatalf("the carrier's end was lost to a transient store failure: the call is still live: %+v", st.Legs)
	}
}
