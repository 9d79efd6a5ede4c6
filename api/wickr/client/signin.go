package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/belfry/belfry/api/chime/clientapi"
	chimeusecase "github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/roster"
)

// ErrSignIn is the one answer to a wrong e-mail address or password (it does not tell which).
var ErrSignIn = &domain.Error{Kind: domain.KindForbidden, Msg: "sign-in failed"}

// ErrThrottled answers sign-ins refused after repeated failures (429 with Retry-After).
var ErrThrottled = &domain.Error{Kind: domain.KindThrottled, Msg: "too many failed sign-ins"}

// guard throttles failed sign-ins per e-mail address and per source, and makes an unknown address
// cost one bcrypt comparison, as a known one does.
type guard struct {
	byEmail, byIP *clientapi.Backoff
	dummy         func() []byte
	checks        *prometheus.CounterVec
	refused       prometheus.Counter
}

func newGuard(l clientapi.SignInLimits, cost int) *guard {
	if l.Failures <= 0 {
		l = clientapi.DefaultSignInLimits
	}
	return &guard{
		byEmail: clientapi.NewBackoff(l.Failures, l.Capacity, l),
		byIP:    clientapi.NewBackoff(l.FailuresPerIP, l.CapacityPerIP, l),
		dummy: sync.OnceValue(func() []byte {
			h, err := usecase.HashPassword(usecase.RandomPassword(24), cost)
			if err != nil {
				panic(fmt.Sprintf("wickr client: dummy hash: %v", err))
			}
			return h
		}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "belfry_wickr_client_signin_password_checks_total",
			Help: "bcrypt comparisons made by Wickr client sign-ins, against a user's hash or the dummy hash (unknown e-mail)."}, []string{"against"}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{Name: "belfry_wickr_client_signin_throttled_total",
			Help: "Wickr client sign-ins refused with 429 after repeated failures."}),
	}
}

// begin admits a sign-in attempt for the e-mail key from the source before its password is checked,
// or refuses it after repeated failures (429 with Retry-After); attempts sent at once are admitted as
// if they came one after the other. end records the attempt's outcome; it is called once.
func (g *guard) begin(key, sourceIP string, now time.Time) (end func(failed bool), err error) {
	end, wait := clientapi.Begin(now, clientapi.Keyed{B: g.byEmail, Key: key}, clientapi.Keyed{B: g.byIP, Key: sourceIP})
	if wait > 0 {
		g.refused.Inc()
		return nil, &domain.Error{Kind: domain.KindThrottled, Sentinel: ErrThrottled, RetryAfter: wait,
			Msg: fmt.Sprintf("too many failed sign-ins for this address or from this source; try again in %s", wait.Round(time.Second))}
	}
	return end, nil
}

// Device is the device a client signs in from: its app id and operating system.
type Device struct{ AppID, Type string }

// SignedIn is an opened session: its token (in clear, once) and whose it is.
type SignedIn struct {
	Token, NetworkID, UserID string
	GuestHash                string // a guest's
}

// candidate is a user the sign-in's e-mail address names, with its password hash: sealed as read
// (the roster signs in only on a check of its current one) and opened.
type candidate struct {
	networkID, userID string
	sealed            domain.Sealed
	hash              []byte
}

// SignIn signs a user in by e-mail address and password from a device: the network networkID, or
// any network where the address is a user ("" for networkID). The e-mail's users are tried in turn;
// the first whose password matches signs in (its roster decides: suspended, locked, pending users
// are refused), and when none does, each records a failed sign-in (its lockout counts them); a single
// candidate locked or suspended is answered so whatever the password.
func (s *Service) SignIn(ctx context.Context, email, password, networkID string, dev Device, sourceIP string) (SignedIn, error) {
	now := s.d.Now()
	key := strings.ToLower(strings.TrimSpace(email))
	end, err := s.guard.begin(key, sourceIP, now)
	if err != nil {
		return SignedIn{}, err
	}
	failed := false
	defer func() { end(failed) }()
	cands, err := s.candidates(ctx, key, networkID)
	if err != nil {
		return SignedIn{}, err
	}
	matched := -1
	for i, c := range cands {
		s.guard.checks.WithLabelValues("user").Inc()
		if usecase.CheckPassword(c.hash, password) && matched < 0 {
			matched = i
		}
	}
	if len(cands) == 0 {
		s.guard.checks.WithLabelValues("dummy").Inc()
		usecase.CheckPassword(s.guard.dummy(), password)
	}
	if matched < 0 {
		failed = true
		var refusal error
		for _, c := range cands {
			r, err := s.failed(ctx, c, dev)
			if err != nil {
				return SignedIn{}, err
			}
			refusal = r
		}
		if len(cands) == 1 && refusal != nil {
			return SignedIn{}, refusal // as the right password is answered: no oracle while locked
		}
		return SignedIn{}, domain.Wrapf(ErrSignIn, "the e-mail address or the password is wrong")
	}
	c := cands[matched]
	out, err := s.signIn(ctx, roster.SignIn{NetworkID: c.networkID, UserID: c.userID, AppID: dev.AppID, DeviceType: dev.Type,
		PasswordOK: true, Checked: c.sealed}, Session{})
	switch {
	case err == nil:
		s.guard.byEmail.Reset(key)
	case errors.Is(err, ErrSignIn):
		failed = true
	}
	return out, err
}

// candidates are the users of the address that have a password (registered, in a network without
// SSO), with their password hashes opened.
func (s *Service) candidates(ctx context.Context, username, networkID string) ([]candidate, error) {
	if _, err := wickr.NormalizeUsername("Email", username); err != nil {
		return nil, nil // no user has it: the dummy comparison is made
	}
	users, err := s.d.Users.ByUsername(ctx, username, networkID)
	if err != nil {
		return nil, err
	}
	var out []candidate
	for _, u := range users {
		v, err := s.user(ctx, u.NetworkID, u.UserID)
		if domain.KindOf(err) == domain.KindNotFound || err == nil && v.Password.IsZero() {
			continue // deleted since, or no password (pending, or registered through SSO)
		}
		if err != nil {
			return nil, err
		}
		hash, err := s.d.Keys.OpenSealed(ctx, v.Password)
		if errors.Is(err, domain.ErrShredded) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, candidate{networkID: u.NetworkID, userID: u.UserID, sealed: v.Password, hash: hash})
	}
	return out, nil
}

// failed records a failed sign-in of one candidate on its roster (the count moves on the stream's
// expected revision, so concurrent failures are all counted). A user the roster refuses outright
// (suspended, locked) records nothing: that refusal is answered (refusal), the one the right password
// gets too, so that guessing through a lockout tells nothing.
func (s *Service) failed(ctx context.Context, c candidate, dev Device) (refusal, err error) {
	p, err := s.policy(ctx, c.networkID)
	if err != nil {
		return nil, err
	}
	cmd := roster.SignIn{NetworkID: c.networkID, UserID: c.userID, AppID: dev.AppID, DeviceType: dev.Type, Policy: p.Policy}
	err = usecase.Exec(ctx, s.d.Rosters.Command(roster.StreamName(c.networkID, c.userID), cmd))
	switch {
	case errors.Is(err, roster.ErrLocked) || errors.Is(err, roster.ErrSuspended):
		return err, nil
	case domain.KindOf(err) == domain.KindForbidden || domain.KindOf(err) == domain.KindNotFound:
		return nil, nil
	}
	return nil, err
}

// signIn runs a successful sign-in on the roster and opens a session issued at the SignedIn event's
// time; sess carries an SSO session's renewal. A password check the roster finds stale (a reset
// since the hash was read) records a failed sign-in: ErrSignIn.
func (s *Service) signIn(ctx context.Context, cmd roster.SignIn, sess Session) (SignedIn, error) {
	p, err := s.policy(ctx, cmd.NetworkID)
	if err != nil {
		return SignedIn{}, err
	}
	cmd.Policy = p.Policy
	d, _, err := s.d.Rosters.Command(roster.StreamName(cmd.NetworkID, cmd.UserID), cmd).Do(ctx)
	if err != nil {
		return SignedIn{}, err
	}
	for _, e := range d.Events {
		switch e := e.(type) {
		case roster.SignedIn:
			return s.open(ctx, cmd.NetworkID, e, sess)
		case roster.SignInFailed:
			return SignedIn{}, domain.Wrapf(ErrSignIn, "the e-mail address or the password is wrong")
		}
	}
	return SignedIn{}, fmt.Errorf("wickr client: the sign-in of user %s decided no SignedIn", cmd.UserID)
}

func (s *Service) open(ctx context.Context, networkID string, e roster.SignedIn, sess Session) (SignedIn, error) {
	raw, hash := chimeusecase.NewToken()
	sess.NetworkID = networkID
	sess.Session = roster.Session{UserID: e.UserID, AppID: e.AppID, IssuedAt: e.At, SSO: sess.SSO}
	if err := s.d.Sessions.Open(ctx, hash, sess, MaxSessionsPerDevice); err != nil {
		return SignedIn{}, err
	}
	return SignedIn{Token: raw, NetworkID: networkID, UserID: e.UserID}, nil
}
