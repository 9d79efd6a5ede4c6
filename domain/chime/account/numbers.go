package account

import (
	"time"

	"github.com/belfry/belfry/domain"
)

// A user has at most one primary provisioned number (guide §6.5); the number's own stream guards
// the other side (one user per number).
const (
	TypeUserNumberAssigned   = "chime.account.user_number_assigned.v1"
	TypeUserNumberUnassigned = "chime.account.user_number_unassigned.v1"
)

// ErrHasNumber is returned when a user already has a different primary number.
var ErrHasNumber = &domain.Error{Kind: domain.KindInvalid, Msg: "user already has a primary number"}

// UserNumberAssigned records a user's primary provisioned number.
type UserNumberAssigned struct {
	UserID string `json:"userId"`
	E164   string `json:"e164"`
}

// UserNumberUnassigned records the removal of a user's primary number.
type UserNumberUnassigned struct {
	UserID string `json:"userId"`
	E164   string `json:"e164"`
}

func (UserNumberAssigned) EventType() string   { return TypeUserNumberAssigned }
func (UserNumberUnassigned) EventType() string { return TypeUserNumberUnassigned }
func (UserNumberAssigned) isAccountEvent()     {}
func (UserNumberUnassigned) isAccountEvent()   {}

// AssignNumber gives a user its primary number.
type AssignNumber struct{ AccountID, UserID, E164 string }

// UnassignNumber takes a user's primary number away. With E164 set, only that number: a user whose
// primary number is another one (or none) is left as it is, so that a caller undoing its own
// assignment never takes away a number a concurrent call gave the user since.
type UnassignNumber struct{ AccountID, UserID, E164 string }

func (c AssignNumber) Target() string   { return c.AccountID }
func (c UnassignNumber) Target() string { return c.AccountID }

func (c AssignNumber) decide(s State, _ time.Time) ([]Event, error) {
	u, ok := s.member(c.UserID)
	if !ok {
		return nil, domain.Wrapf(ErrUserNotFound, "User %s does not exist in account %s", c.UserID, s.ID)
	}
	switch u.PrimaryNumber {
	case c.E164:
		return nil, nil
	case "":
		return []Event{UserNumberAssigned{UserID: c.UserID, E164: c.E164}}, nil
	}
	return nil, domain.Wrapf(ErrHasNumber, "user %s already has the primary number %s; disassociate it first", c.UserID, u.PrimaryNumber)
}

func (c UnassignNumber) decide(s State, _ time.Time) ([]Event, error) {
	u, ok := s.member(c.UserID)
	if !ok {
		return nil, domain.Wrapf(ErrUserNotFound, "User %s does not exist in account %s", c.UserID, s.ID)
	}
	if u.PrimaryNumber == "" || c.E164 != "" && u.PrimaryNumber != c.E164 {
		return nil, nil
	}
	return []Event{UserNumberUnassigned{UserID: c.UserID, E164: u.PrimaryNumber}}, nil
}

func evolveNumbers(s *State, e Event) {
	switch e := e.(type) {
	case UserNumberAssigned:
		if u, ok := s.Members.Get(e.UserID); ok {
			u.PrimaryNumber = e.E164
		}
	case UserNumberUnassigned:
		if u, ok := s.Members.Get(e.UserID); ok {
			u.PrimaryNumber = ""
		}
	}
}
