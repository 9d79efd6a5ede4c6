package calls_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/belfry/belfry/api/internal/memrepo"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/call"
	"github.com/belfry/belfry/domain/chime/meeting"
	"github.com/belfry/belfry/projections/chimenumbers"
)

// newCallRepo and newMeetingRepo run an aggregate's commands on states in memory, with the
// domain's Decide and Evolve, from the zero state.
func newCallRepo() *memrepo.Repo[call.State, call.Command, call.Event] {
	return memrepo.New(nil, call.Evolve, call.Decide)
}

func newMeetingRepo() *memrepo.Repo[meeting.State, meeting.Command, meeting.Event] {
	return memrepo.New(nil, meeting.Evolve, meeting.Decide)
}

// accounts is one account of an AWS account, dial-out enabled.
type accounts struct{ aws string }

func (a accounts) Peek(context.Context, string) (account.State, error) {
	return account.State{AwsAccountID: a.aws}, nil
}

func (a accounts) Load(context.Context, string) (account.State, int64, error) {
	return account.State{AwsAccountID: a.aws, Settings: account.Settings{EnableDialOut: true}}, 0, nil
}

// inventory holds every number.
type inventory struct{}

func (inventory) Get(_ context.Context, _, e164 string, _ time.Time) (chimenumbers.Number, error) {
	return chimenumbers.Number{}, nil
}

type logger struct{}

func (logger) Warn(string, ...any) {}

// startedMeeting is a meeting of account "a1" organised by user "u1", started by its host's join,
// then given the commands more (a lock, say); it answers the meeting's id.
func startedMeeting(t *testing.T, meetings *memrepo.Repo[meeting.State, meeting.Command, meeting.Event], more ...meeting.Command) string {
	t.Helper()
	const acct, org = "a1", "u1"
	id := uuid.NewString()
	pin := domain.Sealed{KeyID: domain.SubjectKeyID(acct, account.UserKeySubject(org)), Data: []byte{1}}
	host := meeting.Host{UserID: org, Exists: true, License: "Pro"}
	for _, c := range append([]meeting.Command{
		meeting.Schedule{AccountID: acct, Organizer: host, Title: "Standup", StartsAt: time.Now().Add(time.Hour), PIN: pin},
		meeting.Join{AccountID: acct, AttendeeID: "host-attendee", UserID: org, Organizer: host},
	}, more...) {
		if _, err := meetings.Execute(context.Background(), meeting.StreamName(id), c); err != nil {
			t.Fatalf("%T: %v", c, err)
		}
	}
	return id
}
