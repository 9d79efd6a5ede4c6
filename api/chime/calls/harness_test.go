package calls_test

import (
	"context"
	"time"

	"github.com/belfry/belfry/api/internal/memrepo"
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
