package client

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/belfry/belfry/api/chime/clientapi"
	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/roster"
)

// Password reset (guide §21.6, non-SSO users): "Forgot password" on the login screen asks for a
// reset link by e-mail address (Request); the link, mailed by the router (DeliverMail), sets a new
// password (Confirm). It is a full account reset, decided by the roster (roster.ResetPassword): every
// device is reset, so every session ends, and a lockout ends; the user's removal from its rooms is
// the reset's side effect (api/wickr/messaging Resets).
//
// Invariants:
//   - A reset token is "<networkId>.<userId>.<expiry>.<mac>", the mac an HMAC of the three under an
//     installation key of its own (resetKey: no invitation token is a reset token, nor the reverse).
//     Nothing of it is stored: the roster keeps the current link's expiry, so a newer request voids
//     the older tokens, a reset spends the token, and it expires PasswordResetTTL after its request.
//     Any token that is not the user's current link is answered one way (roster.ErrResetLink).
//   - A request answers the same whoever the address is: only an active user of a live network
//     without SSO that is not suspended gets a link, and nothing tells the caller whether one was
//     sent — neither the answer nor its time: an admitted request answers no sooner than
//     ResetAnswerTime after it began, which the lookups and the record of a link fit in. Requests
//     are throttled per address and per source with the sign-in limits (every request counts), for
//     any address alike, so that they cannot flood a mailbox.
//   - Passwords and tokens enter no event: the new password only as a sealed bcrypt hash.

// resetKey names the installation key of the password-reset macs.
const resetKey = "wickr-password-reset"

// ResetAnswerTime is the least time an admitted reset request takes, whoever the address is: an
// active user's costs the lookups of its network and roster and the record of its link (a few
// milliseconds), an unknown address's one read, and the time of the answer must not tell them apart.
const ResetAnswerTime = 200 * time.Millisecond

// ErrResetThrottled answers reset requests refused after too many (429 with Retry-After).
var ErrResetThrottled = &domain.Error{Kind: domain.KindThrottled, Msg: "too many password reset requests"}

// resetLimits counts the reset requests per e-mail address and per source (clientapi.Backoff with
// the sign-in limits, in counts of their own).
type resetLimits struct{ byEmail, byIP *clientapi.Backoff }

func newResetLimits(l clientapi.SignInLimits) *resetLimits {
	if l.Failures <= 0 {
		l = clientapi.DefaultSignInLimits
	}
	return &resetLimits{byEmail: clientapi.NewBackoff(l.Failures, l.Capacity, l), byIP: clientapi.NewBackoff(l.FailuresPerIP, l.CapacityPerIP, l)}
}

// admit counts a request for the e-mail key from the source, or refuses it while either is locked.
func (l *resetLimits) admit(key, sourceIP string, now time.Time) error {
	end, wait := clientapi.Begin(now, clientapi.Keyed{B: l.byEmail, Key: key}, clientapi.Keyed{B: l.byIP, Key: sourceIP})
	if wait > 0 {
		return &domain.Error{Kind: domain.KindThrottled, Sentinel: ErrResetThrottled, RetryAfter: wait,
			Msg: fmt.Sprintf("too many password reset requests for this address or from this source; try again in %s", wait.Round(time.Second))}
	}
	end(true)
	return nil
}

// Resets are the password-reset use cases, over the slice's collaborators.
type Resets struct{ s *Service }

// PasswordResets returns the slice's password-reset use cases.
func PasswordResets(s *Service) Resets { return Resets{s} }

// Request asks for a reset link for the users of an e-mail address: in the network networkID, or in
// every network where the address is a user ("" for networkID). Each active user of a live network
// without SSO that is not suspended records a PasswordResetRequested (its link is mailed as a side
// effect); any other records nothing. The answer is nil either way, no sooner than ResetAnswerTime
// after the request was admitted (or when ctx ends); ErrResetThrottled (for any address alike) after
// too many requests, and an error when the lookups fail.
func (r Resets) Request(ctx context.Context, email, networkID, sourceIP string) error {
	if err := r.s.resets.admit(strings.ToLower(strings.TrimSpace(email)), sourceIP, r.s.d.Now()); err != nil {
		return err
	}
	floor := time.NewTimer(ResetAnswerTime)
	defer func() {
		select {
		case <-floor.C:
		case <-ctx.Done():
			floor.Stop()
		}
	}()
	username, err := wickr.NormalizeUsername("Email", email)
	if err != nil {
		return nil // no user has it
	}
	users, err := r.s.d.Users.ByUsername(ctx, username, networkID)
	if err != nil {
		return err
	}
	for _, u := range users {
		if err := r.request(ctx, u.NetworkID, u.UserID); err != nil {
			return err
		}
	}
	return nil
}

// request records one user's request on its roster; a refusal (SSO, pending, suspended, deleted, a
// network gone) is no error: it gets no link.
func (r Resets) request(ctx context.Context, networkID, userID string) error {
	p, err := r.s.policy(ctx, networkID)
	if err == nil {
		cmd := roster.RequestPasswordReset{NetworkID: networkID, UserID: userID, Policy: p.Policy}
		_, err = r.s.d.Rosters.Repo.Execute(ctx, roster.StreamName(networkID, userID), cmd)
	}
	switch domain.KindOf(err) {
	case domain.KindForbidden, domain.KindNotFound, domain.KindInvalid:
		return nil
	}
	return err
}

// DeliverMail mails a user the link of its reset request that expires at expires (the router calls
// it for each PasswordResetRequested). A link replaced, used or expired since, or of a user, network
// or password sign-in gone since, is not mailed; a redelivery mails the same link again.
func (r Resets) DeliverMail(ctx context.Context, networkID, userID string, expires time.Time) error {
	v, err := r.s.user(ctx, networkID, userID)
	if domain.KindOf(err) == domain.KindNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if v.Status != roster.StatusActive || !v.ResetExpiresAt.Equal(expires) || !r.s.d.Now().Before(expires) {
		return nil
	}
	p, err := r.s.policy(ctx, networkID)
	if domain.KindOf(err) == domain.KindNotFound || err == nil && p.SSO {
		return nil
	}
	if err != nil {
		return err
	}
	tok, err := makeToken(ctx, r.s.d.Keys, resetKey, networkID, userID, expires)
	if err != nil {
		return err
	}
	body := fmt.Sprintf("A password reset was asked for your AWS Wickr account in network %s.\n\n"+
		"A password reset is a full account reset, and it cannot be undone: every device is signed out and its registration\n"+
		"cleared (the messages stored on your devices are deleted), and you are removed from every room you are in (you must\n"+
		"be invited to them again). If you did not ask for it, ignore this mail: nothing changes.\n\n"+
		"Set a new password with this link before %s:\n\n  %s/client/v1/wickr/password-resets/confirm?token=%s\n\nor give the client this token:\n\n  %s\n",
		networkID, expires.Format(time.RFC1123), strings.TrimRight(r.s.d.PublicURL(), "/"), tok, tok)
	return r.s.d.Mail.Send(ctx, v.Username, "Reset your AWS Wickr password", body)
}

// Confirm sets a new password through a reset token and answers whose it is. A token that is not its
// user's current link (forged, expired, replaced, used, voided by a suspension, of a user or network
// gone) is roster.ErrResetLink, checked before any bcrypt work; the password must meet the user's
// group's requirements (a refusal names Password). The roster records the reset (roster.ResetPassword).
func (r Resets) Confirm(ctx context.Context, token, password string) (networkID, userID string, err error) {
	if utf8.RuneCountInString(password) > MaxPassword {
		return "", "", wickr.Invalid("Password", "must be at most %d characters", MaxPassword)
	}
	link, err := parseToken(ctx, r.s.d.Keys, resetKey, token, roster.InvalidResetLink())
	if err != nil {
		return "", "", err
	}
	p, v, err := r.current(ctx, link)
	if err != nil {
		return "", "", err
	}
	shape := Shape(password)
	if err := roster.CheckPassword("Password", shape, p.Settings(v.GroupID).PasswordRequirements); err != nil {
		return "", "", err
	}
	hash, err := usecase.HashPassword(password, r.s.d.PasswordCost)
	if err != nil {
		return "", "", err
	}
	sealed, err := r.s.d.Keys.SealFor(ctx, link.networkID, wickr.UserSubject(link.userID), hash)
	if err != nil {
		return "", "", err
	}
	cmd := roster.ResetPassword{NetworkID: link.networkID, UserID: link.userID, LinkExpiresAt: link.expires, Password: sealed, Shape: shape, Policy: p.Policy}
	if err := usecase.Exec(ctx, r.s.d.Rosters.Command(roster.StreamName(link.networkID, link.userID), cmd)); err != nil {
		return "", "", err
	}
	return link.networkID, link.userID, nil
}

// current reads the network and the user a token names and checks that it is the user's current
// link (the roster checks it again when it decides).
func (r Resets) current(ctx context.Context, link invite) (netPolicy, userView, error) {
	p, err := r.s.policy(ctx, link.networkID)
	var v userView
	if err == nil {
		v, err = r.s.user(ctx, link.networkID, link.userID)
	}
	switch {
	case domain.KindOf(err) == domain.KindNotFound:
		return p, v, roster.InvalidResetLink()
	case err != nil:
		return p, v, err
	case !v.ResetExpiresAt.Equal(link.expires) || !r.s.d.Now().Before(link.expires):
		return p, v, roster.InvalidResetLink()
	case p.SSO:
		return p, v, domain.Wrapf(roster.ErrSSOOnly, "the network signs its users in through SSO: reset the password at the identity provider")
	}
	return p, v, nil
}
