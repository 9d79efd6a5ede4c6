package calls_test

import (
	"context"
	"testing"
	"time"

	"github.com/belfry/belfry/api/chime/calls"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/call"
	"github.com/belfry/belfry/domain/chime/phonenumber"
	"github.com/belfry/belfry/infra/carrier"
	"github.com/belfry/belfry/projections/chimenumbers"
)

// deletionQueue holds every number, in the deletion queue (deleted a minute ago, still restorable:
// the numbers read model's Get answers it, as GetPhoneNumber must).
type deletionQueue struct{}

func (deletionQueue) Get(_ context.Context, aws, e164 string, now time.Time) (chimenumbers.Number, error) {
	at := now.Add(-time.Minute)
	return chimenumbers.Number{E164: e164, AwsAccountID: aws, Status: phonenumber.StatusDeleteInProgress, DeletedAt: &at}, nil
}

// TestDialOutFromADeletedNumberIsRefused: a number in the deletion queue is no longer in the
// inventory (guide §6.7); CreateMeetingDialOut must not place a call from it (400, no call).
func TestDialOutFromADeletedNumberIsRefused(t *testing.T) {
	ctx := context.Background()
	const aws = "111122223333"
	meetings, callRepo := newMeetingRepo(), newCallRepo()
	id := startedMeeting(t, meetings)
	svc := calls.New(calls.Deps{Calls: callRepo, Accounts: accounts{aws}, AccountState: accounts{aws}, Meetings: meetings, Numbers: deletionQueue{},
		Carrier: &carrier.Sim{Ring: time.Second, Talk: time.Hour, Speed: 100}, Logger: logger{}, Now: time.Now})
	conf, err := svc.DialOut(ctx, aws, id, "+12065550100", "+13605550199", "dGhlLWpvaW4tdG9rZW4")
	if domain.KindOf(err) != domain.KindInvalid {
		t.Fatalf("dial-out from a number in the deletion queue: %q, %v; want a BadRequest", conf, err)
	}
	callRepo.Range(func(stream string, st call.State) {
		t.Errorf("a call was placed from a deleted number: %s %+v", stream, st.Legs)
	})
}
