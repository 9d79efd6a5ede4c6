// Package chime is what remains of the application service behind the Chime APIs, until it moves to
// slices under api/chime: the client API (registration, sign-in and sessions). The accounts, users,
// bots, domains, numbers, porting, settings, rooms and meetings use cases are in their slices
// (api/chime/*). Commands go through the event store's command path, queries through the read models.
//
// Invariant (read-your-writes): a mutating call returns only after the read models that serve its reads
// have applied the appended events, or after ReadModelWait has passed; then the timeout is counted in
// belfry_read_your_writes_timeouts_total and the call still succeeds (the write is committed; failing
// would make SDK retries create duplicates). Register reads its user back from the read model, which
// may then still show its previous version.
package chime

import (
	"context"
	"log/slog"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/infra/datakeys"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/infra/mail"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

// PINs reserves personal meeting PINs (infra/pins implements it).
type PINs interface {
	Reserve(ctx context.Context, accountID, userID string) (string, domain.Sealed, error)
}

// Waiter waits until a read model has applied a position.
type Waiter interface {
	WaitFor(ctx context.Context, pos uint64) error
}

// Service implements the Chime account operations.
type Service struct {
	client        *esdb.Client
	mail          mail.Sender
	sessions      *pgxpool.Pool
	now           func() time.Time
	accounts      *eventstore.Repository[account.State, account.Command, account.Event]
	store         *chimeaccounts.Store
	accountsRM    Waiter
	readModelWait time.Duration
	timeouts      prometheus.Counter
	pins          PINs
	log           *slog.Logger
	keys          *datakeys.Store
	signin        *signInGuard
}

// Config wires a Service.
type Config struct {
	Client *esdb.Client
	// Now is the clock of every decision (default time.Now).
	Now func() time.Time
	// PINs reserves personal meeting PINs.
	PINs       PINs
	Accounts   *eventstore.Repository[account.State, account.Command, account.Event]
	Store      *chimeaccounts.Store
	AccountsRM Waiter
	// Mail sends invitations (required for InviteUsers).
	Mail mail.Sender
	// Sessions is the database of client sessions.
	Sessions *pgxpool.Pool
	// DataKeys seals message content and credentials (required).
	DataKeys *datakeys.Store
	// SignIn throttles failed client sign-ins (default DefaultSignInLimits).
	SignIn        SignInLimits
	ReadModelWait time.Duration
	// Timeouts counts the read-your-writes waits that ran out (default: a new counter, registered).
	Timeouts   prometheus.Counter
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// AccountDecider is the account aggregate for the command path.
var AccountDecider = eventstore.Decider[account.State, account.Command, account.Event]{
	Initial: account.Initial, Evolve: account.Evolve, Decide: account.Decide, Decode: account.Decode,
	Type: func(e account.Event) string { return e.EventType() },
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.ReadModelWait <= 0 {
		cfg.ReadModelWait = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{mail: cfg.Mail, sessions: cfg.Sessions,
		client: cfg.Client, now: cfg.Now, pins: cfg.PINs,
		accounts: cfg.Accounts, store: cfg.Store,
		accountsRM: cfg.AccountsRM, readModelWait: cfg.ReadModelWait,
		timeouts: prometheus.NewCounter(prometheus.CounterOpts{Name: "belfry_read_your_writes_timeouts_total",
			Help: "Mutations answered before their read models caught up."}),
		log: cfg.Logger, keys: cfg.DataKeys, signin: newSignInGuard(cfg.SignIn)}
	if s.log == nil {
		s.log = slog.Default()
	}
	if cfg.Timeouts != nil {
		s.timeouts = cfg.Timeouts
	} else if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(s.timeouts)
	}
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(s.signin.checks, s.signin.refused)
	}
	return s
}

// waitRM waits, at most ReadModelWait, until w has applied pos; false means it has not (the timeout
// is counted), and the caller then answers from the decided state.
func (s *Service) waitRM(ctx context.Context, w Waiter, pos uint64) bool {
	if pos == 0 {
		return true
	}
	wctx, cancel := context.WithTimeout(ctx, s.readModelWait)
	defer cancel()
	if err := w.WaitFor(wctx, pos); err != nil {
		s.timeouts.Inc()
		return false
	}
	return true
}
