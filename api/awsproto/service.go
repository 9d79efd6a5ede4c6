package awsproto

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/belfry/belfry/domain/envelope"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/api/sigv4"
	"github.com/belfry/belfry/domain/audit"
)

// MaxBodyBytes bounds a request body.
const MaxBodyBytes = 1 << 20

// Caller is the authenticated principal behind a request; iam.Principal implements it.
type Caller interface {
	AWSAccount() string
	ARN() string
	ID() string
	UserName() string
	// Allowed reports whether the caller's identity policies allow action ("chime:CreateAccount").
	Allowed(action string) bool
}

// AuditSink receives one record per API call, in one of two lanes.
type AuditSink interface {
	// Record stores the record of a call whose signature was verified and returns once it is durable,
	// or with the error that kept it from being stored. The call is answered only after it returns.
	Record(ctx context.Context, r audit.APICallRecorded) error
	// Queue queues the record of a call whose signature was verified without waiting for it to be
	// stored (it waits only while the sink is full, and never drops it): for successful reads, whose
	// answer changes nothing and need not wait for a commit.
	Queue(ctx context.Context, r audit.APICallRecorded) error
	// RecordUnauthenticated queues the record of a call whose signature was missing or failed. It
	// never blocks; a full lane drops the record and counts it (see infra/auditlog).
	RecordUnauthenticated(r audit.APICallRecorded)
}

// Call is one API request being served, as an operation sees it.
type Call struct {
	// Ctx carries the request's envelope (actor, request id, source) for the commands it runs.
	Ctx  context.Context
	Echo echo.Context
	// Caller is the authenticated principal (set before an operation runs).
	Caller Caller
	// Region is the region of the verified credential scope (that of a regional service's resources).
	Region string
	// Body is the request body, read and bounded before the operation runs.
	Body []byte
	// verified is set once the SigV4 signature checked out: the call's record takes the durable lane.
	verified bool
	params   map[string]string
	// badInput marks a request whose path, query or body cannot be stored faithfully (NUL, invalid
	// UTF-8): it is refused, and its audit record carries no request parameters.
	badInput bool
	// rawBody marks a body that is a file (Operation.RawBody): the audit record leaves it out.
	rawBody bool
}

// AWSAccount is the caller's AWS account id (the tenant every operation is scoped to).
func (k *Call) AWSAccount() string { return k.Caller.AWSAccount() }

// Param returns a decoded path parameter.
func (k *Call) Param(name string) string { return k.params[name] }

// Query returns a query parameter.
func (k *Call) Query(name string) string { return k.Echo.QueryParam(name) }

// Decode reads the JSON body into v; an empty body is an empty object.
func (k *Call) Decode(v any) error {
	if len(bytes.TrimSpace(k.Body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(k.Body))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return BadRequest(fmt.Sprintf("%s must be a JSON %s", te.Field, te.Type.Kind()))
		}
		return BadRequest("the request body is not valid JSON: " + err.Error())
	}
	return nil
}

// MaxResults parses max-results within [1, limit], defaulting to def.
func (k *Call) MaxResults(def, limit int) (int, error) {
	s := k.Query("max-results")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > limit {
		return 0, BadRequest(fmt.Sprintf("max-results must be an integer from 1 to %d, got %q", limit, s))
	}
	return n, nil
}

// OpFunc serves one operation: it returns the status, the response body (nil for none) and an error.
type OpFunc func(k *Call) (int, any, error)

// Operation is one operation of a restJson1 service.
type Operation struct {
	Name     string
	Method   string
	Path     string // echo pattern, e.g. /accounts/:accountId
	Query    string // value of the literal ?operation= (or ?type=) that selects it, "" for none
	ReadOnly bool
	// RawBody marks an operation whose body is a file, not JSON (UploadPortInDocument): its bytes
	// are not checked as JSON text (a PDF is rarely valid UTF-8), only bounded; its path and query
	// are checked as any other's.
	RawBody bool
	Fn      OpFunc
	// unauthorized marks the pseudo-operation that answers unknown routes; it needs no permission.
	unauthorized bool
}

// Service serves the operations of one signing service (chime, belfry, wickr).
type Service struct {
	service     string
	eventSource string
	region      string
	verifier    *sigv4.Verifier
	audit       AuditSink
	toWire      func(error) *WireError
	regions     func(region string) error
	// skipReadAudit leaves successful read-only calls out of the audit log.
	skipReadAudit bool
	metrics       *Metrics
	logger        *slog.Logger
	snapshots     Snapshots
}

// ServiceConfig configures a Service.
type ServiceConfig struct {
	Name        string // the SigV4 signing name, e.g. chime
	EventSource string // the audit records' eventSource, e.g. chime.amazonaws.com
	Region      string
	Verifier    *sigv4.Verifier
	Audit       AuditSink
	// Errors maps the service's errors to the wire, in the service's own shapes (nil: ToWire, the
	// Chime shapes). Every error of a call goes through it: the operation's, the SigV4 verifier's,
	// a refused permission, an unknown operation, an audit record that could not be stored.
	Errors func(error) *WireError
	// Regions makes the service regional: the credential scope may name any region that Regions
	// accepts (the Verifier must then accept any region), Call.Region is that region, and the audit
	// record's awsRegion is the scope's when Regions accepts it ("" otherwise). Nil: the service lives
	// in Region alone.
	Regions func(region string) error
	// SkipReadAudit leaves successful read-only calls out of the audit log.
	SkipReadAudit bool
	Metrics       *Metrics // nil: none
	Logger        *slog.Logger
	// Snapshots serves the snapshots a read operation may name in SnapshotHeader (nil: none).
	Snapshots Snapshots
}

// NewService returns the Service of one signing name.
func NewService(c ServiceConfig) *Service {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Errors == nil {
		c.Errors = ToWire
	}
	return &Service{service: c.Name, eventSource: c.EventSource, region: c.Region, verifier: c.Verifier, audit: c.Audit,
		toWire: c.Errors, regions: c.Regions, skipReadAudit: c.SkipReadAudit, metrics: c.Metrics, logger: c.Logger,
		snapshots: c.Snapshots}
}

// Name is the service's signing name.
func (s *Service) Name() string { return s.service }

// Mount registers ops on e, dispatching operations that share a method and path by their query literal.
func (s *Service) Mount(e *echo.Echo, ops []Operation) {
	type key struct{ method, path string }
	groups := map[key][]Operation{}
	var order []key
	for _, op := range ops {
		k := key{op.Method, op.Path}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], op)
	}
	for _, k := range order {
		candidates := groups[k]
		e.Add(k.method, k.path, func(c echo.Context) error {
			selector := c.QueryParam("operation")
			if selector == "" {
				selector = c.QueryParam("type")
			}
			for _, op := range candidates {
				if op.Query == selector {
					return s.Serve(c, op)
				}
			}
			return s.Serve(c, Operation{Name: "UnknownOperation", unauthorized: true, Fn: func(*Call) (int, any, error) {
				return 0, nil, &WireError{Status: 404, Type: "UnknownOperationException", Msg: "unknown operation " + selector}
			}})
		})
	}
}

// Serve authenticates, runs and audits one call: verify (body, signature, input), authorize and run,
// record, answer.
func (s *Service) Serve(c echo.Context, op Operation) error {
	r := c.Request()
	reqID := uuid.NewString()
	c.Response().Header().Set("x-amzn-RequestId", reqID)
	start := time.Now()
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	k := newCall(c, body)
	k.rawBody = op.RawBody
	cred, sigOK, err := s.verify(k, op, body, err)
	var status int
	var out any
	if caller, hasCaller := cred.Principal.(Caller); err != nil && hasCaller {
		k.Caller = caller  // only for the audit record: the call is refused
		k.verified = sigOK // a signed call refused for its input is still recorded durably
	}
	if err == nil {
		status, out, err = s.authorizeAndRun(k, op, cred, reqID)
	}
	var wire *WireError
	if err != nil {
		wire = s.toWire(err)
		if wire.Status >= 500 {
			s.logger.Error("request failed", "op", op.Name, "request_id", reqID, "err", err)
		}
	}
	if aerr := s.record(k, op, cred, reqID, start, status, out, wire); aerr != nil {
		wire = s.toWire(aerr)
	}
	return s.answer(c, op, start, status, out, wire)
}

// newCall is the call of a request, its path parameters unescaped.
func newCall(c echo.Context, body []byte) *Call {
	k := &Call{Echo: c, Body: body, params: map[string]string{}}
	for i, n := range c.ParamNames() {
		v, uerr := url.PathUnescape(c.ParamValues()[i])
		if uerr != nil {
			v = c.ParamValues()[i]
		}
		k.params[n] = v
	}
	return k
}

// verify checks the body that was read (readErr), the signature and then the input; sigOK reports a
// valid signature even when the input is refused. The signature is checked first, so that a refused
// call is audited against its caller.
func (s *Service) verify(k *Call, op Operation, body []byte, readErr error) (cred sigv4.Credential, sigOK bool, err error) {
	r := k.Echo.Request()
	switch {
	case readErr != nil:
		return cred, false, BadRequest("could not read the request body")
	case len(body) > MaxBodyBytes:
		return cred, false, &WireError{Status: http.StatusRequestEntityTooLarge, Type: "BadRequestException", Code: "BadRequest",
			Msg: fmt.Sprintf("the request body exceeds %d bytes", MaxBodyBytes)}
	}
	inputErr := checkURL(r)
	if inputErr == nil && !op.RawBody {
		inputErr = checkJSONBody(body)
	}
	k.badInput = inputErr != nil
	if cred, err = s.verifier.Verify(r.Context(), r, body, s.service); err != nil {
		return cred, false, err
	}
	if inputErr == nil && s.regions != nil {
		inputErr = s.regions(cred.Region)
	}
	return cred, true, inputErr
}

// authorizeAndRun checks that the verified caller may call op ("<service>:<Operation>") and runs it
// under the request's envelope.
func (s *Service) authorizeAndRun(k *Call, op Operation, cred sigv4.Credential, reqID string) (int, any, error) {
	caller, ok := cred.Principal.(Caller)
	if !ok {
		return 0, nil, errors.New("api: key store returned no caller")
	}
	k.Caller, k.verified, k.Region = caller, true, cred.Region
	if action := s.service + ":" + op.Name; !op.unauthorized && !caller.Allowed(action) {
		return 0, nil, &WireError{Status: http.StatusForbidden, Type: "ForbiddenException", Code: "AccessDenied",
			Msg: fmt.Sprintf("User: %s is not authorized to perform: %s on resource: *", caller.ARN(), action)}
	}
	r := k.Echo.Request()
	k.Ctx = envelope.With(r.Context(), envelope.Envelope{
		ActorType: "accessKey", Actor: cred.AccessKeyID, PrincipalARN: caller.ARN(), RequestID: reqID,
		SourceIP: k.Echo.RealIP(), UserAgent: r.UserAgent(), CorrelationID: reqID,
	})
	var err error
	if k.Ctx, err = s.snapshot(k.Ctx, r, op); err != nil {
		return 0, nil, err
	}
	return runOp(op, k)
}

// answer writes the call's answer (the wire error when there is one) and then observes its metrics.
func (s *Service) answer(c echo.Context, op Operation, start time.Time, status int, out any, wire *WireError) error {
	if wire != nil {
		status = wire.Status
	}
	defer func() {
		if s.metrics != nil {
			s.metrics.observe(s.service, op.Name, status, time.Since(start))
		}
	}()
	if wire != nil {
		h := c.Response().Header()
		h.Set("X-Amzn-ErrorType", wire.Type)
		if wire.RetryAfter > 0 {
			h.Set("Retry-After", strconv.Itoa(int(math.Ceil(wire.RetryAfter.Seconds()))))
		}
		if wire.Body != nil {
			return c.JSON(wire.Status, wire.Body)
		}
		return c.JSON(wire.Status, map[string]string{"Code": wire.Code, "Message": wire.Msg})
	}
	if out == nil {
		return c.NoContent(status)
	}
	return c.JSON(status, out)
}

// Timestamp formats a time as the SDK's ISO-8601 timestamps.
func Timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// runOp runs an operation, turning a panic into an internal error so the call is still answered
// and audited.
func runOp(op Operation, k *Call) (status int, out any, err error) {
	defer func() {
		if p := recover(); p != nil {
			status, out, err = 0, nil, fmt.Errorf("api: %s panicked: %v", op.Name, p)
		}
	}()
	return op.Fn(k)
}
