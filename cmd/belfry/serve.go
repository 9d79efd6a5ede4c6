package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/belfry/belfry/api"
	chimedashapi "github.com/belfry/belfry/api/belfry/chimedashboard"
	historyapi "github.com/belfry/belfry/api/belfry/history"
	snapshotsapi "github.com/belfry/belfry/api/belfry/snapshots"
	"github.com/belfry/belfry/api/chime/attachments"
	"github.com/belfry/belfry/api/chime/calls"
	retentionapi "github.com/belfry/belfry/api/chime/retention"
	"github.com/belfry/belfry/api/sigv4"
	"github.com/belfry/belfry/infra/auditlog"
	"github.com/belfry/belfry/infra/eventlog"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/infra/iam"
	"github.com/belfry/belfry/infra/mail"
	"github.com/belfry/belfry/infra/migrations"
	"github.com/belfry/belfry/infra/objstore"
	"github.com/belfry/belfry/infra/pgcluster"
	"github.com/belfry/belfry/infra/sideeffects"
	"github.com/belfry/belfry/projections"
	auditrm "github.com/belfry/belfry/projections/audit"
	"github.com/belfry/belfry/projections/chimeaccounts"
	"github.com/belfry/belfry/projections/chimecalls"
	chimeconvs "github.com/belfry/belfry/projections/chimeconversations"
	chimedash "github.com/belfry/belfry/projections/chimedashboard"
	"github.com/belfry/belfry/projections/chimemeetings"
	"github.com/belfry/belfry/projections/chimenumbers"
	"github.com/belfry/belfry/projections/chimerooms"
	chimeusagerm "github.com/belfry/belfry/projections/chimeusage"
	"github.com/belfry/belfry/projections/history"
	iamrm "github.com/belfry/belfry/projections/iam"
)

// Main owns the server's lifecycle: Run starts the parts in order, Close stops them in reverse.
type Main struct {
	cfg    Config
	logger *slog.Logger
	// Now is the clock handed to every decision; tests may replace it before Run.
	Now func() time.Time
	// BotHTTP sends bot endpoint challenges and events; nil means the guarded default (public
	// addresses and BELFRY_OUTBOUND_ALLOW's only, 2 s). A test's client replaces it whole, guard
	// included (its endpoints are httptest servers on loopback with their own certificate).
	BotHTTP *http.Client
	// ChatQueue is the per-connection queue of the chat streams, in frames (0: the default).
	ChatQueue int
	// ChatRecheck is how often a chat stream's session is checked again (0: the default).
	ChatRecheck time.Duration
	// SignalRecheck is how often a meeting's or call's signalling session checks its caller's
	// session again (0: the default, 30 s).
	SignalRecheck time.Duration
	// SweepEvery is how often background work (orders, due domain purges) is looked for.
	SweepEvery time.Duration
	// WickrArchive is where Wickr data-retention archives go (nil: the directory wickr-retention under
	// the data directory); WickrArchiveFileSize (bytes) and WickrArchiveRotate rotate their files.
	WickrArchive         objstore.Target
	WickrArchiveFileSize int64
	WickrArchiveRotate   time.Duration
	// Mail replaces the configured invitation mail sender (tests).
	Mail mail.Sender
	// Out receives the first admin key; stdout by default.
	Out io.Writer
	// Carrier carries Business Calling calls to outside numbers; nil means the simulated network.
	Carrier calls.Carrier

	closers []func() error
	reg     *prometheus.Registry
	http    *api.Server
	esDesc  string
	esURL   string
	esAddr  string
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	wickr   wickrApp // the Wickr application (wickrapp.go)
	purger  *retentionapi.Purger
	dbURL   string // the database Run connected to
	snaps   *snapshotService
	iam     *iamAdmin   // the IAM administration the first key was made with
	started atomic.Bool // Run has finished: /readyz may answer 200
}

// NewMain returns a Main for cfg.
func NewMain(cfg Config) *Main {
	return &Main{cfg: cfg, logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})), Out: os.Stdout, Now: time.Now}
}

func (m *Main) onClose(f func() error) { m.closers = append(m.closers, f) }

// spawn runs f in a goroutine that Close waits for. The WaitGroup is counted here, together with the
// go statement, so that an early return of Run can never leave a count without its goroutine (Close
// would then wait forever).
func (m *Main) spawn(f func()) {
	m.wg.Add(1)
	go func() { defer m.wg.Done(); f() }()
}

// spawnEvery spawns (m.spawn) a goroutine that runs f every period until runCtx ends (the first run
// one period after the start); a run under way when runCtx ends finishes first (f sees runCtx).
func spawnEvery(m *Main, runCtx context.Context, period time.Duration, f func()) {
	m.spawn(func() {
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-t.C:
				f()
			}
		}
	})
}

// HTTPAddr is where the HTTP API listens.
func (m *Main) HTTPAddr() string { return m.http.Addr() }

// EmbeddedLogURL is the connection string of the embedded event log ("" when an external store is used).
func (m *Main) EmbeddedLogURL() string { return m.esURL }

// EventStoreDesc describes the event store in use.
func (m *Main) EventStoreDesc() string { return m.esDesc }

// openDatabase starts (or attaches to) the private cluster unless a URL is configured, and migrates.
func openDatabase(ctx context.Context, cfg Config, owner func(func() error)) (*pgxpool.Pool, error) {
	url := cfg.DatabaseURL
	if url == "" {
		c, err := pgcluster.Start(ctx, pgcluster.Config{Dir: filepath.Join(cfg.DataDir, "postgres")})
		if err != nil {
			return nil, err
		}
		owner(c.Stop)
		if err := ensureDatabase(ctx, c.URL("postgres"), "belfry"); err != nil {
			return nil, err
		}
		url = c.URL("belfry")
	}
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", err)
	}
	// Background work holds about ten connections (projection batches, the side-effect subscribers'
	// transactions, the event log's writer); keeping that many more open and warm spares a burst of
	// API calls from forking PostgreSQL backends and preparing statements while clients wait.
	pc.MaxConns, pc.MinConns = 40, 20
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	owner(func() error { pool.Close(); return nil })
	if err := migrate(ctx, pool); err != nil {
		return nil, err
	}
	return pool, nil
}

func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	if _, err := migrations.Apply(ctx, pool); err != nil {
		return err
	}
	return iam.Init(ctx, pool)
}

// openEventStore connects to BELFRY_EVENTSTORE_URL, or starts the embedded event log; when another
// Belfry process already runs the embedded log on this database, it connects to that one.
func openEventStore(ctx context.Context, cfg Config, pool *pgxpool.Pool, reg prometheus.Registerer, owner func(func() error)) (*esdb.Client, *eventlog.Server, string, error) {
	url := cfg.EventStoreURL
	var srv *eventlog.Server
	desc := "KurrentDB at BELFRY_EVENTSTORE_URL"
	if url == "" {
		var lm *eventlog.Metrics
		if reg != nil {
			lm = eventlog.NewMetrics(reg)
		}
		s, err := eventlog.Start(ctx, pool, eventlog.Config{Addr: cfg.EventLogAddr, Dir: cfg.DataDir,
			TLSCertFile: cfg.EventLogTLSCert, TLSKeyFile: cfg.EventLogTLSKey, Log: eventlog.LogConfig{Metrics: lm}})
		switch {
		case errors.Is(err, eventlog.ErrLocked):
			if url, err = eventlog.ClientURL(cfg.DataDir, cfg.EventLogAddr, cfg.EventLogTLSCert); err != nil {
				return nil, nil, "", fmt.Errorf("another process runs this database's event log; to use it at %s: %w", cfg.EventLogAddr, err)
			}
			desc = "the running Belfry's event log at " + cfg.EventLogAddr
		case err != nil:
			return nil, nil, "", err
		default:
			srv = s
			owner(s.Close)
			url = s.URL()
			desc = "embedded event log on " + s.Addr()
		}
	}
	client, err := eventstore.Connect(url)
	if err != nil {
		return nil, nil, "", err
	}
	owner(func() error { return eventstore.Close(client, 10*time.Second) }) // once its repositories' work in flight ends
	if cfg.EventStoreURL == "" && srv == nil {
		// Attached to a log this process did not start: make sure it is this database's.
		want, err := eventlog.StoreID(ctx, pool)
		if err == nil {
			err = eventstore.CheckStoreID(ctx, client, want)
		}
		if err != nil {
			return nil, nil, "", fmt.Errorf("the event log at BELFRY_EVENTLOG_ADDR=%s: %w", cfg.EventLogAddr, err)
		}
	}
	return client, srv, desc, nil
}

// Run starts PostgreSQL, the event store, the audit writer, projections and the background work, and
// the HTTP API, in that order; whatever it started before an error is stopped by Close, in reverse.
func (m *Main) Run(ctx context.Context) error {
	fmt.Fprintf(os.Stderr, "belfry: effective configuration:\n%s\n", m.cfg)
	pool, err := openDatabase(ctx, m.cfg, m.onClose)
	if err != nil {
		return err
	}
	m.dbURL = pool.Config().ConnString()
	reg := prometheus.NewRegistry()
	m.reg = reg
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	client, logSrv, desc, err := openEventStore(ctx, m.cfg, pool, reg, m.onClose)
	if err != nil {
		return err
	}
	m.esDesc = desc
	if logSrv != nil {
		m.esURL, m.esAddr = logSrv.URL(), logSrv.Addr()
	}

	// The audit writer starts before the background work and so closes after it has ended: the
	// retention purge and the audit retention, interrupted by a stop, still write their records.
	auditWriter := auditlog.New(client, auditlog.Config{Logger: m.logger, Registerer: reg})
	m.onClose(func() error { auditWriter.Close(); return nil })

	runCtx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.onClose(func() error { cancel(); m.wg.Wait(); return nil })
	rms, err := m.startProjections(ctx, runCtx, pool, client)
	if err != nil {
		return err
	}

	dataKeys, err := openDataKeys(ctx, m.cfg, pool, m.logger)
	if err != nil {
		return err
	}
	op := shellOperator()
	op.Via = "belfry serve (first start)"
	iamAdm, err := newIAMAdmin(ctx, pool, client, dataKeys, auditWriter, rms.iam, op, m.cfg.Region, m.onClose)
	if err != nil {
		return err
	}
	m.iam = iamAdm
	if err := m.startTrail(ctx, pool, rms.audit.Position, m.reg, runCtx); err != nil {
		return err
	}
	m.startAuditRetention(pool, auditWriter, runCtx)
	keys := iam.NewKeys(iamAdm.read, dataKeys)
	app, err := m.newChime(pool, client, dataKeys, rms)
	if err != nil {
		return err
	}
	m.spawn(func() { app.live.Run(runCtx) })
	if err := m.startRetentionPurge(ctx, runCtx, pool, dataKeys, auditWriter); err != nil {
		return err
	}
	if err := startUsageReports(m, runCtx, app.usage); err != nil {
		return err
	}
	m.newWickr(pool, client, dataKeys)
	m.wickr.calls = newWickrCalls(m, pool, client, app.sfu)
	m.startWickrSweeps(runCtx)
	if err := m.startSideEffects(runCtx, pool, app); err != nil {
		return err
	}
	m.snaps = newSnapshotService(runCtx, newSnapshots(m.cfg, pool, client), m.spawn, m.logger)
	if err := m.snaps.resume(ctx); err != nil {
		return err
	}
	if err := m.startHTTP(pool, client, keys, app, auditWriter); err != nil {
		return err
	}
	if err := m.firstKey(ctx, iamAdm); err != nil {
		return err
	}
	m.started.Store(true) // /readyz answers 200 from now on
	return nil
}

// errStarting is /readyz's answer while Run has not finished.
var errStarting = errors.New("still starting")

// readModels are the projection runners the Chime service waits on.
type readModels struct {
	accounts, numbers, meetings, rooms, iam, audit, retention *projections.Runner
	conversations                                             *projections.Runner
}

// startProjections ensures every read model's schema, then runs the projections, the side-effect
// relay and the lag watcher over them all until runCtx ends.
func (m *Main) startProjections(ctx, runCtx context.Context, pool *pgxpool.Pool, client *esdb.Client) (readModels, error) {
	pm := projections.NewMetrics(m.reg)
	m.reg.MustRegister(projections.NewParkedCollector(pool))
	accountsRunner := projections.NewRunner(pool, client, chimeaccounts.Projection{}, projections.RunnerConfig{Logger: m.logger, Metrics: pm})
	// Nobody waits on the audit read model: its batches linger to be fewer and larger.
	auditRunner := projections.NewRunner(pool, client, auditrm.Projection{}, projections.RunnerConfig{Logger: m.logger, Metrics: pm, Linger: 50 * time.Millisecond})
	numbersRunner := projections.NewRunner(pool, client, chimenumbers.Projection{}, projections.RunnerConfig{Logger: m.logger, Metrics: pm})
	meetingsRunner := projections.NewRunner(pool, client, chimemeetings.Projection{}, projections.RunnerConfig{Logger: m.logger, Metrics: pm})
	roomsRunner := projections.NewRunner(pool, client, chimerooms.Projection{}, projections.RunnerConfig{Logger: m.logger, Metrics: pm})
	iamRunner := projections.NewRunner(pool, client, iamrm.Projection{}, projections.RunnerConfig{Logger: m.logger, Metrics: pm})
	historyRunner := projections.NewRunner(pool, client, history.Projection{}, projections.RunnerConfig{Logger: m.logger, Metrics: pm, Linger: 50 * time.Millisecond})
	callsRunner := projections.NewRunner(pool, client, chimecalls.Projection{}, projections.RunnerConfig{Logger: m.logger, Metrics: pm})
	convsRunner := projections.NewRunner(pool, client, chimeconvs.Projection{}, projections.RunnerConfig{Logger: m.logger, Metrics: pm})
	retentionRunner := newRetentionRunner(pool, client, projections.RunnerConfig{Logger: m.logger, Metrics: pm})
	runners := []*projections.Runner{accountsRunner, auditRunner, numbersRunner, meetingsRunner, roomsRunner, iamRunner, historyRunner, callsRunner,
		convsRunner, retentionRunner}
	runners = append(runners, m.wickrProjections(pool, client, pm)...)
	// Nobody waits on the dashboard either: its batches linger too (a chat message is one row update
	// there, and without lingering each message was a batch of its own under a steady chat load).
	runners = append(runners, projections.NewRunner(pool, client, chimedash.Projection{}, projections.RunnerConfig{Logger: m.logger, Metrics: pm, Linger: 50 * time.Millisecond}),
		projections.NewRunner(pool, client, chimeusagerm.Projection{}, projections.RunnerConfig{Logger: m.logger, Metrics: pm, Linger: 50 * time.Millisecond}))
	for _, p := range allProjections() {
		if _, _, err := projections.Ensure(ctx, pool, p); err != nil {
			return readModels{}, err
		}
	}
	for _, r := range runners {
		m.spawn(func() { _ = r.Run(runCtx) })
	}
	// Side effects: the relay enqueues them with its checkpoint; the watermill router delivers them.
	relay := projections.NewRunner(pool, client, sideeffects.Relay{EventBridge: m.cfg.EventBridgeURL != ""}, projections.RunnerConfig{Logger: m.logger, Metrics: pm})
	if _, _, err := projections.Ensure(ctx, pool, sideeffects.Relay{}); err != nil {
		return readModels{}, err
	}
	if err := sideeffects.EnsureTopics(ctx, pool); err != nil {
		return readModels{}, err
	}
	m.spawn(func() { _ = relay.Run(runCtx) })
	runners = append(runners, relay)
	lw := newLagWatcher(m.reg, runners)
	m.spawn(func() { lw.run(runCtx, client) })
	return readModels{accounts: accountsRunner, numbers: numbersRunner, meetings: meetingsRunner, rooms: roomsRunner, iam: iamRunner, audit: auditRunner,
		conversations: convsRunner, retention: retentionRunner}, nil
}

// startHTTP serves the HTTP API (and the runtime profiles when configured); Close stops the HTTP
// server first, as it is registered last.
func (m *Main) startHTTP(pool *pgxpool.Pool, client *esdb.Client, keys sigv4.KeyLookup, c chimeApp, auditWriter *auditlog.Writer) error {
	var _ api.Caller = iam.Principal{}
	proxies, err := m.cfg.trustedProxies()
	if err != nil {
		return err
	}
	// The profiles' listener opens before the API's, so that Close stops it after the API.
	if m.cfg.PprofAddr != "" {
		if err := m.servePprof(); err != nil {
			return err
		}
	}
	srv, err := api.New(api.Config{Addr: m.cfg.HTTPAddr, Region: m.cfg.Region, SkipReadAudit: m.cfg.SkipReadAudit, TrustedProxies: proxies}, api.Deps{
		Keys: keys, Chime: c.operations(), Wickr: m.wickr.operations(),
		Belfry: slices.Concat(historyapi.Operations(history.NewStore(pool)), snapshotsapi.Operations(m.snaps), m.wickrBelfryOperations(pool), c.usage.Operations(),
			chimedashapi.Operations(chimedash.NewStore(pool), m.Now)), Snapshots: m.snaps,
		ClientRoutes:  slices.Concat(c.clientRoutes(), m.wickr.client.Routes(), m.wickr.messaging.Routes(), m.wickr.stream.Routes(), m.wickr.calls.Routes()),
		WebhookRoutes: slices.Concat(c.messages.WebhookRoutes(), m.wickr.client.CallbackRoutes(), c.exports.URLRoutes()),
		UploadRoutes:  slices.Concat(c.attach.UploadRoutes(c.client), m.wickr.messaging.UploadRoutes()), MaxUploadBytes: attachments.MaxBytes + 1, Audit: auditWriter, AuditRM: auditrm.NewStore(pool), Logger: m.logger, Gatherer: m.reg, Metrics: api.NewMetrics(m.reg),
		Ready: func(ctx context.Context) error {
			if !m.started.Load() {
				return errStarting
			}
			if err := pool.Ping(ctx); err != nil {
				return fmt.Errorf("postgres: %w", err)
			}
			_, err := headPosition(ctx, client)
			return err
		},
	})
	if err != nil {
		return err
	}
	m.http = srv
	// api.New has bound the port: nothing may fail before its closer is registered. The HTTP server
	// stops first on Close (registered last).
	m.spawn(func() {
		if err := srv.Serve(); err != nil {
			m.logger.Error("http server stopped", "err", err)
		}
	})
	m.onClose(func() error {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		return srv.Shutdown(sctx)
	})
	return nil
}

// firstKey creates and prints an AdministratorAccess key for "admin" when no key was ever created.
func (m *Main) firstKey(ctx context.Context, a *iamAdmin) error {
	k, created, err := a.svc.CreateFirstKey(ctx)
	if err != nil || !created {
		return err
	}
	fmt.Fprintf(m.Out, "First admin access key (shown once; store it now):\n  AWS_ACCESS_KEY_ID=%s\n  AWS_SECRET_ACCESS_KEY=%s\n  AWS account id: %s\n",
		k.AccessKeyID, k.SecretAccessKey, k.AwsAccountID)
	return nil
}

// Close stops everything in reverse start order.
func (m *Main) Close() error {
	var errs []error
	for i := len(m.closers) - 1; i >= 0; i-- {
		if err := m.closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	m.closers = nil
	return errors.Join(errs...)
}

// headPosition is the $all position of the newest event (0 for an empty log).
func headPosition(ctx context.Context, client *esdb.Client) (uint64, error) {
	rs, err := client.ReadAll(ctx, esdb.ReadAllOptions{From: esdb.End{}, Direction: esdb.Backwards}, 1)
	if err != nil {
		return 0, err
	}
	defer rs.Close()
	ev, err := rs.Recv()
	if errors.Is(err, io.EOF) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return ev.Event.Position.Commit, nil
}

// lagWatcher exports the log head and each projection's lag in events and seconds.
type lagWatcher struct {
	head    prometheus.Gauge
	lag     *prometheus.GaugeVec
	lagSec  *prometheus.GaugeVec
	runners []*projections.Runner
}

func newLagWatcher(reg prometheus.Registerer, runners []*projections.Runner) *lagWatcher {
	w := &lagWatcher{
		head: prometheus.NewGauge(prometheus.GaugeOpts{Name: "belfry_eventstore_head_position", Help: "Position of the newest event in $all."}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "belfry_projection_lag_events",
			Help: "Positions between the log head and the projection's checkpoint."}, []string{"projection"}),
		lagSec: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "belfry_projection_lag_seconds",
			Help: "Seconds since the projection was last at the head (0 when caught up)."}, []string{"projection"}),
		runners: runners,
	}
	reg.MustRegister(w.head, w.lag, w.lagSec)
	for _, r := range runners {
		w.lag.WithLabelValues(r.Name()).Set(0)
		w.lagSec.WithLabelValues(r.Name()).Set(0)
	}
	return w
}

// run refreshes the gauges every second until ctx ends.
func (w *lagWatcher) run(ctx context.Context, client *esdb.Client) {
	behindSince := map[string]time.Time{}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		if h, err := headPosition(ctx, client); err == nil {
			w.head.Set(float64(h))
			for _, r := range w.runners {
				p := r.Position()
				behind := uint64(0)
				if h > p {
					behind = h - p
				}
				w.lag.WithLabelValues(r.Name()).Set(float64(behind))
				if behind == 0 {
					delete(behindSince, r.Name())
					w.lagSec.WithLabelValues(r.Name()).Set(0)
					continue
				}
				if _, ok := behindSince[r.Name()]; !ok {
					behindSince[r.Name()] = time.Now()
				}
				w.lagSec.WithLabelValues(r.Name()).Set(time.Since(behindSince[r.Name()]).Seconds())
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (m *Main) mailer() mail.Sender {
	if m.Mail != nil {
		return m.Mail
	}
	return m.cfg.mailer()
}

// servePprof serves the runtime profiles on their own listener (never on the API's port).
func (m *Main) servePprof() error {
	lis, err := net.Listen("tcp", m.cfg.PprofAddr)
	if err != nil {
		return fmt.Errorf("pprof listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(lis) }()
	m.onClose(srv.Close)
	m.logger.Info("pprof listening", "addr", lis.Addr().String())
	return nil
}
