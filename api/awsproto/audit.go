package awsproto

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/belfry/belfry/api/sigv4"
	"github.com/belfry/belfry/domain/audit"
	"github.com/google/uuid"
)

// record sends the CloudTrail-shaped record of a call to the audit sink: a verified call's record is
// stored before the call is answered (a *WireError when it could not be: the call must not be
// acknowledged without its record), but that of a successful read is only queued; any other call's
// record takes the unauthenticated lane.
func (s *Service) record(k *Call, op Operation, cred sigv4.Credential, reqID string, at time.Time, status int, out any, wire *WireError) *WireError {
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
	if err := store(k.Echo.Request().Context(), rec); err != nil {
		s.logger.Error("audit record not stored; the call is answered with an error", "op", op.Name, "request_id", reqID, "err", err)
		return &WireError{Status: http.StatusInternalServerError, Type: "ServiceFailureException", Code: "ServiceFailure",
			Msg: "the audit record of this call could not be stored; the call may have taken effect (request id " + reqID + ")"}
	}
	return nil
}

// buildRecord is the record of a call, sensitive members hidden.
func (s *Service) buildRecord(k *Call, op Operation, cred sigv4.Credential, reqID string, at time.Time, status int, out any, wire *WireError) audit.APICallRecorded {
	r := k.Echo.Request()
	region := s.region
	if s.regions != nil {
		region = s.scopeRegion(r.Header.Get("Authorization"))
	}
	rec := audit.APICallRecorded{
		EventVersion: "1.08", EventTime: at.UTC(), EventSource: s.eventSource, EventName: op.Name, AWSRegion: region,
		SourceIPAddress: k.Echo.RealIP(), UserAgent: r.UserAgent(), RequestID: reqID, EventID: uuid.NewString(),
		EventType: "AwsApiCall", ReadOnly: op.ReadOnly, HTTPStatus: status,
		UserIdentity:      audit.UserIdentity{Type: "IAMUser", AccessKeyID: cred.AccessKeyID},
		RequestParameters: requestParameters(k), ResponseElements: json.RawMessage("null"),
	}
	if cred.AccessKeyID == "" {
		rec.UserIdentity.AccessKeyID = accessKeyFromHeader(r.Header.Get("Authorization"))
		rec.UserIdentity.Type = "Unknown"
	}
	if k.Caller != nil {
		rec.UserIdentity.PrincipalID = k.Caller.ID()
		rec.UserIdentity.ARN = k.Caller.ARN()
		rec.UserIdentity.AccountID = k.Caller.AWSAccount()
		rec.UserIdentity.UserName = k.Caller.UserName()
		rec.RecipientAccountID = k.Caller.AWSAccount()
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

// scopeRegion is the region of a regional service's credential scope when the service accepts it,
// else "" (the trail's home region): the scope is the caller's text, unsigned or signed by a caller
// who chose it, and a region names the trail's object keys and digest chains.
func (s *Service) scopeRegion(auth string) string {
	region := scopeField(auth, 2)
	if region == "" || s.regions(region) != nil {
		return ""
	}
	return region
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
// personal, port-out and port-in service PINs, port-in upload tokens (also the ?token= of UploadPortInDocument), bot
// endpoint URLs (they often embed credentials; sensitive in the Chime model), any password or
// secret key a body may carry, and Wickr's: bot and data-retention bot passwords (challenge), OIDC
// client secrets (secret, clientSecret), and the authorization code, PKCE verifier and tokens of
// GetOidcInfo's exchange, CreateMeetingDialOut's JoinToken, and an attachment export's pre-signed ListingUrl.
var sensitiveMembers = map[string]bool{
	"securitytoken": true, "personalpin": true, "pin": true, "servicepin": true, "uploadtoken": true, "token": true,
	"outboundeventshttpsendpoint": true, "password": true, "newpassword": true, "oldpassword": true,
	"secretaccesskey": true, "sessiontoken": true, "secret": true, "clientsecret": true,
	"challenge": true, "code": true, "codeverifier": true, "accesstoken": true, "idtoken": true, "refreshtoken": true,
	"jointoken": true, "listingurl": true,
}

// requestParameters merges path parameters, query parameters and body members (none for a body that
// is a file), with CloudTrail's lower-camel keys at every depth, sensitive members hidden. A path
// parameter wins over a query parameter or body member of the same name: the operation acts on what
// its path names, and the record must name it.
func requestParameters(k *Call) json.RawMessage {
	if k.badInput {
		return json.RawMessage("null")
	}
	m := map[string]any{}
	for n, vs := range k.Echo.QueryParams() {
		if n == "operation" || len(vs) == 0 {
			continue
		}
		m[kebabToCamel(n)] = vs[0]
	}
	var body map[string]any
	if !k.rawBody && json.Unmarshal(k.Body, &body) == nil {
		for n, v := range body {
			m[lowerFirst(n)] = lowerCamel(v)
		}
	}
	for n, v := range k.params {
		m[n] = v
	}
	if len(m) == 0 {
		return json.RawMessage("null")
	}
	return marshalMember(redact(m))
}

// lowerKeys turns a response body into responseElements: lower-camel keys at every depth, sensitive
// members hidden.
func lowerKeys(b []byte) json.RawMessage {
	if out, ok := fastLowerKeys(b); ok {
		return out
	}
	return genericLowerKeys(b)
}

// genericLowerKeys is lowerKeys for any JSON (see fastLowerKeys).
func genericLowerKeys(b []byte) json.RawMessage {
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
			if e != nil && sensitiveMembers[foldKey(k)] {
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

// foldKey lower-cases a member name after folding each letter to the least of its Unicode simple
// fold orbit, so that two names encoding/json takes for the same member ("Paſſword", "PASSWORD",
// "password": it matches names with that folding) give the same key.
func foldKey(k string) string {
	return strings.Map(func(r rune) rune {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		return unicode.ToLower(least)
	}, k)
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
