package client

import (
	"context"
	"crypto/subtle"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/roster"
)

// inviteKey names the installation key of the invitation macs.
const inviteKey = "wickr-invitation"

// MaxPassword bounds a password (runes).
const MaxPassword = 256

// ErrBadInvite is a token that names no current invitation.
var ErrBadInvite = &domain.Error{Kind: domain.KindForbidden, Msg: "the invitation is not valid"}

// macToken is the mac of a token's network, user and expiry under the installation key name.
func macToken(ctx context.Context, keys Keys, name, networkID, userID string, expires time.Time) (string, error) {
	return keys.Index(ctx, name, fmt.Appendf(nil, "%s\x00%s\x00%d", networkID, userID, expires.UnixNano()))
}

// makeToken is a token "<networkId>.<userId>.<expiry>.<mac>" under the installation key name.
func makeToken(ctx context.Context, keys Keys, name, networkID, userID string, expires time.Time) (string, error) {
	mac, err := macToken(ctx, keys, name, networkID, userID, expires)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s.%s.%d.%s", networkID, userID, expires.UnixNano(), mac), nil
}

// InviteToken is the registration token of a user's current invitation.
func (s *Service) InviteToken(ctx context.Context, networkID, userID string, expires time.Time) (string, error) {
	return makeToken(ctx, s.d.Keys, inviteKey, networkID, userID, expires)
}

// invite is a token's checked content (an invitation's or a password reset's).
type invite struct {
	networkID, userID string
	expires           time.Time
}

// parseInvite checks a token's mac (not yet whether it names the current invitation: the roster does).
func (s *Service) parseInvite(ctx context.Context, token string) (invite, error) {
	return parseToken(ctx, s.d.Keys, inviteKey, token, domain.Wrapf(ErrBadInvite, "the invitation token is not valid: use the link of the newest invitation mail"))
}

// parseToken checks a token's shape and its mac under the installation key name; bad is the answer
// to a token that fails.
func parseToken(ctx context.Context, keys Keys, name, token string, bad error) (invite, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 4 || wickr.ValidNetworkID("Token", parts[0]) != nil || wickr.ValidNumericID("Token", parts[1]) != nil {
		return invite{}, bad
	}
	ns, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return invite{}, bad
	}
	inv := invite{networkID: parts[0], userID: parts[1], expires: time.Unix(0, ns).UTC()}
	want, err := macToken(ctx, keys, name, inv.networkID, inv.userID, inv.expires)
	if err != nil {
		return invite{}, err
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(parts[3])) != 1 {
		return invite{}, bad
	}
	return inv, nil
}

// Shape is what the roster checks of a new password: its length and characters of each class.
func Shape(password string) roster.PasswordShape {
	p := roster.PasswordShape{Length: utf8.RuneCountInString(password)}
	for _, r := range password {
		switch {
		case unicode.IsLower(r):
			p.Lowercase++
		case unicode.IsUpper(r):
			p.Uppercase++
		case unicode.IsDigit(r):
			p.Numbers++
		case !unicode.IsSpace(r):
			p.Symbols++
		}
	}
	return p
}

// Register completes the registration of the user an invitation token names: the password (checked
// against the user's security group's requirements, stored as a sealed bcrypt hash) and the device,
// which is signed in.
func (s *Service) Register(ctx context.Context, token, password string, dev Device) (SignedIn, error) {
	if n := utf8.RuneCountInString(password); n > MaxPassword {
		return SignedIn{}, wickr.Invalid("Password", "must be at most %d characters", MaxPassword)
	}
	inv, err := s.parseInvite(ctx, token)
	if err != nil {
		return SignedIn{}, err
	}
	p, err := s.policy(ctx, inv.networkID)
	if err != nil {
		return SignedIn{}, err
	}
	v, err := s.user(ctx, inv.networkID, inv.userID)
	if err != nil {
		return SignedIn{}, err
	}
	shape := Shape(password)
	if err := roster.CheckPassword("Password", shape, p.Settings(v.GroupID).PasswordRequirements); err != nil {
		return SignedIn{}, err // before the bcrypt work and the key
	}
	hash, err := usecase.HashPassword(password, s.d.PasswordCost)
	if err != nil {
		return SignedIn{}, err
	}
	sealed, err := s.d.Keys.SealFor(ctx, inv.networkID, wickr.UserSubject(inv.userID), hash)
	if err != nil {
		return SignedIn{}, err
	}
	cmd := roster.Register{NetworkID: inv.networkID, UserID: inv.userID, AppID: dev.AppID, DeviceType: dev.Type,
		InviteExpiresAt: inv.expires, Password: sealed, Shape: shape, Policy: p.Policy}
	d, _, err := s.d.Rosters.Command(roster.StreamName(inv.networkID, inv.userID), cmd).Do(ctx)
	if err != nil {
		return SignedIn{}, err
	}
	for _, e := range d.Events {
		if e, ok := e.(roster.UserRegistered); ok {
			return s.open(ctx, inv.networkID, roster.SignedIn{UserID: e.UserID, AppID: dev.AppID, At: e.At}, Session{})
		}
	}
	return SignedIn{}, fmt.Errorf("wickr client: the registration of user %s decided no UserRegistered", inv.userID)
}

// DeliverInvitation mails a pending user the registration token of its current invitation (the
// router calls it for each UserInvited and UserReinvited; a mail for an invitation renewed since, or
// a user registered or deleted since, is not sent). Redelivery sends the same token again.
func (s *Service) DeliverInvitation(ctx context.Context, networkID, userID string) error {
	v, err := s.user(ctx, networkID, userID)
	if domain.KindOf(err) == domain.KindNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if v.Status != roster.StatusPending || !s.d.Now().Before(v.InviteExpiresAt) {
		return nil
	}
	tok, err := s.InviteToken(ctx, networkID, userID, v.InviteExpiresAt)
	if err != nil {
		return err
	}
	body := fmt.Sprintf("You are invited to the AWS Wickr network %s.\n\nDownload the client: https://aws.amazon.com/wickr/download/\n"+
		"Register with this link before %s:\n\n  %s/client/v1/wickr/registrations?token=%s\n\nor give the client this token:\n\n  %s\n",
		networkID, v.InviteExpiresAt.Format(time.RFC1123), strings.TrimRight(s.d.PublicURL(), "/"), tok, tok)
	return s.d.Mail.Send(ctx, v.Username, "Your AWS Wickr invitation", body)
}
