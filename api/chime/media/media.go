package media

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/belfry/belfry/api/chime/clientapi"
	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/api/mediasignal"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/meeting"
	"github.com/belfry/belfry/projections/chimeaccounts"
	"github.com/belfry/belfry/projections/chimemeetings"
)

// Meetings runs meeting commands (eventstore.Repository implements it); ExecuteFunc runs the
// caller's decision under the stream's lock.
type Meetings interface {
	Execute(ctx context.Context, stream string, cmd meeting.Command) (usecase.Decided[meeting.State, meeting.Event], error)
	ExecuteFunc(ctx context.Context, stream string, decide func(meeting.State, time.Time) ([]meeting.Event, error)) (usecase.Decided[meeting.State, meeting.Event], error)
}

// Store reads the meetings read model, PINs opened (chimemeetings.Store implements it).
type Store interface {
	Get(ctx context.Context, accountID, meetingID string) (chimemeetings.Meeting, error)
	List(ctx context.Context, accountID, organizerID string) ([]chimemeetings.Meeting, error)
	Live(ctx context.Context) ([]chimemeetings.LiveMeeting, error)
}

// PINs says whom a personal meeting PIN was reserved for (infra/pins implements it); an unknown
// PIN is a KindNotFound error.
type PINs interface {
	Owner(ctx context.Context, pin string) (accountID, userID string, err error)
}

// Directory reads users (chimeaccounts.Store implements it).
type Directory interface {
	GetUserAnyTenant(ctx context.Context, accountID, userID string) (chimeaccounts.User, error)
}

// SFU forwards the media of a room's participants (infra/sfu, adapted in cmd/belfry); simulcast
// asks the participant to send its camera in simulcast layers (infra/sfu JoinOptions.OfferSimulcast).
type SFU interface {
	Join(roomID, participantID string, p Peer, simulcast bool) (Participant, error)
}

// Participant is one participant's handle in the SFU (api/mediasignal).
type Participant = mediasignal.Participant

// Peer is what the SFU calls back (the infra/sfu Peer contract; api/mediasignal).
type Peer = mediasignal.Peer

// Delegates says whether a user is a delegate of a meeting's organiser (api/chime/contacts
// implements it): a delegate joins as a moderator (guide §8.2).
type Delegates interface {
	IsDelegate(ctx context.Context, ownerID, userID string) (bool, error)
}

// Deps are the slice's collaborators.
type Deps struct {
	// Delegates, when set, admits the organiser's delegates as moderators.
	Delegates Delegates
	Meetings  Meetings
	Store     Store
	Directory Directory
	PINs      PINs
	SFU       SFU
	// Recorder, when set, records meetings a moderator records (recording.go); without it a
	// "record" message is refused.
	Recorder Recorder
	// PINLimits throttles wrong PINs (default clientapi.DefaultSignInLimits: 5 per user or 20 per
	// source address in 15 minutes lock for 1 minute, doubling up to 1 hour).
	PINLimits clientapi.SignInLimits
	// Phones, when set, hangs up the carrier leg of a phone attendee (a dial-out's callee) that a
	// moderator removed or whose meeting ended (calls.Service implements it).
	Phones PhoneLegs
	// SessionRecheck is how often a signalling session checks its caller's session again (default
	// 30 s): one that ended (signed out, revoked) is taken out of the meeting.
	SessionRecheck time.Duration
	Now            func() time.Time
	Logger         *slog.Logger
}

// PhoneLegs hangs up phone attendees' calls (a no-op for any other attendee).
type PhoneLegs interface {
	PhoneAttendeeLeft(meetingID, attendeeID string)
}

// Service runs the live-meeting use cases.
type Service struct {
	d         Deps
	pinByUser *clientapi.Backoff
	pinBySrc  *clientapi.Backoff
	live      *liveSessions
	drain     mediasignal.Drain // the signalling sessions running (WaitSessions)
}

// WaitSessions waits, at most timeout, until every signalling session has ended and recorded its
// attendee's leaving: call it after the SFU closed, before the event store does.
func (s *Service) WaitSessions(timeout time.Duration) bool { return s.drain.Wait(timeout) }

// New returns the slice.
func New(d Deps) *Service {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.SessionRecheck <= 0 {
		d.SessionRecheck = 30 * time.Second
	}
	l := d.PINLimits
	if l.Failures <= 0 {
		l = clientapi.DefaultSignInLimits
	}
	return &Service{d: d, pinByUser: clientapi.NewBackoff(l.Failures, l.Capacity, l),
		pinBySrc: clientapi.NewBackoff(l.FailuresPerIP, l.CapacityPerIP, l), live: newLiveSessions()}
}

// ErrPasscode is the answer to a wrong moderator passcode (or one given for a meeting that has none).
var ErrPasscode = &domain.Error{Kind: domain.KindForbidden, Msg: "wrong moderator passcode"}

// Entry is how a caller asks to enter a meeting: a moderator passcode (guide §8.2; "" for none) and
// the source address that wrong passcodes and PINs are throttled by.
type Entry struct{ Passcode, Source string }

// AdmitByID checks that u may join meeting id (it exists in u's account, is open) and records a
// new attendee (Admit).
func (s *Service) AdmitByID(ctx context.Context, u chimeaccounts.User, id string, e Entry) (m chimemeetings.Meeting, attendeeID string, err error) {
	if m, err = s.d.Store.Get(ctx, u.AccountID, id); err != nil {
		return m, "", err
	}
	attendeeID, err = s.Admit(ctx, u, m, e)
	return m, attendeeID, err
}

// Admit records u as a new attendee of m, as a moderator when e carries m's moderator passcode (a
// wrong one is refused and throttled with wrong PINs) or u is a delegate of m's organiser; the first to join starts a scheduled meeting,
// and the meeting's moderation (a lock, a removal, waiting for a moderator) may refuse u.
func (s *Service) Admit(ctx context.Context, u chimeaccounts.User, m chimemeetings.Meeting, e Entry) (attendeeID string, err error) {
	asModerator, err := s.checkPasscode(u, m, e)
	if err != nil {
		return "", err
	}
	if !asModerator && s.d.Delegates != nil && u.UserID != m.OrganizerID {
		if asModerator, err = s.d.Delegates.IsDelegate(ctx, m.OrganizerID, u.UserID); err != nil {
			return "", err
		}
	}
	org := meeting.Host{UserID: m.OrganizerID}
	if o, err := s.d.Directory.GetUserAnyTenant(ctx, m.AccountID, m.OrganizerID); err == nil {
		org = meeting.Host{UserID: o.UserID, Email: o.Email, Exists: true, License: o.LicenseType,
			Suspended: o.RegistrationStatus == account.RegistrationSuspended}
	} else if !errors.Is(err, chimeaccounts.ErrUserNotFound) {
		return "", err
	}
	attendeeID = uuid.NewString()
	_, err = s.d.Meetings.Execute(ctx, meeting.StreamName(m.MeetingID), meeting.Join{AccountID: m.AccountID, AttendeeID: attendeeID,
		UserID: u.UserID, Organizer: org, AsModerator: asModerator})
	return attendeeID, err
}

// checkPasscode says whether e carries m's moderator passcode (false, nil when it carries none).
func (s *Service) checkPasscode(u chimeaccounts.User, m chimemeetings.Meeting, e Entry) (bool, error) {
	if e.Passcode == "" {
		return false, nil
	}
	end, err := s.throttled(u, e.Source, s.d.Now())
	if err != nil {
		return false, err
	}
	ok := m.Moderated && samePIN(m.Passcode, e.Passcode)
	end(!ok)
	if !ok {
		return false, domain.Wrapf(ErrPasscode, "the moderator passcode is wrong, or the meeting is not moderated")
	}
	return true, nil
}

// Leave records that an attendee left (the last one out ends the meeting). It runs on its own
// bounded context: the attendee's connection may be gone, the record must not be.
func (s *Service) Leave(accountID, id, attendeeID, reason string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := s.d.Meetings.Execute(ctx, meeting.StreamName(id), meeting.Leave{AccountID: accountID, AttendeeID: attendeeID, Reason: reason})
	if err != nil {
		s.d.Logger.Warn("recording an attendee's leaving failed; the next start's sweep records it", "meeting", id, "attendee", attendeeID, "err", err)
		return
	}
	s.RecordingsStopped(accountID, id, d.Events) // the last one out ends the meeting and its recording
}

// SetMedia records that an attendee started or stopped sending a kind of media; starting video
// beyond the meeting's tiles is refused (ResourceLimitExceeded).
func (s *Service) SetMedia(ctx context.Context, accountID, id, attendeeID, kind string, on bool) error {
	_, err := s.d.Meetings.Execute(ctx, meeting.StreamName(id), meeting.SetMedia{AccountID: accountID, AttendeeID: attendeeID, Kind: kind, On: on})
	return err
}

// EndInterrupted removes from every live roster the attendees who joined before startedAt — a
// previous run of the service, which no longer carries their media — and so ends their meetings
// (reason ServiceRestart). It runs on every sweep; it returns how many meetings it changed.
func (s *Service) EndInterrupted(ctx context.Context, startedAt time.Time) (int, error) {
	live, err := s.d.Store.Live(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range live {
		d, err := s.d.Meetings.Execute(ctx, meeting.StreamName(m.MeetingID), meeting.Interrupt{AccountID: m.AccountID, Before: startedAt})
		if err != nil {
			return n, err
		}
		s.RecordingsStopped(m.AccountID, m.MeetingID, d.Events) // a recording the previous run left: its manifest
		if len(d.Events) > 0 {
			n++
		}
	}
	return n, nil
}
