// Package api serves Belfry's HTTP APIs with echo v4: the Chime admin API (restJson1, SigV4 signing
// name "chime"), the Wickr Admin API (restJson1, SigV4 signing name "wickr", regional; api/wickr),
// Belfry's own admin API under /belfry/v1 (SigV4 signing name "belfry"), the end-user client API
// under /client/v1 and the incoming-webhook URLs (the slices' routes, see api/chime/clientapi), and
// the ops endpoints /healthz, /readyz and /metrics.
//
// Invariants: every admin API call with a valid signature — failed, denied and unrouted ones included —
// produces exactly one audit record (successful reads excepted under Config.SkipReadAudit); that of a
// call other than a successful read is stored before the call is answered (a record that cannot be
// stored turns the answer into a 500 ServiceFailureException), so no such call is acknowledged
// without its record, while a successful read's record is queued, never dropped for load; a call without a valid
// signature produces one record unless the audit writer's unauthenticated lane drops it (counted and
// reported, see infra/auditlog); unrouted admin paths are verified and audited as UnknownOperation;
// every response carries x-amzn-RequestId; every error carries
// X-Amzn-ErrorType and the service's error body ({"Code","Message"} for Chime and Belfry, the model's
// {"message"[,"reasons"]} for Wickr); each service maps errors to the wire in one table
// (awsproto/awserr.go, wickr/wickrproto/errors.go).
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/chime/clientapi"
	"github.com/belfry/belfry/api/sigv4"
	"github.com/belfry/belfry/api/wickr/wickrproto"
	"github.com/belfry/belfry/domain/audit"
	auditrm "github.com/belfry/belfry/projections/audit"
)

// AuditQueries answers audit lookups.
type AuditQueries interface {
	Lookup(ctx context.Context, q auditrm.Query) ([]audit.APICallRecorded, error)
}

// Config configures the server.
type Config struct {
	Addr   string // e.g. 127.0.0.1:8080
	Region string // the region SigV4 scopes must name; "" accepts any
	// SkipReadAudit leaves successful read-only calls out of the audit log (writes and refused calls
	// are always recorded).
	SkipReadAudit bool
	// TrustedProxies are the networks whose X-Forwarded-For header names the client's address (the
	// audit record's sourceIPAddress). From any other peer the header is ignored and the peer's own
	// address is recorded; with none configured, it is always the peer's address.
	TrustedProxies []*net.IPNet
}

// Validate reports configuration errors.
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("api: listen address %q: %w", c.Addr, err)
	}
	return nil
}

// Deps are the server's collaborators.
type Deps struct {
	Keys sigv4.KeyLookup
	// Chime are the operations of the Chime admin API (the route tables of the slices in api/chime).
	Chime []awsproto.Operation
	// Wickr are the operations of the Wickr Admin API (the route tables of the slices in api/wickr),
	// served regionally in the shapes of api/wickr/wickrproto.
	Wickr []awsproto.Operation
	// ClientRoutes are the slices' routes on the end-user client API (under /client/v1: bearer
	// sessions, not SigV4); WebhookRoutes the incoming-webhook URLs. Both are mounted behind
	// awsproto.GuardClient.
	ClientRoutes  []clientapi.Route
	WebhookRoutes []clientapi.Route
	// UploadRoutes are client API routes (paths under /client/v1) whose body is a file streamed to
	// the handler, behind awsproto.GuardUpload(MaxUploadBytes, or the route's own MaxBody).
	UploadRoutes   []clientapi.Route
	MaxUploadBytes int64
	Audit          awsproto.AuditSink
	AuditRM        AuditQueries
	// Belfry are more operations of the Belfry admin API (signing name "belfry"), from its slices.
	Belfry   []awsproto.Operation
	Ready    func(context.Context) error
	Gatherer prometheus.Gatherer
	// Metrics records per-operation request counts and latencies (nil: none).
	Metrics *awsproto.Metrics
	Logger  *slog.Logger
	// Snapshots serves the snapshots read operations may name in X-Belfry-Snapshot (nil: none).
	Snapshots awsproto.Snapshots
}

// Server is the HTTP server.
type Server struct {
	e   *echo.Echo
	srv *http.Server
	lis net.Listener
}

// New builds the server and starts listening; Serve runs it.
func New(cfg Config, d Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.IPExtractor = ipExtractor(cfg.TrustedProxies)
	var unknownRoute func(c echo.Context) error // set once the admin APIs are built
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		if unrouted(err) && !c.Response().Committed && adminPath(c.Request().URL.Path) {
			if serr := unknownRoute(c); serr != nil {
				d.Logger.Error("answering an unrouted request", "path", c.Request().URL.Path, "err", serr)
			}
			return
		}
		plainError(err, c)
	}
	verifier := &sigv4.Verifier{Keys: d.Keys, Region: cfg.Region}
	chimeAPI := awsproto.NewService(awsproto.ServiceConfig{Name: "chime", EventSource: "chime.amazonaws.com", Region: regionOr(cfg.Region),
		Verifier: verifier, Audit: d.Audit, Logger: d.Logger, SkipReadAudit: cfg.SkipReadAudit, Metrics: d.Metrics, Snapshots: d.Snapshots})
	chimeOps := append([]awsproto.Operation(nil), d.Chime...)
	chimeAPI.Mount(e, chimeOps)
	belfryAPI := awsproto.NewService(awsproto.ServiceConfig{Name: "belfry", EventSource: "belfry.local", Region: regionOr(cfg.Region),
		Verifier: verifier, Audit: d.Audit, Logger: d.Logger, Metrics: d.Metrics, Snapshots: d.Snapshots})
	belfryAPI.Mount(e, append(adminOps(d.AuditRM), d.Belfry...))
	// Wickr is regional: its scopes may name any Wickr region (the networks' region), not cfg.Region.
	wickrAPI := awsproto.NewService(awsproto.ServiceConfig{Name: "wickr", EventSource: "wickr.amazonaws.com",
		Verifier: &sigv4.Verifier{Keys: d.Keys}, Regions: wickrproto.CheckRegion, Errors: wickrproto.ToWire,
		Audit: d.Audit, Logger: d.Logger, SkipReadAudit: cfg.SkipReadAudit, Metrics: d.Metrics, Snapshots: d.Snapshots})
	wickrAPI.Mount(e, d.Wickr)
	unknownRoute = awsproto.UnknownRouteHandler(chimeAPI, belfryAPI, wickrAPI)

	mountClient(e, d.ClientRoutes, d.WebhookRoutes)
	for _, r := range d.UploadRoutes {
		limit := d.MaxUploadBytes
		if r.MaxBody > 0 {
			limit = r.MaxBody
		}
		e.Add(r.Method, "/client/v1"+r.Path, r.Handler, awsproto.GuardUpload(limit))
	}
	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok\n") })
	e.GET("/openapi.yaml", func(c echo.Context) error { return c.Blob(http.StatusOK, "application/yaml", OpenAPI) })
	ready := &readiness{check: d.Ready}
	e.GET("/readyz", func(c echo.Context) error {
		if err := ready.probe(c.Request().Context()); err != nil {
			d.Logger.Warn("not ready", "err", err)
			return c.String(http.StatusServiceUnavailable, "not ready: "+readyReason(err)+"\n")
		}
		return c.String(http.StatusOK, "ready\n")
	})
	if d.Gatherer != nil {
		e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(d.Gatherer, promhttp.HandlerOpts{})))
	}
	lis, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("api: listen on %s: %w", cfg.Addr, err)
	}
	// Bodies are bounded by each route; a client that sends them slowly is cut off too.
	return &Server{e: e, lis: lis, srv: &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}}, nil
}

// mountClient mounts the client API's routes under /client/v1 and the incoming-webhook routes at the
// root, each behind awsproto.GuardClient; without client routes there is no /client/v1 group.
func mountClient(e *echo.Echo, client, webhooks []clientapi.Route) {
	if len(client) > 0 {
		g := e.Group("/client/v1", awsproto.GuardClient(awsproto.MaxClientBodyBytes))
		for _, r := range client {
			g.Add(r.Method, r.Path, r.Handler)
		}
	}
	for _, r := range webhooks {
		e.Add(r.Method, r.Path, r.Handler, awsproto.GuardClient(awsproto.MaxClientBodyBytes))
	}
}

// ipExtractor trusts X-Forwarded-For only from the configured proxies (never from loopback or
// private networks by default, unlike echo's own default).
func ipExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// plainError answers an error outside the admin APIs (the client API, webhooks, ops endpoints).
func plainError(err error, c echo.Context) {
	var he *echo.HTTPError
	status := http.StatusInternalServerError
	if errors.As(err, &he) {
		status = he.Code
	}
	if status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
		c.Response().Header().Set("X-Amzn-ErrorType", "UnknownOperationException")
		_ = c.JSON(http.StatusNotFound, map[string]string{"Code": "NotFound", "Message": "no operation at " + c.Request().Method + " " + c.Request().URL.Path})
		return
	}
	c.Response().Header().Set("X-Amzn-ErrorType", "ServiceFailureException")
	_ = c.JSON(status, map[string]string{"Code": "ServiceFailure", "Message": http.StatusText(status)})
}

// unrouted reports echo's answer to a request no route takes: 404, or 405 for a known path.
func unrouted(err error) bool {
	return errors.Is(err, echo.ErrNotFound) || errors.Is(err, echo.ErrMethodNotAllowed)
}

// adminPath reports whether an unrouted path belongs to the admin APIs (Chime, /belfry/v1), whose
// unknown operations are answered after SigV4 and audited like any call; the client API, the incoming
// webhooks and the ops endpoints keep echo's plain 404.
func adminPath(p string) bool {
	for _, prefix := range []string{"/client/", "/incomingwebhooks/", "/exports/"} {
		if strings.HasPrefix(p, prefix) {
			return false
		}
	}
	switch p {
	case "/healthz", "/readyz", "/metrics", "/openapi.yaml":
		return false
	}
	return true
}

func regionOr(r string) string {
	if r == "" {
		return "us-east-1"
	}
	return r
}

// Addr is the listening address.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// Serve serves until Shutdown.
func (s *Server) Serve() error {
	if err := s.srv.Serve(s.lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Shutdown stops accepting requests and waits for running ones until ctx ends. Past that it closes
// every connection, which cancels the requests still running (their contexts end), and returns
// ctx's error: nothing a request started keeps running, unbounded, into the closing of what it uses.
// Hijacked connections (WebSockets) are their owners' to end.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
		return fmt.Errorf("api: requests still running at the shutdown bound were cut off: %w", err)
	}
	return nil
}

// readyReason is what /readyz says of a failed check: its first clause ("postgres", "still
// starting"), never the driver's words after it (addresses, user names), which go to the log.
func readyReason(err error) string {
	reason, _, _ := strings.Cut(err.Error(), ":")
	return reason
}

// ReadyTimeout bounds one readiness check: /readyz answers 503 once it has passed.
const ReadyTimeout = 2 * time.Second

// readiness runs Deps.Ready for /readyz, one check at a time: a probe that comes while a check runs
// shares its outcome, and every probe answers within ReadyTimeout, even when a check ignores its
// context and hangs (then one goroutine waits for it, however many probes come).
type readiness struct {
	check  func(context.Context) error
	mu     sync.Mutex
	flight *readyFlight // the check running, nil when none
}

// readyFlight is one run of the check; err is set before done is closed.
type readyFlight struct {
	done chan struct{}
	err  error
}

// probe reports whether the server is ready (nil) or why not, within ReadyTimeout.
func (r *readiness) probe(ctx context.Context) error {
	if r.check == nil {
		return nil
	}
	r.mu.Lock()
	f := r.flight
	if f == nil {
		f = &readyFlight{done: make(chan struct{})}
		r.flight = f
		go r.run(f)
	}
	r.mu.Unlock()
	t := time.NewTimer(ReadyTimeout)
	defer t.Stop()
	select {
	case <-f.done:
		return f.err
	case <-t.C:
		return fmt.Errorf("the checks gave no answer within %s: %w", ReadyTimeout, context.DeadlineExceeded)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run runs the check of f, bounded by ReadyTimeout for a check that honours its context.
func (r *readiness) run(f *readyFlight) {
	ctx, cancel := context.WithTimeout(context.Background(), ReadyTimeout)
	defer cancel()
	f.err = r.check(ctx)
	r.mu.Lock()
	r.flight = nil
	r.mu.Unlock()
	close(f.done)
}
