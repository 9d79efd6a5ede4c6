package roster

import (
	"time"

	"github.com/belfry/belfry/domain"
)

// Session is what a client session records of its opening: the user, the device, when it was issued
// and whether it came through SSO.
type Session struct {
	UserID, AppID string
	IssuedAt      time.Time
	SSO           bool
}

// SessionPrecision is the precision of a session's issue time as stores keep it (PostgreSQL:
// microseconds); the events it is compared with are truncated to it.
const SessionPrecision = time.Microsecond

// CheckSession reports whether a session is still open at now (see the package's invariants); a
// closed one is ErrSessionEnded, saying why.
func CheckSession(s State, c Session, p Policy, now time.Time) error {
	u, err := s.User(c.UserID)
	if err != nil {
		return domain.Wrapf(ErrSessionEnded, "the user no longer exists")
	}
	d := u.Devices[c.AppID]
	switch {
	case u.Suspended:
		return domain.Wrapf(ErrSessionEnded, "the account is suspended")
	case u.Locked(now):
		return domain.Wrapf(ErrSessionEnded, "the account is locked after failed sign-ins until %s", u.LockedUntil.Format(time.RFC3339))
	case c.IssuedAt.Before(u.RevokedAt.Truncate(SessionPrecision)):
		return domain.Wrapf(ErrSessionEnded, "the account was suspended or locked since the sign-in")
	case d == nil || d.Status != DeviceActive || c.IssuedAt.Before(d.Created.Truncate(SessionPrecision)):
		return domain.Wrapf(ErrSessionEnded, "the device was reset: sign in again from it")
	case !c.SSO && p.SSO:
		return domain.Wrapf(ErrSessionEnded, "the network now signs in through SSO")
	case c.SSO && !p.SSO:
		return domain.Wrapf(ErrSessionEnded, "the network no longer has SSO")
	}
	if m := p.Settings(u.GroupID).MaxNonSSOSessionMinutes; !c.SSO && m > 0 && !now.Before(c.IssuedAt.Add(time.Duration(m)*time.Minute)) {
		return domain.Wrapf(ErrSessionEnded, "the session timed out after %d minutes (the security group's non-SSO session timeout): enter the password again", m)
	}
	return nil
}
