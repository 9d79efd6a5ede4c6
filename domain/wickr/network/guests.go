package network

import (
	"regexp"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
)

var usernameHash = regexp.MustCompile(`^[0-9a-f]{64}$`)

// BlockedGuest is a guest user that can reach no one in the network (guide §15.4).
type BlockedGuest struct {
	Username, Admin string
	At              time.Time
}

// BlockGuest blocks (Block) or unblocks a guest user by its username hash (UpdateGuestUser); Username
// is the guest's e-mail as the guest list knows it, Admin who blocks.
type BlockGuest struct {
	NetworkID, UsernameHash, Username, Admin string
	Block                                    bool
}

// TakeSeats reserves seats for n new users: refused beyond the trial's cap while on the trial.
type TakeSeats struct {
	NetworkID string
	N         int
}

// ReleaseSeats gives back the seats of n deleted users, or of users whose creation failed.
type ReleaseSeats struct {
	NetworkID string
	N         int
}

// CountSeats sets the seat count from a recount of the users (a reconciler's correction after a crash
// between taking seats and recording users).
type CountSeats struct {
	NetworkID string
	N         int
}

func (c BlockGuest) target() string   { return c.NetworkID }
func (c TakeSeats) target() string    { return c.NetworkID }
func (c ReleaseSeats) target() string { return c.NetworkID }
func (c CountSeats) target() string   { return c.NetworkID }

func decideGuestsAndSeats(s State, c Command, now time.Time) ([]Event, bool, error) {
	switch c := c.(type) {
	case BlockGuest:
		if !usernameHash.MatchString(c.UsernameHash) {
			return nil, true, wickr.Invalid("usernameHash", "must be a username hash (64 hexadecimal digits), got %q", c.UsernameHash)
		}
		_, blocked := s.BlockedGuests[c.UsernameHash]
		switch {
		case c.Block == blocked:
			return nil, true, nil
		case !c.Block:
			return []Event{GuestUnblocked{UsernameHash: c.UsernameHash, At: now}}, true, nil
		case c.Username == "":
			return nil, true, wickr.Invalid("username", "the blocked guest's username is required")
		}
		return []Event{GuestBlocked{UsernameHash: c.UsernameHash, Username: c.Username, Admin: c.Admin, At: now}}, true, nil
	case TakeSeats:
		switch {
		case c.N <= 0:
			return nil, true, wickr.Invalid("users", "must hold at least one user")
		case s.Trial && s.Seats+c.N > s.TrialCap():
			return nil, true, wickr.FieldErr(ErrTrialCap, "users", "the Premium free trial allows %d users; network %s has %d", s.TrialCap(), s.ID, s.Seats)
		}
		return []Event{SeatsTaken{N: c.N, At: now}}, true, nil
	case ReleaseSeats:
		n := min(c.N, s.Seats)
		if n <= 0 {
			return nil, true, nil
		}
		return []Event{SeatsReleased{N: n, At: now}}, true, nil
	case CountSeats:
		if c.N < 0 {
			return nil, true, domain.Errorf(domain.KindInvalid, "a seat count is not negative")
		}
		if c.N == s.Seats {
			return nil, true, nil
		}
		return []Event{SeatsCounted{N: c.N, At: now}}, true, nil
	}
	return nil, false, nil
}

func evolveGuestsAndSeats(s *State, e Event) bool {
	switch e := e.(type) {
	case GuestBlocked:
		s.BlockedGuests[e.UsernameHash] = BlockedGuest{Username: e.Username, Admin: e.Admin, At: e.At}
	case GuestUnblocked:
		delete(s.BlockedGuests, e.UsernameHash)
	case SeatsTaken:
		s.Seats += e.N
	case SeatsReleased:
		s.Seats -= e.N
	case SeatsCounted:
		s.Seats = e.N
	default:
		return false
	}
	return true
}
