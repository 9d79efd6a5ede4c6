// Package client is the slice of the end-user client API's own context: registration from an
// invitation (Register), sign-in with its back-off (SignIn) and the sessions it opens (Authenticate,
// the Authenticator of every client route; the rooms and meetings slices declare theirs). It is not
// SigV4: an end user holds a password and then a bearer session token; only the token's SHA-256 is
// stored (infra/sessions), and only a bcrypt hash of the password, sealed under the user's key.
//
// Register answers from the decided state when the accounts read model is late (usecase.Run): the
// user's row as the read model still shows it (invited), with the registration the command decided
// over it — Registered, the invitation Accepted, the new personal PIN in clear.
package client

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/usage"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

// Store reads invitations, credentials and users from the accounts read model (chimeaccounts.Store
// implements it).
type Store interface {
	InviteByTokenHash(ctx context.Context, hash string) (chimeaccounts.Invitation, error)
	CredentialsByEmail(ctx context.Context, email string) ([]chimeaccounts.Credential, error)
	// SessionUser returns the live user a session token's hash opens (without the PIN), when the
	// session was issued and when the user was last logged out (nil: never); none is
	// chimeaccounts.ErrNoSessionUser.
	SessionUser(ctx context.Context, tokenHash string) (chimeaccounts.User, time.Time, *time.Time, error)
	GetUserAnyTenant(ctx context.Context, accountID, userID string) (chimeaccounts.User, error)
}

// Sessions stores the sessions by the hash of their token (infra/sessions implements it); a hash
// that opens no session is an error of kind NotFound.
type Sessions interface {
	Open(ctx context.Context, tokenHash, userID, accountID string, issuedAt time.Time) error
	Lookup(ctx context.Context, tokenHash string) (userID, accountID string, issuedAt time.Time, err error)
}

// Sealer seals a credential under a subject's key (infra/datakeys implements it).
type Sealer interface {
	SealFor(ctx context.Context, tenant, subject string, plaintext []byte) (domain.Sealed, error)
}

// PINs reserves personal meeting PINs (infra/pins implements it): the PIN in clear and sealed.
type PINs interface {
	Reserve(ctx context.Context, accountID, userID string) (string, domain.Sealed, error)
}

// Deps are the slice's collaborators.
type Deps struct {
	Accounts usecase.Accounts
	Store    Store
	Sessions Sessions
	Keys     Sealer
	PINs     PINs
	// SignIn throttles failed sign-ins (default DefaultSignInLimits).
	SignIn SignInLimits
	// PasswordCost is the bcrypt cost of the password hashes made, the sign-ins' dummy hash's
	// included, so that an unknown address costs a sign-in the same work (0: bcrypt.DefaultCost).
	PasswordCost int
	// Now is the clock of sessions and of the sign-in back-off (default time.Now).
	Now func() time.Time
	// Registerer registers the sign-in metrics (nil: not registered).
	Registerer prometheus.Registerer
	// SignIns records each sign-in as an event (the weekly usage report's last_login; nil: not recorded).
	SignIns usecase.Repository[usage.State, usage.Command, usage.Event]
}

// Service runs the client API's own use cases.
type Service struct {
	d      Deps
	signin *signInGuard
}

// New returns the slice and registers its metrics.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &Service{d: d, signin: newSignInGuard(d.SignIn, cost(d.PasswordCost))}
	if d.Registerer != nil {
		d.Registerer.MustRegister(s.signin.checks, s.signin.refused)
	}
	return s
}

// registered is the user as Register decided it, over the row the read model still shows; pin is
// the new personal PIN in clear.
func registered(u chimeaccounts.User, events []account.Event, pin string) chimeaccounts.User {
	for _, e := range events {
		if r, ok := e.(account.UserRegistered); ok && r.UserID == u.UserID {
			accepted, at := account.InviteAccepted, r.At
			u.RegistrationStatus, u.InvitationStatus, u.RegisteredOn, u.PersonalPIN = account.RegistrationRegistered, &accepted, &at, pin
		}
	}
	return u
}

// Register accepts an invitation token: the user sets a password, becomes Registered and gets a PIN.
func (s *Service) Register(ctx context.Context, token, password, displayName string) (chimeaccounts.User, error) {
	if err := account.ValidatePassword(password); err != nil {
		return chimeaccounts.User{}, err
	}
	inv, err := s.d.Store.InviteByTokenHash(ctx, usecase.HashToken(token))
	if err != nil {
		return chimeaccounts.User{}, err
	}
	if err := s.registrable(ctx, inv, token, displayName); err != nil {
		return chimeaccounts.User{}, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), cost(s.d.PasswordCost))
	if err != nil {
		return chimeaccounts.User{}, err
	}
	sealedHash, err := s.d.Keys.SealFor(ctx, inv.AccountID, account.UserKeySubject(inv.UserID), hash)
	if err != nil {
		return chimeaccounts.User{}, err
	}
	pin, sealedPIN, err := s.d.PINs.Reserve(ctx, inv.AccountID, inv.UserID)
	if err != nil {
		return chimeaccounts.User{}, err
	}
	c := s.d.Accounts.Command(account.StreamName(inv.AccountID), account.Register{AccountID: inv.AccountID, UserID: inv.UserID,
		InviteID: inv.InviteID, TokenHash: usecase.HashToken(token), PasswordHash: sealedHash, DisplayName: displayName, PIN: sealedPIN})
	read := func(ctx context.Context) (chimeaccounts.User, error) {
		return s.d.Store.GetUserAnyTenant(ctx, inv.AccountID, inv.UserID)
	}
	return usecase.Run(ctx, c, read, func(d usecase.AccountDecided) (chimeaccounts.User, error) {
		u, err := read(ctx)
		if err != nil {
			return chimeaccounts.User{}, err
		}
		return registered(u, d.Events, pin), nil
	})
}

// registrable refuses, before anything is stored, a registration the account would refuse (an
// invitation used or expired, a suspended or removed user, a display name too long): Register
// reserves a personal PIN (an event in the log) and seals the password hash before it decides, so a
// replayed token would otherwise burn a PIN each time. The account's latest state is asked with
// placeholders of the sealed fields; the command decides again on the state it appends to.
func (s *Service) registrable(ctx context.Context, inv chimeaccounts.Invitation, token, displayName string) error {
	placeholder := domain.Sealed{KeyID: domain.SubjectKeyID(inv.AccountID, account.UserKeySubject(inv.UserID)), Data: []byte{0}}
	cmd := account.Register{AccountID: inv.AccountID, UserID: inv.UserID, InviteID: inv.InviteID, TokenHash: usecase.HashToken(token),
		PasswordHash: placeholder, DisplayName: displayName, PIN: placeholder}
	return s.d.Accounts.Repo.Inspect(ctx, account.StreamName(inv.AccountID), true, func(st account.State) error {
		_, err := account.Decide(st, cmd, s.d.Now())
		return err
	})
}

// Authenticate checks a session token: the user must still be a registered, unsuspended member and
// must not have been logged out (LogoutUser) since the session was issued. One query answers a valid
// session; the user it returns has no PersonalPIN (see chimeaccounts.Store.SessionUser).
func (s *Service) Authenticate(ctx context.Context, token string) (chimeaccounts.User, error) {
	hash := usecase.HashToken(token)
	u, issued, loggedOut, err := s.d.Store.SessionUser(ctx, hash)
	if errors.Is(err, chimeaccounts.ErrNoSessionUser) {
		// Which is gone, the session or its user, says which answer the client gets.
		if _, _, _, err := s.d.Sessions.Lookup(ctx, hash); err != nil {
			if domain.KindOf(err) == domain.KindNotFound {
				return chimeaccounts.User{}, domain.Wrapf(ErrSignIn, "the session is not valid")
			}
			return chimeaccounts.User{}, err
		}
		return chimeaccounts.User{}, domain.Errorf(domain.KindForbidden, "the user no longer exists")
	}
	if err != nil {
		return chimeaccounts.User{}, err
	}
	if u.RegistrationStatus == account.RegistrationSuspended || (loggedOut != nil && !loggedOut.Before(issued)) {
		return chimeaccounts.User{}, domain.Wrapf(ErrSignIn, "the session was revoked; sign in again")
	}
	return u, nil
}
