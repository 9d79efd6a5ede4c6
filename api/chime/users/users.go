// Package users is the slice of an account's users: CreateUser, GetUser, ListUsers, UpdateUser, the
// batch suspensions and updates, LogoutUser, ResetPersonalPIN and InviteUsers, with the delivery of
// the invitation mails (a side effect the router hands to DeliverInvitation).
//
// CreateUser answers from its decided events; UpdateUser and ResetPersonalPIN read the user back
// from the accounts read model once it caught up, and when it is late overlay what the command
// decided (licence, type, registration, Alexa metadata, the new PIN) on the row it still shows.
package users

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

// Store reads users and invitations from the accounts read model (chimeaccounts.Store implements it).
type Store interface {
	GetUser(ctx context.Context, awsAccountID, accountID, userID string) (chimeaccounts.User, error)
	ListUsers(ctx context.Context, awsAccountID, accountID string, f chimeaccounts.UserFilter, token string, limit int) ([]chimeaccounts.User, string, error)
	InviteEmailStatuses(ctx context.Context, ids []string) (map[string]string, error)
	// VerifiedDomainOwners maps the domains an account has verified to that account.
	VerifiedDomainOwners(ctx context.Context, domains []string) (map[string]string, error)
}

// PINs reserves personal meeting PINs, never handed out twice (infra/pins implements it).
type PINs interface {
	Reserve(ctx context.Context, accountID, userID string) (string, domain.Sealed, error)
}

// Mailer sends one mail (infra/mail behind an adapter).
type Mailer interface {
	Send(ctx context.Context, to, subject, body string) error
}

// Deps are the slice's collaborators.
type Deps struct {
	Accounts usecase.Accounts
	Store    Store
	PINs     PINs
	Mail     Mailer
	Keys     usecase.KeyShredder
	// Numbers makes the number streams follow the numbers a batch took from removed users (a Team
	// account's BatchSuspendUser removes them); nil: none follow.
	Numbers NumberReleaser
	Logger  *slog.Logger
}

// NumberReleaser makes the number streams follow the UserNumberUnassigned events of an account
// command (the numbers slice implements it).
type NumberReleaser interface {
	ReleaseNumbers(ctx context.Context, awsAccountID string, events []account.Event) error
}

// Service runs the user use cases.
type Service struct{ d Deps }

// New returns the slice.
func New(d Deps) *Service {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	return &Service{d: d}
}

// CreateUser adds a user to one of the caller's accounts.
func (s *Service) CreateUser(ctx context.Context, awsAccountID, accountID, email, username, userType string) (chimeaccounts.User, error) {
	if err := usecase.OwnAccount(ctx, s.d.Accounts.Repo, awsAccountID, accountID); err != nil {
		return chimeaccounts.User{}, err
	}
	owners, err := s.d.Store.VerifiedDomainOwners(ctx, []string{emailDomain(email)})
	if err != nil {
		return chimeaccounts.User{}, err
	}
	userID := uuid.NewString()
	cmd := account.AddUser{AccountID: accountID, UserID: userID, Email: email, Username: username, UserType: userType,
		ClaimedBy: owners[emailDomain(email)]}
	// Refuse what can be refused before a PIN is reserved: a reserved PIN is never handed out again,
	// so a command the account then rejects would waste one (the decision below still has the last word).
	normalized, _, err := account.CheckNewUser(cmd)
	if err != nil {
		return chimeaccounts.User{}, err
	}
	if same, _, err := s.d.Store.ListUsers(ctx, awsAccountID, accountID, chimeaccounts.UserFilter{Email: normalized}, "", 1); err == nil && len(same) > 0 {
		return chimeaccounts.User{}, domain.Wrapf(account.ErrEmailTaken, "a user with Email %s already exists in account %s (user %s)", email, accountID, same[0].UserID)
	}
	pin, sealed, err := s.d.PINs.Reserve(ctx, accountID, userID)
	if err != nil {
		return chimeaccounts.User{}, err
	}
	cmd.PIN = sealed
	return usecase.Run(ctx, s.d.Accounts.Command(account.StreamName(accountID), cmd), nil, func(d usecase.AccountDecided) (chimeaccounts.User, error) {
		e := d.Events[0].(account.UserAdded)
		return chimeaccounts.User{UserID: e.UserID, AccountID: accountID, Email: e.Email, Username: e.Username, UserType: e.UserType,
			LicenseType: e.LicenseType, RegistrationStatus: account.RegistrationUnregistered, PersonalPIN: pin, CreatedAt: e.CreatedAt}, nil
	})
}

// GetUser returns one user of one of the caller's accounts.
func (s *Service) GetUser(ctx context.Context, awsAccountID, accountID, userID string) (chimeaccounts.User, error) {
	return s.d.Store.GetUser(ctx, awsAccountID, accountID, userID)
}

// ListUsers returns a page of an account's users.
func (s *Service) ListUsers(ctx context.Context, awsAccountID, accountID string, f chimeaccounts.UserFilter, token string, limit int) ([]chimeaccounts.User, string, error) {
	return s.d.Store.ListUsers(ctx, awsAccountID, accountID, f, token, limit)
}

// overlay is the user as the command decided it, over the row the read model still shows.
func overlay(u chimeaccounts.User, st account.State, pin string) chimeaccounts.User {
	if m, _ := st.Members.Get(u.UserID); m != nil {
		u.LicenseType, u.UserType, u.RegistrationStatus = m.License, m.Type, m.Registration
		if m.Alexa != nil {
			enabled, arn := m.Alexa.Enabled, m.Alexa.RoomARN
			u.AlexaEnabled, u.AlexaRoomARN = &enabled, &arn
		}
	}
	if pin != "" {
		u.PersonalPIN = pin
	}
	return u
}

// execUser runs a single-user command and answers with the user: read back once the read model
// caught up, the read model's row with the decided changes over it when it is late.
func (s *Service) execUser(ctx context.Context, awsAccountID, accountID, userID, pin string, cmd account.Command) (chimeaccounts.User, error) {
	c := s.d.Accounts.Command(account.StreamName(accountID), cmd).After(usecase.Owner(s.d.Accounts.Repo, awsAccountID, accountID))
	read := func(ctx context.Context) (chimeaccounts.User, error) {
		return s.d.Store.GetUser(ctx, awsAccountID, accountID, userID)
	}
	return usecase.Run(ctx, c, read, func(d usecase.AccountDecided) (chimeaccounts.User, error) {
		u, err := read(ctx)
		return overlay(u, d.State, pin), err
	})
}

// UpdateUser changes a user's licence, type or Alexa for Business metadata.
func (s *Service) UpdateUser(ctx context.Context, awsAccountID, accountID string, ch account.UserChange) (chimeaccounts.User, error) {
	return s.execUser(ctx, awsAccountID, accountID, ch.UserID, "", account.UpdateUser{AccountID: accountID, UserChange: ch})
}

// LogoutUser signs the user out of every device (sessions issued before now are revoked).
func (s *Service) LogoutUser(ctx context.Context, awsAccountID, accountID, userID string) error {
	c := s.d.Accounts.Command(account.StreamName(accountID), account.LogoutUser{AccountID: accountID, UserID: userID})
	return usecase.Exec(ctx, c.After(usecase.Owner(s.d.Accounts.Repo, awsAccountID, accountID)))
}

// ResetPersonalPIN gives the user a new, never used personal meeting PIN.
func (s *Service) ResetPersonalPIN(ctx context.Context, awsAccountID, accountID, userID string) (chimeaccounts.User, error) {
	if _, err := s.d.Store.GetUser(ctx, awsAccountID, accountID, userID); err != nil {
		return chimeaccounts.User{}, err
	}
	pin, sealed, err := s.d.PINs.Reserve(ctx, accountID, userID)
	if err != nil {
		return chimeaccounts.User{}, err
	}
	return s.execUser(ctx, awsAccountID, accountID, userID, pin, account.ResetPIN{AccountID: accountID, UserID: userID, PIN: sealed})
}

// Batch runs a batch user command: valid items are applied in one append, the others reported.
func (s *Service) Batch(ctx context.Context, awsAccountID, accountID string, cmd account.Command) ([]account.ItemError, error) {
	var items []account.ItemError
	c := s.d.Accounts.Decision(account.StreamName(accountID), func(st account.State, now time.Time) ([]account.Event, error) {
		var evs []account.Event
		var err error
		evs, items, err = account.DecideBatch(st, cmd, now)
		return evs, err
	})
	d, _, err := c.After(usecase.Owner(s.d.Accounts.Repo, awsAccountID, accountID)).Do(ctx)
	if err != nil {
		return nil, err
	}
	usecase.Shred(ctx, s.d.Keys, s.d.Logger, accountID, d.Events)
	if s.d.Numbers != nil {
		if err := s.d.Numbers.ReleaseNumbers(ctx, awsAccountID, d.Events); err != nil {
			return items, err
		}
	}
	return items, nil
}
