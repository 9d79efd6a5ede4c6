package calls

import (
	"context"
	"regexp"
	"time"

	"github.com/google/uuid"

	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/call"
	"github.com/belfry/belfry/domain/chime/meeting"
	"github.com/belfry/belfry/domain/chime/phonenumber"
	"github.com/belfry/belfry/projections/chimenumbers"
)

// Numbers finds a number of an AWS account's inventory (chimenumbers.Store implements it).
type Numbers interface {
	Get(ctx context.Context, awsAccountID, e164 string, now time.Time) (chimenumbers.Number, error)
}

// AccountLoader folds an account's stream (its settings change, so Peek will not do).
type AccountLoader interface {
	Load(ctx context.Context, stream string) (account.State, int64, error)
}

// Meetings is the meeting repository a dial-out joins its callee to (the one the SFU uses).
type Meetings = usecase.Repository[meeting.State, meeting.Command, meeting.Event]

// PhoneUserPrefix prefixes the UserID of an attendee who joined by phone: the number called.
const PhoneUserPrefix = "pstn:"

// joinToken is the model's JoinTokenString (2 to 2,048 base64 characters).
var joinToken = regexp.MustCompile(`^[a-zA-Z0-9+/]+$`)

// Errors of dial-outs.
var (
	ErrDialOutOff = &domain.Error{Kind: domain.KindForbidden, Msg: "dial-out is not enabled for the meeting's account"}
	ErrNoMeeting  = &domain.Error{Kind: domain.KindInvalid, Msg: "no such meeting in progress"}
)

// DialOut is CreateMeetingDialOut (guide §4; API 2018-05-01): it calls ToPhoneNumber from
// FromPhoneNumber, a number of the caller's inventory, and once the callee answers joins them to the
// meeting as an attendee (UserID "pstn:<number>") until either side hangs up; the call is a
// Business Calling conference of one Outbound leg, billed and recorded (CDR) like any other. The
// meeting must be in progress and its account must allow dial-out (AccountSettings.EnableDialOut).
// Belfry has no CreateAttendee, so the JoinToken (the model's base64 string) is checked for shape and
// neither stored nor logged. It answers the conference id as the TransactionId.
func (s *Service) DialOut(ctx context.Context, awsAccountID, meetingID, from, to, token string) (string, error) {
	if len(token) < 2 || len(token) > 2048 || !joinToken.MatchString(token) {
		return "", domain.Errorf(domain.KindInvalid, "JoinToken must be 2 to 2048 base64 characters")
	}
	for _, f := range [...][2]string{{"FromPhoneNumber", from}, {"ToPhoneNumber", to}} {
		if err := phonenumber.ValidateE164(f[1]); err != nil {
			return "", domain.Wrapf(err, "%s: %v", f[0], err)
		}
	}
	if _, err := uuid.Parse(meetingID); err != nil {
		return "", domain.Wrapf(ErrNoMeeting, "MeetingId %q is not a meeting id", meetingID)
	}
	m, err := s.d.Meetings.Peek(ctx, meeting.StreamName(meetingID))
	if err != nil {
		return "", err
	}
	acct, err := s.d.Accounts.Peek(ctx, account.StreamName(m.AccountID))
	if err != nil {
		return "", err
	}
	if m.AccountID == "" || acct.AwsAccountID != awsAccountID {
		return "", domain.Wrapf(ErrNoMeeting, "MeetingId %s names no meeting of this AWS account", meetingID)
	}
	if st, _, err := s.d.AccountState.Load(ctx, account.StreamName(m.AccountID)); err != nil {
		return "", err
	} else if !st.Settings.EnableDialOut {
		return "", domain.Wrapf(ErrDialOutOff, "account %s: set AccountSettings.EnableDialOut with UpdateAccountSettings", m.AccountID)
	}
	if m, _, err = s.d.Meetings.Load(ctx, meeting.StreamName(meetingID)); err != nil {
		return "", err
	}
	if m.Status != meeting.StatusStarted {
		return "", domain.Wrapf(ErrNoMeeting, "meeting %s is not in progress (%s)", meetingID, m.Status)
	}
	// The read model answers a number of the deletion queue too (GetPhoneNumber shows it): it is no
	// longer in the inventory, and calls from it are refused like those from any other number.
	switch n, err := s.d.Numbers.Get(ctx, awsAccountID, from, s.d.Now()); {
	case domain.KindOf(err) == domain.KindNotFound:
		return "", domain.Errorf(domain.KindInvalid, "FromPhoneNumber %s is not a number of this AWS account", from)
	case err != nil:
		return "", err // the read failed: not the caller's fault
	case n.Status == phonenumber.StatusDeleteInProgress:
		return "", domain.Errorf(domain.KindInvalid, "FromPhoneNumber %s is in the deletion queue; restore it first", from)
	}
	leg := call.Leg{LegID: uuid.NewString(), Direction: call.Outbound, From: from, To: to, FromCountry: call.CountryOf(from), ToCountry: call.CountryOf(to)}
	id := uuid.NewString()
	d, err := s.d.Calls.Execute(ctx, call.StreamName(id), call.Place{ConferenceID: id, AwsAccountID: awsAccountID, AccountID: m.AccountID,
		OrganizerUserID: m.OrganizerID, Legs: []call.Leg{leg}, MeetingID: meetingID})
	if err != nil {
		return "", err
	}
	s.d.Carrier.Dial(leg, d.State.Started, func(p call.Progress) { s.dialOutReport(id, meetingID, m.AccountID, leg, p) })
	return id, nil
}

// dialOutReport records the carrier's report on the call, and joins the callee to the meeting when
// they answer (or hangs up when the meeting no longer takes them) and removes them when the leg ends.
func (s *Service) dialOutReport(conferenceID, meetingID, accountID string, leg call.Leg, p call.Progress) {
	s.carrierReport(conferenceID, leg.LegID, p)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var c meeting.Command = meeting.Join{AccountID: accountID, AttendeeID: leg.LegID, UserID: PhoneUserPrefix + leg.To}
	if !p.Connected {
		reason := meeting.LeftHungUp
		if p.Reason == call.ReasonFailed {
			reason = meeting.LeftDisconnected
		}
		c = meeting.Leave{AccountID: accountID, AttendeeID: leg.LegID, Reason: reason}
	}
	if p.Connected {
		s.legs.add(meetingID, leg.LegID, conferenceID) // before the join: a removal right after it finds the leg
	} else if s.legs.take(meetingID, leg.LegID) == "" {
		return // the leg was dropped already (PhoneAttendeeLeft): the callee is not in the meeting
	}
	// Leaving is a no-op for a callee who never joined (the leg rang out or was refused).
	if _, err := s.d.Meetings.Execute(ctx, meeting.StreamName(meetingID), c); err != nil {
		s.d.Logger.Warn("a dial-out callee's roster change could not be recorded", "meeting", meetingID, "leg", leg.LegID, "err", err)
		if p.Connected && s.legs.take(meetingID, leg.LegID) != "" { // the meeting ended, is full or locked: the call does not stay up outside it
			s.dropLeg(ctx, conferenceID, leg.LegID)
		}
	}
}

// dropLeg ends an answered leg the service itself hangs up (Completed, now) and then tells the
// carrier to drop it: a carrier reports no end of a leg it was told to hang up (Carrier.Hangup).
func (s *Service) dropLeg(ctx context.Context, conferenceID, legID string) {
	if err := s.recordLeg(ctx, conferenceID, call.End{LegID: legID, Reason: call.ReasonCompleted, At: s.d.Now()}); err != nil {
		s.d.Logger.Warn("ending a dropped dial-out leg failed; the next start's sweep ends it", "conference", conferenceID, "leg", legID, "err", err)
	}
	s.d.Carrier.Hangup(legID)
}
