package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/belfry/belfry/domain/envelope"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

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

// call is one API request being served.
type call struct {
	ctx    context.Context
	c      echo.Context
	caller Caller
	// verified is set once the SigV4 signature checked out: the call's record takes the durable lane.
	verified bool
	body     []byte
	params   map[string]string
	// badInput marks a request whose path, query or body cannot be stored faithfully (NUL, invalid
	// UTF-8): it is refused, and its audit record carries no request parameters.
	badInput bool
}

// param returns a decoded path parameter.
func (k *call) param(name string) string { return k.params[name] }

// query returns a query parameter.
func (k *call) query(name string) string { return k.c.QueryParam(name) }

// decode reads the JSON body into v; an empty body is an empty object.
func (k *call) decode(v any) error {
	if len(bytes.TrimSpace(k.body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(k.body))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return BadRequest(fmt.Sprintf("%s must be a JSON %s", te.Field, te.Type.Kind()))
		}
		return BadRequest("the request body is not valid JSON: " + err.Error())
	}
	return nil
}

// maxResults parses max-results within [1, limit], defaulting to def.
func (k *call) maxResults(def, limit int) (int, error) {
	s := k.query("max-results")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > limit {
		return 0, BadRequest(fmt.Sprintf("max-results must be an integer from 1 to %d, got %q", limit, s))
	}
	return n, nil
}

// opFunc serves one operation: it returns the status, the response body (nil for none) and an error.
type opFunc func(k *call) (int, any, error)

// operation is one operation of a restJson1 service.
type operation struct {
	Name     string
	Method   string
	Path     string // echo pattern, e.g. /accounts/:accountId
	Query    string // value of the literal ?operation= (or ?type=) that selects it, "" for none
	ReadOnly bool
	Fn       opFunc
	// unauthorized marks the pseudo-operation that answers unknown routes; it needs no permission.
	unauthorized bool
}

// serviceAPI serves the operations of one signing service (chime, belfry).
type serviceAPI struct {
	service     string
	eventSource string
	region      string
	verifier    *sigv4.Verifier
	audit       AuditSink
	// skipReadAudit leaves successful read-only calls out of the audit log.
	skipReadAudit bool
	metrics       *Metrics
	logger        *slog.Logger
}

// mount registers ops on e, dispatching operations that share a method and path by their query literal.
func (s *serviceAPI) mount(e *echo.Echo, ops []operation) {
	type key struct{ method, path string }
	groups := map[key][]operation{}
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
					return s.serve(c, op)
				}
			}
			return s.serve(c, operation{Name: "UnknownOperation", unauthorized: true, Fn: func(*call) (int, any, error) {
				return 0, nil, &WireError{Status: 404, Type: "UnknownOperationException", Msg: "unknown operation " + selector}
			}})
		})
	}
}

// serve authenticates, runs and audits one call.
func (s *serviceAPI) serve(c echo.Context, op operation) error {
	r := c.Request()
	reqID := uuid.NewString()
	c.Response().Header().Set("x-amzn-RequestId", reqID)
	start := time.Now()
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	k := &call{c: c, body: body, params: map[string]string{}}
	for i, n := range c.ParamNames() {
		v, uerr := url.PathUnescape(c.ParamValues()[i])
		if uerr != nil {
			v = c.ParamValues()[i]
		}
		k.params[n] = v
	}
	var status int
	var out any
	var cred sigv4.Credential
	sigOK := false
	switch {
	case err != nil:
		err = BadRequest("could not read the request body")
	case len(body) > MaxBodyBytes:
		err = &WireError{Status: http.StatusRequestEntityTooLarge, Type: "BadRequestException", Code: "BadRequest",
			Msg: fmt.Sprintf("the request body exceeds %d bytes", MaxBodyBytes)}
	default:
		inputErr := checkURL(r)
		if inputErr == nil {
			inputErr = checkJSONBody(body)
		}
		k.badInput = inputErr != nil
		// The signature is checked first, so that a refused call is audited against its caller.
		if cred, err = s.verifier.Verify(r.Context(), r, body, s.service); err == nil {
			sigOK, err = true, inputErr
		}
	}
	caller, hasCaller := cred.Principal.(Caller)
	if err != nil && hasCaller {
		k.caller = caller  // only for the audit record: the call is refused
		k.verified = sigOK // a signed call refused for its input is still recorded durably
	}
	if err == nil {
		if !hasCaller {
			err = errors.New("api: key store returned no caller")
		} else {
			k.caller, k.verified = caller, true
			if action := s.service + ":" + op.Name; !op.unauthorized && !caller.Allowed(action) {
				err = &WireError{Status: http.StatusForbidden, Type: "ForbiddenException", Code: "AccessDenied",
					Msg: fmt.Sprintf("User: %s is not authorized to perform: %s on resource: *", caller.ARN(), action)}
			}
		}
		if err == nil {
			k.ctx = envelope.With(r.Context(), envelope.Envelope{
				ActorType: "accessKey", Actor: cred.AccessKeyID, PrincipalARN: caller.ARN(), RequestID: reqID,
				SourceIP: c.RealIP(), UserAgent: r.UserAgent(), CorrelationID: reqID,
			})
			status, out, err = runOp(op, k)
		}
	}
	var wire *WireError
	if err != nil {
		wire = ToWire(err)
		if wire.Status >= 500 {
			s.logger.Error("request failed", "op", op.Name, "request_id", reqID, "err", err)
		}
	}
	if aerr := s.record(k, op, cred, reqID, start, status, out, wire); aerr != nil {
		wire = aerr
	}
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
		return c.JSON(wire.Status, map[string]string{"Code": wire.Code, "Message": wire.Msg})
	}
	if out == nil {
		return c.NoContent(status)
	}
	return c.JSON(status, out)
}

// record sends the CloudTrail-shaped record of a call to the audit sink: a verified call's record is
// stored before the call is answered (a *WireError when it could not be: the call must not be
// acknowledged without its record), but that of a successful read is only queued; any other call's
// record takes the unauthenticated lane.
func (s *serviceAPI) record(k *call, op operation, cred sigv4.Credential, reqID string, at time.Time, status int, out any, wire *WireError) *WireError {
	if s.audit == nil || (s.skipReadAudit && op.ReadOnly && wire == nil) {
		return nil
	}
	rec := s.buildRecord(k, op, cred, reqID, at, status, out, wire)
	if !k.verified {
		s.audit.RecordUnauthenticated(rec)
		return nil
	}
	store := s.audit.Record
	if op.ReadOnly && wire == nil {
		store = s.audit.Queue
	}
	if err := store(k.c.Request().Context(), rec); err != nil {
		s.logger.Error("audit record not stored; the call is answered with an error", "op", op.Name, "request_id", reqID, "err", err)
		return &WireError{Status: http.StatusInternalServerError, Type: "ServiceFailureException", Code: "ServiceFailure",
			Msg: "the audit record of this call could not be stored; the call may have taken effect (request id " + reqID + ")"}
	}
	return nil
}

// buildRecord is the record of a call, sensitive members hidden.
func (s *serviceAPI) buildRecord(k *call, op operation, cred sigv4.Credential, reqID string, at time.Time, status int, out any, wire *WireError) audit.APICallRecorded {
	r := k.c.Request()
	rec := audit.APICallRecorded{
		EventVersion: "1.08", EventTime: at.UTC(), EventSource: s.eventSource, EventName: op.Name, AWSRegion: s.region,
		SourceIPAddress: k.c.RealIP(), UserAgent: r.UserAgent(), RequestID: reqID, EventID: uuid.NewString(),
		EventType: "AwsApiCall", ReadOnly: op.ReadOnly, HTTPStatus: status,
		UserIdentity:      audit.UserIdentity{Type: "IAMUser", AccessKeyID: cred.AccessKeyID},
		RequestParameters: requestParameters(k), ResponseElements: json.RawMessage("null"),
	}
	if cred.AccessKeyID == "" {
		rec.UserIdentity.AccessKeyID = accessKeyFromHeader(r.Header.Get("Authorization"))
		rec.UserIdentity.Type = "Unknown"
	}
	if k.caller != nil {
		rec.UserIdentity.PrincipalID = k.caller.ID()
		rec.UserIdentity.ARN = k.caller.ARN()
		rec.UserIdentity.AccountID = k.caller.AWSAccount()
		rec.UserIdentity.UserName = k.caller.UserName()
		rec.RecipientAccountID = k.caller.AWSAccount()
	}
	if wire != nil {
		rec.ErrorCode, rec.ErrorMessage, rec.HTTPStatus = wire.Type, wire.Msg, wire.Status
	} else if !op.ReadOnly && out != nil {
		if b, err := json.Marshal(out); err == nil {
			rec.ResponseElements = lowerKeys(b)
		}
	}
	return rec
}

func accessKeyFromHeader(auth string) string {
	_, rest, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, "/")
	return id
}

// sensitiveMembers are the members whose values an audit record hides (lower-cased names, matched at
// any depth of requestParameters and responseElements, whatever their case): bot security tokens,
// personal and port-out PINs, port-in upload tokens (also the ?token= of UploadPortInDocument), bot
// endpoint URLs (they often embed credentials; sensitive in the Chime model), and any password or
// secret key a body may carry.
var sensitiveMembers = map[string]bool{
	"securitytoken": true, "personalpin": true, "pin": true, "uploadtoken": true, "token": true,
	"outboundeventshttpsendpoint": true, "password": true, "newpassword": true, "oldpassword": true,
	"secretaccesskey": true, "sessiontoken": true, "secret": true, "clientsecret": true,
}

// requestParameters merges path parameters, query parameters and body members, with CloudTrail's
// lower-camel keys at every depth, sensitive members hidden.
func requestParameters(k *call) json.RawMessage {
	if k.badInput {
		return json.RawMessage("null")
	}
	m := map[string]any{}
	for n, v := range k.params {
		m[n] = v
	}
	for n, vs := range k.c.QueryParams() {
		if n == "operation" || len(vs) == 0 {
			continue
		}
		m[kebabToCamel(n)] = vs[0]
	}
	var body map[string]any
	if json.Unmarshal(k.body, &body) == nil {
		for n, v := range body {
			m[lowerFirst(n)] = lowerCamel(v)
		}
	}
	if len(m) == 0 {
		return json.RawMessage("null")
	}
	return marshalMember(redact(m))
}

// lowerKeys turns a response body into responseElements: lower-camel keys at every depth, sensitive
// members hidden.
func lowerKeys(b []byte) json.RawMessage {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return json.RawMessage("null")
	}
	return marshalMember(redact(lowerCamel(v)))
}

// lowerCamel lower-cases the first letter of every object key, at any depth.
func lowerCamel(x any) any {
	switch x := x.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, v := range x {
			out[lowerFirst(k)] = lowerCamel(v)
		}
		return out
	case []any:
		for i := range x {
			x[i] = lowerCamel(x[i])
		}
	}
	return x
}

// redact replaces the values of sensitive members, at any depth, with audit.Hidden.
func redact(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e != nil && sensitiveMembers[strings.ToLower(k)] {
				x[k] = audit.Hidden
			} else {
				x[k] = redact(e)
			}
		}
	case []any:
		for i := range x {
			x[i] = redact(x[i])
		}
	}
	return v
}

// marshalMember encodes a record member without HTML escaping (a '<' stays one byte, not six).
func marshalMember(v any) json.RawMessage {
	b, err := audit.MarshalJSON(v)
	if err != nil {
		return json.RawMessage("null")
	}
	return b
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	r[0] = unicode.ToLower(r[0])
	return string(r)
}

func kebabToCamel(s string) string {
	parts := strings.Split(s, "-")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

// timestamp formats a time as the SDK's ISO-8601 timestamps.
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// runOp runs an operation, turning a panic into an internal error so the call is still answered
// and audited.
func runOp(op operation, k *call) (status int, out any, err error) {
	defer func() {
		if p := recover(); p != nil {
			status, out, err = 0, nil, fmt.Errorf("api: %s panicked: %v", op.Name, p)
		}
	}()
	return op.Fn(k)
}
