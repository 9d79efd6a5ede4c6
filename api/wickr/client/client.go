// Package client is the slice of the Wickr end users' client API (under /client/v1/wickr, beside the
// Chime one): registration through the invitation, sign-in by e-mail address and password or, in a
// network with an SSO configuration, through its OpenID provider (authorization code with PKCE),
// guests' self-registration and sign-in (guest.go), the password reset (reset.go), and the sessions
// they open. The roster (domain/wickr/roster) decides everything as events: the
// registration, each sign-in that succeeded or failed (with the failure count, on the stream's
// expected revision), the lockout and its end, the devices registered at sign-in; CheckSession
// decides whether a session is still open at each use, on the freshly read roster.
//
// Invariants:
//   - An invitation token is "<networkId>.<userId>.<expiry>.<mac>", the mac an HMAC under an
//     installation key (infra/datakeys Index) of the three: nothing is stored, a renewed invitation
//     (BatchReinviteUser: a new expiry) voids the older tokens, a registered user's token is spent.
//     The router mails it (DeliverInvitation) for each UserInvited and UserReinvited.
//   - A password-reset token has the same shape under a key of its own; the roster keeps only the
//     current link's expiry (reset.go). The router mails it (Resets.DeliverMail) for each
//     PasswordResetRequested.
//   - Passwords: only a bcrypt hash enters an event, sealed under the user's key (destroyed with the
//     user); a password is checked against the user's security group's requirements.
//   - A sign-in costs the same bcrypt work whether or not the e-mail address is known, and failures
//     are throttled per address and per source (clientapi.Backoff), besides the group's lockout.
//   - Session tokens are random; only their SHA-256 is stored (client.wickr_sessions). An SSO
//     session's refresh token is sealed under the user's key; when refreshing fails the session lasts
//     the network's token-refresh grace period (0, 30 or 60 minutes, guide §4.3) from the first
//     failure, and no longer.
//   - A device keeps at most MaxSessionsPerDevice sessions: a sign-in deletes its oldest beyond. A
//     session found over is deleted when its token is presented, and otherwise by the next
//     SweepSessions (the server runs it hourly).
package client

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/belfry/belfry/api/chime/clientapi"
	"github.com/belfry/belfry/api/wickr/sso"
	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr/network"
	"github.com/belfry/belfry/domain/wickr/roster"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
	"github.com/belfry/belfry/projections/wickrusers"
)

// Users finds the candidates of a sign-in in the users read model (wickrusers.Store implements it).
type Users interface {
	ByUsername(ctx context.Context, username, networkID string) ([]wickrusers.User, error)
}

// Session is one stored session: how it was opened, and for SSO what renews it.
type Session struct {
	roster.Session
	NetworkID                  string
	GuestHash                  string // a guest's session (NetworkID and UserID empty)
	ExpiresAt, RefreshFailedAt time.Time
	Refresh                    domain.Sealed
}

// StoredSession is a stored session with the hash of its token.
type StoredSession struct {
	TokenHash string
	Session
}

// MaxSessionsPerDevice bounds the sessions a device keeps (a device: the same network, user and app
// id; for a guest the same guest account and app id): a sign-in from it deletes its oldest sessions
// beyond the bound. Without one, a client that signs in again and again (a reinstalled app, a retry
// loop, a script) would leave a stored session per sign-in for as long as the user's device stays.
// The bound is above 1 so that a client signing in anew does not cut off requests still in flight
// on its previous token, nor app instances that share an app id.
const MaxSessionsPerDevice = 5

// Sessions stores sessions by the hash of their token; a hash that opens none is of kind NotFound.
type Sessions interface {
	// Open stores a session and leaves its device at most keep sessions, the new one among them: the
	// oldest others beyond are deleted in the same transaction, and the opens of one device are
	// serialized, so that concurrent sign-ins never leave more.
	Open(ctx context.Context, tokenHash string, s Session, keep int) error
	Lookup(ctx context.Context, tokenHash string) (Session, error)
	Refreshed(ctx context.Context, tokenHash string, expiresAt time.Time, refresh domain.Sealed) error
	RefreshFailed(ctx context.Context, tokenHash string, at time.Time) (time.Time, error)
	Close(ctx context.Context, tokenHash string) error
	// After is a keyset page of the stored sessions: at most limit whose token hash sorts after after
	// ("": from the first), in that order, read by one statement that holds nothing once it returns.
	After(ctx context.Context, after string, limit int) ([]StoredSession, error)
}

// Keys seals and opens credentials under a subject's key and makes the invitation and password-reset macs
// (infra/datakeys implements it).
type Keys interface {
	SealFor(ctx context.Context, tenant, subject string, plaintext []byte) (domain.Sealed, error)
	OpenSealed(ctx context.Context, s domain.Sealed) ([]byte, error)
	Index(ctx context.Context, name string, value []byte) (string, error)
}

// Mailer sends a mail (infra/mail implements it through an adapter).
type Mailer interface {
	Send(ctx context.Context, to, subject, body string) error
}

// Deps are the slice's collaborators.
type Deps struct {
	Networks usecase.Networks
	Rosters  usecase.Rosters
	// Companies are the SSO company-id claims (directory.CompanyIDStream): which network has one.
	Companies usecase.Directories
	// Guests are the guest accounts (streams wickr.guest-<usernameHash>).
	Guests   usecase.Guests
	Users    Users
	Sessions Sessions
	Keys     Keys
	Mail     Mailer
	// PublicURL is the base of the registration links (asked when a mail is sent: the server's
	// address is known once it listens).
	PublicURL func() string
	// SignIn throttles failed sign-ins (default clientapi.DefaultSignInLimits).
	SignIn clientapi.SignInLimits
	// PasswordCost is the bcrypt cost of the password hashes made, the sign-ins' dummy hash's
	// included, so that an unknown address costs a sign-in the same work (0: bcrypt.DefaultCost).
	PasswordCost int
	// Now is the clock of sessions, tokens and throttling (default time.Now); decisions use the
	// command path's clock.
	Now func() time.Time
	// Registerer registers the sign-in metrics (nil: not registered).
	Registerer prometheus.Registerer
	// IdP is the HTTP client of the identity providers' endpoints at SSO sign-in and refresh
	// (default sso.IdentityProviderClient(nil): a 10 s timeout, answers cut at 256 KiB, no redirect).
	IdP *http.Client
}

// Service runs the Wickr client API's use cases.
type Service struct {
	d      Deps
	guard  *guard
	sso    *pendingSSO
	resets *resetLimits // the password-reset requests' throttle (reset.go)
}

// New returns the slice.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.IdP == nil {
		d.IdP = sso.IdentityProviderClient(nil)
	}
	s := &Service{d: d, guard: newGuard(d.SignIn, d.PasswordCost), sso: newPendingSSO(), resets: newResetLimits(d.SignIn)}
	if d.Registerer != nil {
		d.Registerer.MustRegister(s.guard.checks, s.guard.refused)
	}
	return s
}

// netPolicy is what the roster needs of a network, read on the network's freshly read state.
type netPolicy struct {
	roster.Policy
	OIDC *network.OIDCConfig
	// DataRetention: the network archives its messages (its users are shown the notice, §8.1).
	DataRetention bool
}

// policy reads a live network's groups and SSO configuration through the command path (a decision
// without events: serialized with the network's commands, on its current state).
func (s *Service) policy(ctx context.Context, networkID string) (netPolicy, error) {
	var p netPolicy
	var live bool
	_, err := s.d.Networks.Repo.ExecuteFunc(ctx, network.StreamName(networkID), func(st network.State, _ time.Time) ([]network.Event, error) {
		live = st.Live()
		p = netPolicy{Policy: roster.Policy{Groups: map[string]sg.Settings{}, SSO: st.OIDC != nil, DefaultGroup: st.DefaultGroupID},
			DataRetention: st.Settings.DataRetention}
		for id, g := range st.Groups {
			p.Groups[id] = g.Settings
		}
		if st.OIDC != nil {
			c := *st.OIDC
			p.OIDC = &c
		}
		return nil, nil
	})
	if err == nil && !live {
		err = domain.Wrapf(network.ErrNotFound, "Network %s not found", networkID)
	}
	return p, err
}

// userView is what a use case reads of one user, copied inside a decision.
type userView struct {
	Username, GroupID string
	Status            int
	Suspended         bool
	Password          domain.Sealed
	InviteExpiresAt   time.Time
	ResetExpiresAt    time.Time // the current password-reset link's expiry (zero: none)
}

// user reads one user of a roster block through the command path (a decision without events).
func (s *Service) user(ctx context.Context, networkID, userID string) (userView, error) {
	var v userView
	_, err := s.d.Rosters.Repo.ExecuteFunc(ctx, roster.StreamName(networkID, userID), func(st roster.State, _ time.Time) ([]roster.Event, error) {
		u, err := st.User(userID)
		if err != nil {
			return nil, err
		}
		v = userView{Username: u.Username, GroupID: u.GroupID, Status: u.Status, Suspended: u.Suspended, Password: u.Password,
			InviteExpiresAt: u.InviteExpiresAt, ResetExpiresAt: u.ResetExpiresAt}
		return nil, nil
	})
	return v, err
}
