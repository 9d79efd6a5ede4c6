package media

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/belfry/belfry/api/chime/clientapi"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/meeting"
	"github.com/belfry/belfry/projections/chimeaccounts"
	"github.com/belfry/belfry/projections/chimemeetings"
)

// PINLength is the length of a personal meeting PIN (guide §5.4, §18.2: 10 digits).
const PINLength = 10

// Errors of joining by PIN.
var (
	// ErrPIN is the one answer to a PIN that opens no meeting: unknown, reset since (guide §5.4:
	// an old PIN fails cleanly), or whose organiser has no open meeting with it.
	ErrPIN = &domain.Error{Kind: domain.KindNotFound, Msg: "no meeting with this PIN"}
	// ErrPINThrottled answers joins refused after repeated wrong PINs or moderator passcodes (429
	// with Retry-After).
	ErrPINThrottled = &domain.Error{Kind: domain.KindThrottled, Msg: "too many wrong meeting PINs or passcodes"}
)

// ValidPIN says whether pin has a PIN's form (PINLength digits).
func ValidPIN(pin string) bool {
	if len(pin) != PINLength {
		return false
	}
	for _, r := range pin {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// ResolvePIN finds the meeting a signed-in user joins with a meeting PIN: the organiser's meeting
// with that PIN that is started, else the scheduled one starting soonest. A PIN admits any signed-in
// user (an invitation carries it); wrong PINs are throttled per user and per source address.
func (s *Service) ResolvePIN(ctx context.Context, u chimeaccounts.User, pin, source string) (chimemeetings.Meeting, error) {
	if !ValidPIN(pin) {
		return chimemeetings.Meeting{}, domain.Errorf(domain.KindInvalid, "PIN must be %d digits", PINLength)
	}
	end, err := s.throttled(u, source, s.d.Now())
	if err != nil {
		return chimemeetings.Meeting{}, err
	}
	m, err := s.meetingOfPIN(ctx, pin)
	end(errors.Is(err, ErrPIN))
	return m, err
}

// throttled admits one PIN or moderator passcode attempt of a user from a source before it is
// checked, or refuses it after too many wrong ones lately; attempts sent at once are admitted as if
// they came one after the other. end records whether the attempt was wrong; it is called once.
func (s *Service) throttled(u chimeaccounts.User, source string, now time.Time) (end func(wrong bool), err error) {
	end, wait := clientapi.Begin(now, clientapi.Keyed{B: s.pinByUser, Key: u.UserID}, clientapi.Keyed{B: s.pinBySrc, Key: source})
	if wait > 0 {
		return nil, &domain.Error{Kind: domain.KindThrottled, Sentinel: ErrPINThrottled, RetryAfter: wait,
			Msg: fmt.Sprintf("too many wrong meeting PINs or passcodes from this user or source; try again in %s", wait.Round(time.Second))}
	}
	return end, nil
}

// meetingOfPIN is ResolvePIN's lookup; every way of not finding the meeting is ErrPIN.
func (s *Service) meetingOfPIN(ctx context.Context, pin string) (chimemeetings.Meeting, error) {
	none := domain.Wrapf(ErrPIN, "no open meeting has this PIN")
	accountID, userID, err := s.d.PINs.Owner(ctx, pin)
	if domain.KindOf(err) == domain.KindNotFound {
		return chimemeetings.Meeting{}, none
	}
	if err != nil {
		return chimemeetings.Meeting{}, err
	}
	org, err := s.d.Directory.GetUserAnyTenant(ctx, accountID, userID)
	if errors.Is(err, chimeaccounts.ErrUserNotFound) || (err == nil && !samePIN(org.PersonalPIN, pin)) {
		return chimemeetings.Meeting{}, none // the organiser is gone, or the PIN was reset since
	}
	if err != nil {
		return chimemeetings.Meeting{}, err
	}
	list, err := s.d.Store.List(ctx, accountID, userID)
	if err != nil {
		return chimemeetings.Meeting{}, err
	}
	var best *chimemeetings.Meeting
	for i, m := range list {
		if !samePIN(m.PIN, pin) {
			continue
		}
		switch {
		case m.Status == meeting.StatusStarted:
			return m, nil
		case m.Status == meeting.StatusScheduled && best == nil:
			best = &list[i] // List is ordered by start time
		}
	}
	if best == nil {
		return chimemeetings.Meeting{}, none
	}
	return *best, nil
}

func samePIN(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
