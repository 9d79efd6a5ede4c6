package chime

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

// PIN reservation streams make personal meeting PINs unique across the installation; a PIN is
// never reserved twice, so an old PIN is not handed out again after a reset (guide §5.4). The stream
// is named by the PIN's HMAC under an installation key (datakeys.Index), not by the PIN: the log
// links the reservation to the user, so a plain name would publish every user's PIN. Streams named
// by the plain PIN (before this) are still consulted, so those PINs are not handed out again.
const (
	pinStreamPrefix  = "chime.pin-"
	pinReservedEvent = "chime.pin.reserved.v1"
	pinIndex         = "personal-pin"
)

// reservePIN reserves a new personal PIN for a user and returns it in clear and sealed under the
// user's key.
func (s *Service) reservePIN(ctx context.Context, accountID, userID string) (string, domain.Sealed, error) {
	for i := 0; i < 20; i++ {
		n, err := rand.Int(rand.Reader, big.NewInt(10_000_000_000))
		if err != nil {
			return "", domain.Sealed{}, err
		}
		pin := fmt.Sprintf("%010d", n.Int64())
		name, err := s.keys.Index(ctx, pinIndex, []byte(pin))
		if err != nil {
			return "", domain.Sealed{}, err
		}
		ok, err := eventstore.Reserve(ctx, s.client, pinStreamPrefix+name, pinReservedEvent,
			map[string]string{"accountId": accountID, "userId": userID})
		if err == nil && ok {
			ok, err = s.streamAbsent(ctx, pinStreamPrefix+pin)
		}
		if err != nil {
			return "", domain.Sealed{}, err
		}
		if ok {
			sealed, err := s.keys.SealFor(ctx, accountID, account.UserKeySubject(userID), []byte(pin))
			return pin, sealed, err
		}
	}
	return "", domain.Sealed{}, errors.New("chime: no free personal PIN found after 20 tries")
}

// streamAbsent reports whether a stream has no event (a legacy PIN reservation).
func (s *Service) streamAbsent(ctx context.Context, stream string) (bool, error) {
	rs, err := s.client.ReadStream(ctx, stream, esdb.ReadStreamOptions{From: esdb.Start{}}, 1)
	if err != nil {
		return false, fmt.Errorf("chime: read %s: %w", stream, err)
	}
	defer rs.Close()
	_, err = rs.Recv()
	switch {
	case errors.Is(err, io.EOF), eventstore.IsCode(err, esdb.ErrorCodeResourceNotFound):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("chime: read %s: %w", stream, err)
	}
	return false, nil
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
	pin, sealed, err := s.reservePIN(ctx, accountID, userID)
	if err != nil {
		return chimeaccounts.User{}, err
	}
	cmd.PIN = sealed
	res, err := s.accounts.Execute(ctx, account.StreamName(accountID), cmd)
	if err != nil {
		return chimeaccounts.User{}, err
	}
	s.waitRM(ctx, s.accountsRM, res.Position)
	e := res.Events[0].(account.UserAdded)
	return chimeaccounts.User{UserID: e.UserID, AccountID: accountID, Email: e.Email, Username: e.Username, UserType: e.UserType,
		LicenseType: e.LicenseType, RegistrationStatus: account.RegistrationUnregistered, PersonalPIN: pin, CreatedAt: e.CreatedAt}, nil
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
	_, sealed, err := s.reservePIN(ctx, accountID, userID)
	if err != nil {
		return chimeaccounts.User{}, err
	}
	return s.execUser(ctx, awsAccountID, accountID, userID, account.ResetPIN{AccountID: accountID, UserID: userID, PIN: sealed})
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
	s.shred(ctx, accountID, res.Events)
	return items, nil
}

// shred destroys the keys of the users an append removed, or of every user and bot of an account it
// deleted, so that their credentials are unreadable when the call answers. The accounts projection
// destroys the same keys in its own transaction (the durable path, replayed after a crash); this is
// the immediate one, and it drops the keys from this process's cache. A failure here is logged: the
// projection still destroys them.
func (s *Service) shred(ctx context.Context, accountID string, events []account.Event) {
	for _, e := range events {
		var err error
		switch e := e.(type) {
		case account.UserRemoved:
			err = s.keys.DestroySubject(ctx, accountID, account.UserKeySubject(e.UserID))
		case account.Deleted:
			err = s.keys.DestroyTenant(ctx, accountID)
		}
		if err != nil {
			s.log.Error("destroying credential keys failed; the accounts projection destroys them", "account", accountID, "err", err)
		}
	}
}
