package chime

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/google/uuid"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

// PIN reservation streams make personal meeting PINs unique across the installation; a PIN is
// never reserved twice, so an old PIN is not handed out again after a reset (guide §5.4).
const (
	pinStreamPrefix  = "chime.pin-"
	pinReservedEvent = "chime.pin.reserved.v1"
)

func (s *Service) reservePIN(ctx context.Context, accountID, userID string) (string, error) {
	for i := 0; i < 20; i++ {
		n, err := rand.Int(rand.Reader, big.NewInt(10_000_000_000))
		if err != nil {
			return "", err
		}
		pin := fmt.Sprintf("%010d", n.Int64())
		ok, err := eventstore.Reserve(ctx, s.client, pinStreamPrefix+pin, pinReservedEvent,
			map[string]string{"accountId": accountID, "userId": userID})
		if err != nil {
			return "", err
		}
		if ok {
			return pin, nil
		}
	}
	return "", errors.New("chime: no free personal PIN found after 20 tries")
}

// CreateUser adds a user to one of the caller's accounts.
func (s *Service) CreateUser(ctx context.Context, awsAccountID, accountID, email, username, userType string) (chimeaccounts.User, error) {
	if err := s.ownAccount(ctx, awsAccountID, accountID); err != nil {
		return chimeaccounts.User{}, err
	}
	userID := uuid.NewString()
	cmd := account.AddUser{AccountID: accountID, UserID: userID, Email: email, Username: username, UserType: userType}
	// Refuse what can be refused before a PIN is reserved: a reserved PIN is never handed out again,
	// so a command the account then rejects would waste one (the decision below still has the last word).
	normalized, _, err := account.CheckNewUser(cmd)
	if err != nil {
		return chimeaccounts.User{}, err
	}
	if same, _, err := s.store.ListUsers(ctx, awsAccountID, accountID, chimeaccounts.UserFilter{Email: normalized}, "", 1); err == nil && len(same) > 0 {
		return chimeaccounts.User{}, domain.Wrapf(account.ErrEmailTaken, "a user with Email %s already exists in account %s (user %s)", email, accountID, same[0].UserID)
	}
	if cmd.PersonalPIN, err = s.reservePIN(ctx, accountID, userID); err != nil {
		return chimeaccounts.User{}, err
	}
	res, err := s.accounts.Execute(ctx, account.StreamName(accountID), cmd)
	if err != nil {
		return chimeaccounts.User{}, err
	}
	s.waitRM(ctx, s.accountsRM, res.Position)
	e := res.Events[0].(account.UserAdded)
	return chimeaccounts.User{UserID: e.UserID, AccountID: accountID, Email: e.Email, Username: e.Username, UserType: e.UserType,
		LicenseType: e.LicenseType, RegistrationStatus: account.RegistrationUnregistered, PersonalPIN: e.PersonalPIN, CreatedAt: e.CreatedAt}, nil
}

// GetUser returns one user of one of the caller's accounts.
func (s *Service) GetUser(ctx context.Context, awsAccountID, accountID, userID string) (chimeaccounts.User, error) {
	return s.store.GetUser(ctx, awsAccountID, accountID, userID)
}

// ListUsers returns a page of an account's users.
func (s *Service) ListUsers(ctx context.Context, awsAccountID, accountID string, f chimeaccounts.UserFilter, token string, limit int) ([]chimeaccounts.User, string, error) {
	return s.store.ListUsers(ctx, awsAccountID, accountID, f, token, limit)
}

// execUser runs a single-user command and answers with the user as the read model then shows it.
func (s *Service) execUser(ctx context.Context, awsAccountID, accountID, userID string, cmd account.Command) (chimeaccounts.User, error) {
	if err := s.ownAccount(ctx, awsAccountID, accountID); err != nil {
		return chimeaccounts.User{}, err
	}
	res, err := s.accounts.Execute(ctx, account.StreamName(accountID), cmd)
	if err != nil {
		return chimeaccounts.User{}, err
	}
	s.waitRM(ctx, s.accountsRM, res.Position)
	return s.store.GetUser(ctx, awsAccountID, accountID, userID)
}

// UpdateUser changes a user's licence, type or Alexa for Business metadata.
func (s *Service) UpdateUser(ctx context.Context, awsAccountID, accountID string, ch account.UserChange) (chimeaccounts.User, error) {
	return s.execUser(ctx, awsAccountID, accountID, ch.UserID, account.UpdateUser{AccountID: accountID, UserChange: ch})
}

// LogoutUser signs the user out of every device (sessions issued before now are revoked).
func (s *Service) LogoutUser(ctx context.Context, awsAccountID, accountID, userID string) error {
	_, err := s.execUser(ctx, awsAccountID, accountID, userID, account.LogoutUser{AccountID: accountID, UserID: userID})
	return err
}

// ResetPersonalPIN gives the user a new, never used personal meeting PIN.
func (s *Service) ResetPersonalPIN(ctx context.Context, awsAccountID, accountID, userID string) (chimeaccounts.User, error) {
	if _, err := s.store.GetUser(ctx, awsAccountID, accountID, userID); err != nil {
		return chimeaccounts.User{}, err
	}
	pin, err := s.reservePIN(ctx, accountID, userID)
	if err != nil {
		return chimeaccounts.User{}, err
	}
	return s.execUser(ctx, awsAccountID, accountID, userID, account.ResetPIN{AccountID: accountID, UserID: userID, NewPIN: pin})
}

// Batch runs a batch user command: valid items are applied in one append, the others reported.
func (s *Service) Batch(ctx context.Context, awsAccountID, accountID string, cmd account.Command) ([]account.ItemError, error) {
	if err := s.ownAccount(ctx, awsAccountID, accountID); err != nil {
		return nil, err
	}
	var items []account.ItemError
	res, err := s.accounts.ExecuteFunc(ctx, account.StreamName(accountID), func(st account.State, now time.Time) ([]account.Event, error) {
		var evs []account.Event
		var err error
		evs, items, err = account.DecideBatch(st, cmd, now)
		return evs, err
	})
	if err != nil {
		return nil, err
	}
	s.waitRM(ctx, s.accountsRM, res.Position)
	return items, nil
}
