package chime

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/meeting"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/projections/chimeaccounts"
	"github.com/belfry/belfry/projections/chimemeetings"
)

// MeetingDecider is the meeting aggregate for the command path.
var MeetingDecider = eventstore.Decider[meeting.State, meeting.Command, meeting.Event]{
	Initial: meeting.Initial, Evolve: meeting.Evolve, Decide: meeting.Decide, Decode: meeting.Decode,
	Type: func(e meeting.Event) string { return e.EventType() },
}

// host states what the account's read model says of a user who wants to host.
func (s *Service) host(ctx context.Context, accountID, userID string) (meeting.Host, error) {
	u, err := s.store.GetUserAnyTenant(ctx, accountID, userID)
	if err != nil {
		if errors.Is(err, chimeaccounts.ErrUserNotFound) {
			return meeting.Host{UserID: userID}, nil
		}
		return meeting.Host{}, err
	}
	return meeting.Host{UserID: u.UserID, Email: u.Email, Exists: true, License: u.LicenseType,
		Suspended: u.RegistrationStatus == account.RegistrationSuspended}, nil
}

// ScheduleMeeting schedules a meeting organised by a signed-in user, with the user's personal PIN.
func (s *Service) ScheduleMeeting(ctx context.Context, organizer chimeaccounts.User, title string, startsAt time.Time) (chimemeetings.Meeting, error) {
	h, err := s.host(ctx, organizer.AccountID, organizer.UserID)
	if err != nil {
		return chimemeetings.Meeting{}, err
	}
	// The meeting's PIN is the organiser's, sealed under the organiser's key like the user's own copy.
	pin, err := s.keys.SealFor(ctx, organizer.AccountID, account.UserKeySubject(organizer.UserID), []byte(organizer.PersonalPIN))
	if err != nil {
		return chimemeetings.Meeting{}, err
	}
	id := uuid.NewString()
	res, err := s.meetings.Execute(ctx, meeting.StreamName(id), meeting.Schedule{AccountID: organizer.AccountID, Organizer: h, Title: title,
		StartsAt: startsAt, PIN: pin})
	if err != nil {
		return chimemeetings.Meeting{}, err
	}
	if !s.waitRM(ctx, s.meetingsRM, res.Position) {
		return meetingFromState(id, res.State, organizer.PersonalPIN), nil
	}
	return s.meetingsRead.Get(ctx, organizer.AccountID, id)
}

// meetingFromState is the answer of a meeting command whose read model has not caught up; pin is the
// meeting's PIN in clear (the state holds it sealed).
func meetingFromState(id string, m meeting.State, pin string) chimemeetings.Meeting {
	return chimemeetings.Meeting{MeetingID: id, AccountID: m.AccountID, OrganizerID: m.OrganizerID, Title: m.Title, StartsAt: m.StartsAt,
		PIN: pin, Status: m.Status, DisabledReason: m.DisabledReason, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
}

// ListMeetings lists an account's meetings (one organiser's when organizerID is set); the account
// must belong to the caller's AWS account.
func (s *Service) ListMeetings(ctx context.Context, awsAccountID, accountID, organizerID string) ([]chimemeetings.Meeting, error) {
	if _, err := s.GetAccount(ctx, awsAccountID, accountID); err != nil {
		return nil, err
	}
	return s.meetingsRead.List(ctx, accountID, organizerID)
}

// MyMeetings lists the meetings a signed-in user organises.
func (s *Service) MyMeetings(ctx context.Context, u chimeaccounts.User) ([]chimemeetings.Meeting, error) {
	return s.meetingsRead.List(ctx, u.AccountID, u.UserID)
}

// GetMeeting returns one meeting of the signed-in user's account.
func (s *Service) GetMeeting(ctx context.Context, u chimeaccounts.User, id string) (chimemeetings.Meeting, error) {
	return s.meetingsRead.Get(ctx, u.AccountID, id)
}

// StartMeeting starts a scheduled meeting for a member of its account; its organiser must still be
// able to host.
func (s *Service) StartMeeting(ctx context.Context, by chimeaccounts.User, id string) (chimemeetings.Meeting, error) {
	cur, err := s.meetingsRead.Get(ctx, by.AccountID, id)
	if err != nil {
		return chimemeetings.Meeting{}, err
	}
	h, err := s.host(ctx, by.AccountID, cur.OrganizerID)
	if err != nil {
		return chimemeetings.Meeting{}, err
	}
	res, err := s.meetings.Execute(ctx, meeting.StreamName(id), meeting.Start{AccountID: by.AccountID, By: by.UserID, Organizer: h})
	if err != nil {
		return chimemeetings.Meeting{}, err
	}
	if !s.waitRM(ctx, s.meetingsRM, res.Position) {
		return meetingFromState(id, res.State, cur.PIN), nil
	}
	return s.meetingsRead.Get(ctx, by.AccountID, id)
}

// CancelMeeting is the organiser's cancellation.
func (s *Service) CancelMeeting(ctx context.Context, by chimeaccounts.User, id string) error {
	res, err := s.meetings.Execute(ctx, meeting.StreamName(id), meeting.Cancel{AccountID: by.AccountID, By: by.UserID})
	if err != nil {
		return err
	}
	s.waitRM(ctx, s.meetingsRM, res.Position)
	return nil
}

// DisableDomainMeetings disables the scheduled meetings organised by a removed domain's users. It is
// idempotent; RemoveDomain runs it, and the sweep runs it again for every domain whose users are not
// deleted yet, so a meeting scheduled while the domain was being removed is caught too.
func (s *Service) DisableDomainMeetings(ctx context.Context, accountID, domainName string) (int, error) {
	ids, err := s.meetingsRead.ScheduledInDomain(ctx, accountID, domainName)
	if err != nil {
		return 0, err
	}
	var last uint64
	for _, id := range ids {
		res, err := s.meetings.Execute(ctx, meeting.StreamName(id), meeting.Disable{AccountID: accountID, Reason: meeting.ReasonDomainRemoved})
		if err != nil {
			return 0, err
		}
		last = max(last, res.Position)
	}
	s.waitRM(ctx, s.meetingsRM, last)
	return len(ids), nil
}

// DisablePendingDomainMeetings runs DisableDomainMeetings for every removed domain not purged yet.
func (s *Service) DisablePendingDomainMeetings(ctx context.Context) (int, error) {
	pending, err := s.store.PendingPurges(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range pending {
		k, err := s.DisableDomainMeetings(ctx, p.AccountID, p.Domain)
		if err != nil {
			return n, err
		}
		n += k
	}
	return n, nil
}
