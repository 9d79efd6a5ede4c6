package chime

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

func newToken() (raw, hash string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	raw = base64.RawURLEncoding.EncodeToString(b)
	return raw, hashToken(raw)
}

func hashToken(raw string) string {
	h := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(h[:])
}

// Register accepts an invitation token: the user sets a password, becomes Registered and gets a PIN.
func (s *Service) Register(ctx context.Context, token, password, displayName string) (chimeaccounts.User, error) {
	if err := account.ValidatePassword(password); err != nil {
		return chimeaccounts.User{}, err
	}
	inv, err := s.store.InviteByTokenHash(ctx, hashToken(token))
	if err != nil {
		return chimeaccounts.User{}, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), passwordCost)
	if err != nil {
		return chimeaccounts.User{}, err
	}
	sealedHash, err := s.keys.SealFor(ctx, inv.AccountID, account.UserKeySubject(inv.UserID), hash)
	if err != nil {
		return chimeaccounts.User{}, err
	}
	_, pin, err := s.pins.Reserve(ctx, inv.AccountID, inv.UserID)
	if err != nil {
		return chimeaccounts.User{}, err
	}
	res, err := s.accounts.Execute(ctx, account.StreamName(inv.AccountID), account.Register{AccountID: inv.AccountID, UserID: inv.UserID,
		InviteID: inv.InviteID, TokenHash: hashToken(token), PasswordHash: sealedHash, DisplayName: displayName, PIN: pin})
	if err != nil {
		return chimeaccounts.User{}, err
	}
	s.waitRM(ctx, s.accountsRM, res.Position)
	return s.store.GetUserAnyTenant(ctx, inv.AccountID, inv.UserID)
}

// Authenticate checks a session token: the user must still be a registered, unsuspended member and
// must not have been logged out (LogoutUser) since the session was issued.
func (s *Service) Authenticate(ctx context.Context, token string) (chimeaccounts.User, error) {
	var userID, accountID string
	var issued time.Time
	err := s.sessions.QueryRow(ctx, `SELECT user_id, account_id, issued_at FROM client.sessions WHERE token_hash = $1`, hashToken(token)).
		Scan(&userID, &accountID, &issued)
	if errors.Is(err, pgx.ErrNoRows) {
		return chimeaccounts.User{}, domain.Wrapf(ErrSignIn, "the session is not valid")
	}
	if err != nil {
		return chimeaccounts.User{}, err
	}
	c, err := s.store.CredentialByUser(ctx, userID)
	if err != nil {
		return chimeaccounts.User{}, err
	}
	if c.Registration == account.RegistrationSuspended || (c.LoggedOutAt != nil && !c.LoggedOutAt.Before(issued)) {
		return chimeaccounts.User{}, domain.Wrapf(ErrSignIn, "the session was revoked; sign in again")
	}
	return s.store.GetUserAnyTenant(ctx, accountID, userID)
}
