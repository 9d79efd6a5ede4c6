package client

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/belfry/belfry/api/chime/clientapi"
	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/usage"
)

// cost is the bcrypt cost of the password hashes made (Deps.PasswordCost; 0: bcrypt.DefaultCost).
func cost(c int) int {
	if c == 0 {
		return bcrypt.DefaultCost
	}
	return c
}

// ErrSignIn is the one answer to every failed sign-in (it does not tell which part was wrong).
var ErrSignIn = &domain.Error{Kind: domain.KindForbidden, Msg: "sign-in failed"}

// ErrSignInThrottled answers sign-ins refused after repeated failures (429 with Retry-After).
var ErrSignInThrottled = &domain.Error{Kind: domain.KindThrottled, Msg: "too many failed sign-ins"}

// SignInLimits is the back-off after failed sign-ins (clientapi.SignInLimits).
type SignInLimits = clientapi.SignInLimits

// DefaultSignInLimits: 5 failures per e-mail address or 20 per source address in 15 minutes lock for
// 1 minute, then 2, 4, … up to 1 hour.
var DefaultSignInLimits = clientapi.DefaultSignInLimits

// signInGuard makes a sign-in cost the same bcrypt work whether or not the e-mail address is known,
// and throttles repeated failures.
type signInGuard struct {
	byEmail, byIP *clientapi.Backoff
	// compare is bcrypt.CompareHashAndPassword (a test may count calls through checks).
	compare func(hash, password []byte) error
	dummy   func() []byte
	checks  *prometheus.CounterVec
	refused prometheus.Counter
}

func newSignInGuard(l SignInLimits, cost int) *signInGuard {
	if l.Failures <= 0 {
		l = DefaultSignInLimits
	}
	return &signInGuard{
		byEmail: clientapi.NewBackoff(l.Failures, l.Capacity, l),
		byIP:    clientapi.NewBackoff(l.FailuresPerIP, l.CapacityPerIP, l),
		compare: bcrypt.CompareHashAndPassword,
		dummy: sync.OnceValue(func() []byte {
			pw := make([]byte, 16)
			_, _ = rand.Read(pw)
			h, err := bcrypt.GenerateFromPassword(pw, cost)
			if err != nil {
				panic(fmt.Sprintf("client: dummy bcrypt hash: %v", err))
			}
			return h
		}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "belfry_client_signin_password_checks_total",
			Help: "bcrypt comparisons made by client sign-ins, against a user's hash or the dummy hash (unknown e-mail)."}, []string{"against"}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{Name: "belfry_client_signin_throttled_total",
			Help: "Client sign-ins refused with 429 after repeated failures."}),
	}
}

// SignIn checks a registered user's password and opens a session; suspended users cannot sign in.
// Every attempt costs the same bcrypt work (an unknown address is compared against a dummy hash of
// the same cost); failures are throttled per address and per source (SignInLimits).
func (s *Service) SignIn(ctx context.Context, email, password, sourceIP string) (token, userID, accountID string, err error) {
	g, now := s.signin, s.d.Now()
	key := strings.ToLower(strings.TrimSpace(email))
	// The attempt is admitted by both back-offs before its check, so that attempts sent at once are
	// throttled as if they came one after the other.
	end, wait := clientapi.Begin(now, clientapi.Keyed{B: g.byEmail, Key: key}, clientapi.Keyed{B: g.byIP, Key: sourceIP})
	if wait > 0 {
		g.refused.Inc()
		return "", "", "", &domain.Error{Kind: domain.KindThrottled, Sentinel: ErrSignInThrottled, RetryAfter: wait,
			Msg: fmt.Sprintf("too many failed sign-ins for this address or from this source; try again in %s", wait.Round(time.Second))}
	}
	failed := false
	defer func() { end(failed) }()
	creds, err := s.d.Store.CredentialsByEmail(ctx, email)
	if err != nil {
		return "", "", "", err
	}
	matched := -1
	for i, c := range creds {
		g.checks.WithLabelValues("user").Inc()
		if matched < 0 && g.compare([]byte(c.PasswordHash), []byte(password)) == nil {
			matched = i
		}
	}
	if len(creds) == 0 {
		g.checks.WithLabelValues("dummy").Inc()
		_ = g.compare(g.dummy(), []byte(password))
	}
	if matched < 0 {
		failed = true
		return "", "", "", domain.Wrapf(ErrSignIn, "the e-mail address or the password is wrong")
	}
	c := creds[matched]
	if c.Registration == account.RegistrationSuspended {
		return "", "", "", domain.Wrapf(account.ErrSuspended, "the user is suspended and cannot sign in")
	}
	g.byEmail.Reset(key)
	if s.d.SignIns != nil {
		if _, err := s.d.SignIns.Execute(ctx, usage.SignInStream(c.UserID), usage.SignIn{AccountID: c.AccountID, UserID: c.UserID}); err != nil {
			return "", "", "", err
		}
	}
	raw, hash := usecase.NewToken()
	if err := s.d.Sessions.Open(ctx, hash, c.UserID, c.AccountID, now); err != nil {
		return "", "", "", err
	}
	return raw, c.UserID, c.AccountID, nil
}
