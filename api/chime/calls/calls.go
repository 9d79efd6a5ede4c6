// Package calls is the slice of Business Calling calls (guide §0.2, §6, §7): a signed-in user with
// outbound calling and a number calls another user's number (two legs: the caller's Outbound leg and
// the callee's Inbound one, which the callee answers) or an outside number (one Outbound leg, carried
// by the Carrier), hangs up, and reads the call; when a conference ends its CDRs are written to the
// Business Calling CDR bucket of the global settings, if one is set (cdrs.go).
//
// The call is answered from its aggregate (one stream per conference). The carrier reports a leg's
// progress with its own timestamps; the default carrier (infra/carrier) simulates the far end.
package calls

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/call"
	"github.com/belfry/belfry/domain/chime/phonenumber"
	"github.com/belfry/belfry/domain/chime/settings"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

// Carrier connects Outbound legs to the phone network.
type Carrier interface {
	// Dial starts a leg to an outside number and returns at once; report is called with the leg's
	// progress, from another goroutine, until it reports the end.
	Dial(leg call.Leg, placed time.Time, report func(call.Progress))
	// Hangup drops a leg the calls slice has ended itself (recorded its LegEnded first): the carrier
	// need not report its end, and an end it reports anyway changes nothing.
	Hangup(legID string)
}

// Directory finds callees by number (chimeaccounts.Store implements it).
type Directory interface {
	CalleeByNumber(ctx context.Context, e164 string) (chimeaccounts.Callee, bool, error)
}

// Deps are the slice's collaborators.
type Deps struct {
	Calls     usecase.Repository[call.State, call.Command, call.Event]
	Settings  usecase.Repository[settings.State, settings.Command, settings.Event]
	Accounts  usecase.AccountPeeker
	Directory Directory
	Carrier   Carrier
	CDRs      CDRTargets
	Live      LiveCalls
	Meetings  Meetings // dial-outs join their callees here
	// AccountState reads an account's settings (EnableDialOut).
	AccountState AccountLoader
	Numbers      Numbers // dial-outs call from a number of the inventory
	Logger       Logger
	Now          func() time.Time
}

// Logger is the slice's log.
type Logger interface {
	Warn(msg string, args ...any)
}

// Service runs the call use cases.
type Service struct {
	d    Deps
	legs phoneLegs // the answered dial-outs (PhoneAttendeeLeft)
}

// New returns the slice.
func New(d Deps) *Service { return &Service{d: d} }

// Errors of the slice.
var (
	ErrNoOutbound = &domain.Error{Kind: domain.KindForbidden, Msg: "outbound calling is not enabled for this user"}
	ErrNoNumber   = &domain.Error{Kind: domain.KindUnprocessable, Msg: "the user has no Business Calling number"}
	ErrNotOnCall  = &domain.Error{Kind: domain.KindNotFound, Msg: "no such call"}
	ErrCallee     = &domain.Error{Kind: domain.KindUnprocessable, Msg: "the called user cannot take calls"}
)

// checkCallID refuses, before it names a stream, a call id that is not one Place issues (a UUID in
// its canonical form): to the user, a call that does not exist, as the decisions answer.
func checkCallID(id string) error {
	if u, err := uuid.Parse(id); err != nil || u.String() != id {
		return domain.Wrapf(ErrNotOnCall, "callId is not the id of a call")
	}
	return nil
}

// awsAccount is the AWS account of a Chime account (a fact that never changes once set: Peek).
func (s *Service) awsAccount(ctx context.Context, accountID string) (string, error) {
	st, err := s.d.Accounts.Peek(ctx, account.StreamName(accountID))
	if err != nil {
		return "", err
	}
	return st.AwsAccountID, nil
}

// Place places a call from u to the E.164 number to.
func (s *Service) Place(ctx context.Context, u chimeaccounts.User, awsAccountID, to string) (call.State, error) {
	switch {
	case !u.Telephony.OutboundCalling:
		return call.State{}, ErrNoOutbound
	case u.PrimaryNumber == nil:
		return call.State{}, ErrNoNumber
	}
	if err := phonenumber.ValidateE164(to); err != nil {
		return call.State{}, err
	}
	from := *u.PrimaryNumber
	if to == from {
		return call.State{}, domain.Errorf(domain.KindInvalid, "To is the caller's own number")
	}
	out := call.Leg{LegID: uuid.NewString(), Direction: call.Outbound, From: from, To: to, FromCountry: call.CountryOf(from), ToCountry: call.CountryOf(to), UserID: u.UserID}
	legs := []call.Leg{out}
	callee, internal, err := s.d.Directory.CalleeByNumber(ctx, to)
	if err != nil {
		return call.State{}, err
	}
	if internal {
		if !callee.InboundCalling {
			return call.State{}, domain.Wrapf(ErrCallee, "inbound calling is not enabled for the user of %s", to)
		}
		in := out
		in.LegID, in.Direction, in.UserID = uuid.NewString(), call.Inbound, callee.UserID
		legs = append(legs, in)
	}
	id := uuid.NewString()
	d, err := s.d.Calls.Execute(ctx, call.StreamName(id), call.Place{ConferenceID: id, AwsAccountID: awsAccountID, AccountID: u.AccountID,
		OrganizerUserID: u.UserID, OrganizerEmail: u.Email, Legs: legs})
	if err != nil {
		return call.State{}, err
	}
	if !internal {
		s.d.Carrier.Dial(out, d.State.Started, func(p call.Progress) { s.carrierReport(id, out.LegID, p) })
	}
	return d.State, nil
}

// reportRetryFor bounds how long a carrier report that could not be recorded is retried.
const reportRetryFor = 2 * time.Minute

// carrierReport records what the carrier reported about a leg. The carrier reports each step once,
// and a lost end would leave the call live (and billed) until the server stops, so a failure to
// record it is retried (recordLeg); the report carries the carrier's time, so a late record is exact.
func (s *Service) carrierReport(conferenceID, legID string, p call.Progress) {
	ctx, cancel := context.WithTimeout(context.Background(), reportRetryFor)
	defer cancel()
	var c call.Command = call.End{LegID: legID, Reason: p.Reason, At: p.At}
	if p.Connected {
		c = call.Connect{LegID: legID, At: p.At}
	}
	if err := s.recordLeg(ctx, conferenceID, c); err != nil {
		s.d.Logger.Warn("a carrier report could not be recorded", "conference", conferenceID, "leg", legID, "err", err)
	}
}

// recordLeg runs a leg command on a conference, and runs it again, with backoff until ctx ends, while
// it fails to be recorded (the event store unreachable); a refusal (a domain.Error: the leg ended
// already) is final.
func (s *Service) recordLeg(ctx context.Context, conferenceID string, c call.Command) error {
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		_, err := s.d.Calls.Execute(ctx, call.StreamName(conferenceID), c)
		if err == nil || domain.KindOf(err) != 0 {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// Get returns a call to one of its users.
func (s *Service) Get(ctx context.Context, u chimeaccounts.User, conferenceID string) (call.State, error) {
	if err := checkCallID(conferenceID); err != nil {
		return call.State{}, err
	}
	st, _, err := s.d.Calls.Load(ctx, call.StreamName(conferenceID))
	if err != nil {
		return st, err
	}
	if !onCall(st, u.UserID) {
		return call.State{}, domain.Wrapf(ErrNotOnCall, "call %s does not exist", conferenceID)
	}
	return st, nil
}

func onCall(st call.State, userID string) bool {
	for _, l := range st.Legs {
		if l.UserID == userID {
			return true
		}
	}
	return false
}
