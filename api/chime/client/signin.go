package client

import (
	"container/list"
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
)

// passwordCost is the bcrypt cost of every stored password hash and of the dummy hash.
const passwordCost = bcrypt.DefaultCost

// ErrSignIn is the one answer to every failed sign-in (it does not tell which part was wrong).
var ErrSignIn = &domain.Error{Kind: domain.KindForbidden, Msg: "sign-in failed"}

// ErrSignInThrottled answers sign-ins refused after repeated failures (429 with Retry-After).
var ErrSignInThrottled = &domain.Error{Kind: domain.KindThrottled, Msg: "too many failed sign-ins"}

// SignInLimits is the back-off after failed sign-ins: Failures failures within Window lock the key
// (an e-mail address, or a source address) for First, doubled at each further lock up to Max. A
// locked key is refused without checking the password; a successful sign-in clears the e-mail's
// count (never the source's). Keys idle for a day are forgotten, and at most Capacity keys are kept
// (the least recently used go first), so memory is bounded whatever the callers send.
type SignInLimits struct {
	Failures        int
	Window          time.Duration
	First, Max      time.Duration
	Capacity        int
	FailuresPerIP   int
	CapacityPerIP   int
	forgetAfterIdle time.Duration
}

// DefaultSignInLimits: 5 failures per e-mail address or 20 per source address in 15 minutes lock for
// 1 minute, then 2, 4, … up to 1 hour.
var DefaultSignInLimits = SignInLimits{Failures: 5, Window: 15 * time.Minute, First: time.Minute, Max: time.Hour,
	Capacity: 100_000, FailuresPerIP: 20, CapacityPerIP: 100_000, forgetAfterIdle: 24 * time.Hour}

// signInGuard makes a sign-in cost the same bcrypt work whether or not the e-mail address is known,
// and throttles repeated failures.
type signInGuard struct {
	byEmail, byIP *backoff
	// compare is bcrypt.CompareHashAndPassword (a test may count calls through checks).
	compare func(hash, password []byte) error
	dummy   func() []byte
	checks  *prometheus.CounterVec
	refused prometheus.Counter
}

func newSignInGuard(l SignInLimits) *signInGuard {
	if l.Failures <= 0 {
		l = DefaultSignInLimits
	}
	if l.forgetAfterIdle <= 0 {
		l.forgetAfterIdle = 24 * time.Hour
	}
	return &signInGuard{
		byEmail: newBackoff(l.Failures, l.Capacity, l),
		byIP:    newBackoff(l.FailuresPerIP, l.CapacityPerIP, l),
		compare: bcrypt.CompareHashAndPassword,
		dummy: sync.OnceValue(func() []byte {
			pw := make([]byte, 16)
			_, _ = rand.Read(pw)
			h, err := bcrypt.GenerateFromPassword(pw, passwordCost)
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
	if wait := max(g.byEmail.wait(key, now), g.byIP.wait(sourceIP, now)); wait > 0 {
		g.refused.Inc()
		return "", "", "", &domain.Error{Kind: domain.KindThrottled, Sentinel: ErrSignInThrottled, RetryAfter: wait,
			Msg: fmt.Sprintf("too many failed sign-ins for this address or from this source; try again in %s", wait.Round(time.Second))}
	}
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
		g.byEmail.fail(key, now)
		g.byIP.fail(sourceIP, now)
		return "", "", "", domain.Wrapf(ErrSignIn, "the e-mail address or the password is wrong")
	}
	c := creds[matched]
	if c.Registration == account.RegistrationSuspended {
		return "", "", "", domain.Wrapf(account.ErrSuspended, "the user is suspended and cannot sign in")
	}
	g.byEmail.reset(key)
	raw, hash := usecase.NewToken()
	if err := s.d.Sessions.Open(ctx, hash, c.UserID, c.AccountID, now); err != nil {
		return "", "", "", err
	}
	return raw, c.UserID, c.AccountID, nil
}

// backoff counts failures per key in a bounded LRU (see SignInLimits).
type backoff struct {
	limit    int
	capacity int
	l        SignInLimits
	mu       sync.Mutex
	lru      *list.List // of *failures, most recently touched first
	byKey    map[string]*list.Element
}

type failures struct {
	key         string
	at          []time.Time // failures within the window, oldest first
	lockedUntil time.Time
	locks       int
	touched     time.Time
}

func newBackoff(limit, capacity int, l SignInLimits) *backoff {
	return &backoff{limit: limit, capacity: capacity, l: l, lru: list.New(), byKey: map[string]*list.Element{}}
}

// wait is how long key stays locked (0 when it is not).
func (b *backoff) wait(key string, now time.Time) time.Duration {
	if key == "" {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if el, ok := b.byKey[key]; ok {
		if f := el.Value.(*failures); now.Before(f.lockedUntil) {
			return f.lockedUntil.Sub(now)
		}
	}
	return 0
}

// fail records a failure and locks the key once limit failures fall within the window; while the
// failures that caused a lock are still in the window, every further failure locks again, twice as long.
func (b *backoff) fail(key string, now time.Time) {
	if key == "" {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var f *failures
	if el, ok := b.byKey[key]; ok {
		f = el.Value.(*failures)
		b.lru.MoveToFront(el)
	} else {
		f = &failures{key: key}
		b.byKey[key] = b.lru.PushFront(f)
	}
	f.touched = now
	kept := f.at[:0]
	for _, t := range f.at {
		if now.Sub(t) < b.l.Window {
			kept = append(kept, t)
		}
	}
	f.at = append(kept, now)
	if len(f.at) > b.limit {
		f.at = f.at[len(f.at)-b.limit:]
	}
	if len(f.at) >= b.limit {
		d := b.l.First << min(f.locks, 30)
		if d <= 0 || d > b.l.Max {
			d = b.l.Max
		}
		f.lockedUntil, f.locks = now.Add(d), f.locks+1
	}
	b.prune(now)
}

// prune forgets keys idle for a day (and no longer locked), then the least recently used beyond capacity.
func (b *backoff) prune(now time.Time) {
	for el := b.lru.Back(); el != nil; el = b.lru.Back() {
		f := el.Value.(*failures)
		idle := now.Sub(f.touched) >= b.l.forgetAfterIdle && !now.Before(f.lockedUntil)
		if !idle && b.lru.Len() <= b.capacity {
			return
		}
		b.lru.Remove(el)
		delete(b.byKey, f.key)
	}
}

// reset forgets a key (a successful sign-in).
func (b *backoff) reset(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if el, ok := b.byKey[key]; ok {
		b.lru.Remove(el)
		delete(b.byKey, key)
	}
}

// len is the number of keys held (for tests of the bound).
func (b *backoff) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lru.Len()
}
