package chime

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/belfry/belfry/api"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/infra/mail"
	"github.com/belfry/belfry/infra/sideeffects"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

// InviteResult is one invitation as InviteUsers reports it.
type InviteResult = api.Invite

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

// InviteUsers invites addresses to a Team account. The invitation mails are side effects: the relay
// enqueues one per invitation with the commit, and DeliverInvitation sends it (with retries). The call
// waits (bounded) until the mails went out, so EmailStatus is normally Sent or Failed.
func (s *Service) InviteUsers(ctx context.Context, awsAccountID, accountID string, emails []string, userType string) ([]InviteResult, error) {
	if err := s.ownAccount(ctx, awsAccountID, accountID); err != nil {
		return nil, err
	}
	cmd := account.InviteUsers{AccountID: accountID, UserType: userType}
	for _, e := range emails {
		cmd.Items = append(cmd.Items, account.InviteItem{Email: e, UserID: uuid.NewString(), InviteID: uuid.NewString()})
	}
	res, err := s.accounts.Execute(ctx, account.StreamName(accountID), cmd)
	if err != nil {
		return nil, err
	}
	s.waitRM(ctx, s.accountsRM, res.Position)
	var out []InviteResult
	var ids []string
	for _, e := range res.Events {
		if inv, ok := e.(account.UserInvited); ok {
			out = append(out, InviteResult{InviteID: inv.InviteID, Email: inv.Email, Status: account.InvitePending, EmailStatus: account.EmailNotSent})
			ids = append(ids, inv.InviteID)
		}
	}
	deadline := time.Now().Add(s.readModelWait)
	for len(ids) > 0 && time.Now().Before(deadline) {
		st, err := s.store.InviteEmailStatuses(ctx, ids)
		if err != nil {
			return nil, err
		}
		pending := 0
		for i := range out {
			out[i].EmailStatus = st[out[i].InviteID]
			if out[i].EmailStatus == account.EmailNotSent {
				pending++
			}
		}
		if pending == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
	}
	return out, nil
}

// DeliverInvitation sends an invitation mail with a fresh single-use token (its hash is recorded
// first, so the mailed token is always the valid one). A mail already sent is not sent again.
func (s *Service) DeliverInvitation(ctx context.Context, inv sideeffects.Invitation) error {
	st, err := s.store.InviteEmailStatuses(ctx, []string{inv.InviteID})
	if err != nil {
		return err
	}
	if st[inv.InviteID] == account.EmailSent {
		return nil
	}
	raw, hash := newToken()
	res, err := s.accounts.Execute(ctx, account.StreamName(inv.AccountID), account.IssueInviteToken{AccountID: inv.AccountID, InviteID: inv.InviteID, TokenHash: hash})
	if domain.KindOf(err) != 0 {
		return nil // the invitation was used or expired meanwhile: nothing to send
	}
	if err != nil {
		return err
	}
	status := account.EmailSent
	body := fmt.Sprintf("You are invited to join an Amazon Chime team hosted by Belfry.\n\n"+
		"Register within 7 days by sending your registration token with a password to POST /client/v1/registrations:\n\n  %s\n", raw)
	if err := s.mail.Send(ctx, mail.Message{To: inv.Email, Subject: "Your invitation to Amazon Chime", Body: body}); err != nil {
		status = account.EmailFailed
	}
	r, err := s.accounts.Execute(ctx, account.StreamName(inv.AccountID), account.RecordInviteEmail{AccountID: inv.AccountID, InviteID: inv.InviteID, Status: status})
	if err != nil {
		return err
	}
	s.waitRM(ctx, s.accountsRM, max(res.Position, r.Position))
	return nil
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
	_, pin, err := s.reservePIN(ctx, inv.AccountID, inv.UserID)
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
