// Package meetings is the slice of scheduled meetings: the client API's scheduling (what the calendar
// add-ins do: schedule a meeting with the organiser's personal PIN and produce the invite), start and
// cancellation, the console's meeting list (ListMeetings), and the disabling of the meetings organised
// by a removed domain's users (a port of the domains slice, and a sweep). Meetings are visible to the
// members of the organiser's account.
//
// ScheduleMeeting and StartMeeting answer from the decided state when the meetings read model is
// late (usecase.Run), with the meeting's PIN in clear (the state holds it sealed).
package meetings

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/google/uuid"

	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/meeting"
	"github.com/belfry/belfry/projections/chimeaccounts"
	"github.com/belfry/belfry/projections/chimemeetings"
)

// Meetings is the meeting aggregate's command path.
type Meetings = usecase.Aggregate[meeting.State, meeting.Command, meeting.Event]

// MeetingDecided is what a meeting command decided.
type MeetingDecided = usecase.Decided[meeting.State, meeting.Event]

// Store reads the meetings read model, PINs opened (chimemeetings.Store implements it).
type Store interface {
	Get(ctx context.Context, accountID, meetingID string) (chimemeetings.Meeting, error)
	List(ctx context.Context, accountID, organizerID string) ([]chimemeetings.Meeting, error)
	ScheduledInDomain(ctx context.Context, accountID, domainName string) ([]string, error)
}

// Directory reads what the accounts read model says of accounts, hosts and removed domains
// (chimeaccounts.Store implements it).
type Directory interface {
	Get(ctx context.Context, awsAccountID, id string) (chimeaccounts.Account, error)
	GetUserAnyTenant(ctx context.Context, accountID, userID string) (chimeaccounts.User, error)
	PendingPurges(ctx context.Context) ([]chimeaccounts.DuePurge, error)
}

// Sealer seals a credential under a subject's key (infra/datakeys implements it).
type Sealer interface {
	SealFor(ctx context.Context, tenant, subject string, plaintext []byte) (domain.Sealed, error)
}

// Deps are the slice's collaborators.
type Deps struct {
	Meetings  Meetings
	Store     Store
	Directory Directory
	Keys      Sealer
	// Chat seals, opens and destroys meeting chat (chat.go).
	Chat ChatKeys
	// Pusher, when set, pushes each new chat message to the attendees connected (chat.go).
	Pusher ChatPusher
}

// Service runs the meeting use cases.
type Service struct{ d Deps }

// New returns the slice.
func New(d Deps) *Service { return &Service{d: d} }

// host states what the account's read model says of a user who wants to host.
func (s *Service) host(ctx context.Context, accountID, userID string) (meeting.Host, error) {
	h, _, err := s.hostWithPIN(ctx, accountID, userID)
	return h, err
}

// hostWithPIN is host with the user's personal PIN ("" for a user who does not exist).
func (s *Service) hostWithPIN(ctx context.Context, accountID, userID string) (meeting.Host, string, error) {
	u, err := s.d.Directory.GetUserAnyTenant(ctx, accountID, userID)
	if err != nil {
		if errors.Is(err, chimeaccounts.ErrUserNotFound) {
			return meeting.Host{UserID: userID}, "", nil
		}
		return meeting.Host{}, "", err
	}
	return meeting.Host{UserID: u.UserID, Email: u.Email, Exists: true, License: u.LicenseType,
		Suspended: u.RegistrationStatus == account.RegistrationSuspended}, u.PersonalPIN, nil
}

// meetingFromState is the answer of a meeting command whose read model has not caught up; clear holds
// the meeting's PIN and moderator passcode in clear (the state holds them sealed).
func meetingFromState(id string, m meeting.State, clear chimemeetings.Meeting) chimemeetings.Meeting {
	return chimemeetings.Meeting{MeetingID: id, AccountID: m.AccountID, OrganizerID: m.OrganizerID, Title: m.Title, StartsAt: m.StartsAt,
		PIN: clear.PIN, Moderated: m.Moderated, Passcode: clear.Passcode, Status: m.Status, DisabledReason: m.DisabledReason,
		CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
}

// run runs a meeting command and answers with the meeting (see the package comment).
func (s *Service) run(ctx context.Context, accountID, id string, clear chimemeetings.Meeting, cmd meeting.Command) (chimemeetings.Meeting, error) {
	return usecase.Run(ctx, s.d.Meetings.Command(meeting.StreamName(id), cmd), func(ctx context.Context) (chimemeetings.Meeting, error) {
		return s.d.Store.Get(ctx, accountID, id)
	}, func(d MeetingDecided) (chimemeetings.Meeting, error) {
		return meetingFromState(id, d.State, clear), nil
	})
}

// passcodeDigits is the length of a moderator passcode [derived: the guide gives none; it is entered
// on a dial pad followed by #].
const passcodeDigits = 8

func newPasscode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(100_000_000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%0*d", passcodeDigits, n.Int64()), nil
}

// ScheduleMeeting schedules a meeting organised by a signed-in user, with the user's personal PIN
// (read here: a session's user carries none); a moderated one (guide §8.2) gets a new moderator
// passcode, both sealed under the organiser's key.
func (s *Service) ScheduleMeeting(ctx context.Context, organizer chimeaccounts.User, title string, startsAt time.Time, moderated bool) (chimemeetings.Meeting, error) {
	h, personalPIN, err := s.hostWithPIN(ctx, organizer.AccountID, organizer.UserID)
	if err != nil {
		return chimemeetings.Meeting{}, err
	}
	// The meeting's PIN is the organiser's, sealed under the organiser's key like the user's own copy.
	pin, err := s.d.Keys.SealFor(ctx, organizer.AccountID, account.UserKeySubject(organizer.UserID), []byte(personalPIN))
	if err != nil {
		return chimemeetings.Meeting{}, err
	}
	clear := chimemeetings.Meeting{PIN: personalPIN}
	var code domain.Sealed
	if moderated {
		if clear.Passcode, err = newPasscode(); err != nil {
			return chimemeetings.Meeting{}, err
		}
		if code, err = s.d.Keys.SealFor(ctx, organizer.AccountID, account.UserKeySubject(organizer.UserID), []byte(clear.Passcode)); err != nil {
			return chimemeetings.Meeting{}, err
		}
	}
	return s.run(ctx, organizer.AccountID, uuid.NewString(), clear, meeting.Schedule{AccountID: organizer.AccountID,
		Organizer: h, Title: title, StartsAt: startsAt, PIN: pin, Moderated: moderated, Passcode: code})
}

// checkID refuses an id no meeting has (meeting ids are UUIDs) as ErrNotFound, before it names a
// stream: the event log refuses stream names out of its bounds as a failure, not a 404.
func checkID(id string) error {
	if _, err := uuid.Parse(id); err != nil {
		return domain.Wrapf(meeting.ErrNotFound, "no such meeting %q", id)
	}
	return nil
}

// ListMeetings lists an account's meetings (one organiser's when organizerID is set); the account
// must belong to the caller's AWS account.
func (s *Service) ListMeetings(ctx context.Context, awsAccountID, accountID, organizerID string) ([]chimemeetings.Meeting, error) {
	if _, err := s.d.Directory.Get(ctx, awsAccountID, accountID); err != nil {
		return nil, err
	}
	return s.d.Store.List(ctx, accountID, organizerID)
}

// MyMeetings lists the meetings a signed-in user organises.
func (s *Service) MyMeetings(ctx context.Context, u chimeaccounts.User) ([]chimemeetings.Meeting, error) {
	return s.d.Store.List(ctx, u.AccountID, u.UserID)
}

// GetMeeting returns one meeting of the signed-in user's account.
func (s *Service) GetMeeting(ctx context.Context, u chimeaccounts.User, id string) (chimemeetings.Meeting, error) {
	return s.d.Store.Get(ctx, u.AccountID, id)
}

// StartMeeting starts a scheduled meeting for a member of its account; its organiser must still be
// able to host.
func (s *Service) StartMeeting(ctx context.Context, by chimeaccounts.User, id string) (chimemeetings.Meeting, error) {
	cur, err := s.d.Store.Get(ctx, by.AccountID, id)
	if err != nil {
		return chimemeetings.Meeting{}, err
	}
	h, err := s.host(ctx, by.AccountID, cur.OrganizerID)
	if err != nil {
		return chimemeetings.Meeting{}, err
	}
	return s.run(ctx, by.AccountID, id, cur, meeting.Start{AccountID: by.AccountID, By: by.UserID, Organizer: h})
}

// CancelMeeting is the organiser's cancellation.
func (s *Service) CancelMeeting(ctx context.Context, by chimeaccounts.User, id string) error {
	if err := checkID(id); err != nil {
		return err
	}
	return usecase.Exec(ctx, s.d.Meetings.Command(meeting.StreamName(id), meeting.Cancel{AccountID: by.AccountID, By: by.UserID}))
}

// DisableDomainMeetings disables the scheduled meetings organised by a removed domain's users. It is
// idempotent; RemoveDomain runs it, and the sweep runs it again for every domain whose users are not
// deleted yet, so a meeting scheduled while the domain was being removed is caught too. It returns
// after one bounded wait for the read model.
func (s *Service) DisableDomainMeetings(ctx context.Context, accountID, domainName string) (int, error) {
	ids, err := s.d.Store.ScheduledInDomain(ctx, accountID, domainName)
	if err != nil {
		return 0, err
	}
	var last uint64
	for _, id := range ids {
		d, err := s.d.Meetings.Repo.Execute(ctx, meeting.StreamName(id), meeting.Disable{AccountID: accountID, Reason: meeting.ReasonDomainRemoved})
		if err != nil {
			return 0, err
		}
		last = max(last, d.Position)
	}
	s.d.Meetings.RYW.Await(ctx, s.d.Meetings.RM, last)
	return len(ids), nil
}

// DisablePendingDomainMeetings runs DisableDomainMeetings for every removed domain not purged yet.
func (s *Service) DisablePendingDomainMeetings(ctx context.Context) (int, error) {
	pending, err := s.d.Directory.PendingPurges(ctx)
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
