// Package sigv4 verifies AWS Signature Version 4 on incoming requests, as the official SDKs sign them
// (header-based, AWS4-HMAC-SHA256).
//
// Invariants: the canonical request is rebuilt from the SignedHeaders list the client sent, which
// must name host and x-amz-date; the canonical URI is the path as sent on the wire, URI-encoded once
// more (non-S3 rule); the payload hash is computed from the exact body bytes received, never taken
// from the client: an X-Amz-Content-Sha256 header that differs from it is refused (400
// XAmzContentSHA256Mismatch), and so are UNSIGNED-PAYLOAD and streaming payloads, which these JSON
// APIs never use; the signature is compared in constant time, and computed for an unknown access key
// too (with a secret no key has), so that the time an answer takes does not tell whether a key id
// exists. A request whose X-Amz-Date is more than MaxSkew away from the server clock is refused, as
// is a credential scope for another service or region. Failures carry the error type real AWS
// endpoints return.
package sigv4

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/belfry/belfry/domain"
)

// MaxSkew is how far a request's X-Amz-Date may be from the server clock.
const MaxSkew = 5 * time.Minute

// Error is an authentication failure, with the status, error type and body code to send.
type Error struct {
	Status int
	Type   string
	// Code is the body's Code member: BadRequest for a malformed request, Forbidden for a refused one.
	Code string
	Msg  string
}

func (e *Error) Error() string { return e.Type + ": " + e.Msg }

func fail(status int, typ, format string, a ...any) *Error {
	code := "Forbidden"
	if status == 400 {
		code = "BadRequest"
	}
	return &Error{Status: status, Type: typ, Code: code, Msg: fmt.Sprintf(format, a...)}
}

// ErrUnknownKey is what a KeyLookup returns for an access key id it does not know or that is inactive;
// any error of kind domain.KindNotFound means the same (so that key stores need not import this
// package).
var ErrUnknownKey = &domain.Error{Kind: domain.KindNotFound, Msg: "sigv4: unknown access key"}

// KeyLookup returns the secret of an access key and an opaque principal for it.
type KeyLookup interface {
	LookupAccessKey(ctx context.Context, accessKeyID string) (secret string, principal any, err error)
}

// Verifier checks signatures.
type Verifier struct {
	Keys KeyLookup
	// Region that credential scopes must name; empty accepts any region.
	Region string
	Now    func() time.Time
}

// Credential is what a verified request was signed with.
type Credential struct {
	AccessKeyID string
	Region      string
	Service     string
	Principal   any
}

// Verify checks r (whose body has been read into body) for one of the allowed services. On a
// signature mismatch for a known key it returns the key's Credential together with the error; the
// caller must not treat that credential as authenticated.
func (v *Verifier) Verify(ctx context.Context, r *http.Request, body []byte, services ...string) (Credential, error) {
	a, err := parseAuthorization(r)
	if err != nil {
		return Credential{}, err
	}
	if err := v.checkScope(a, r, services); err != nil {
		return Credential{}, err
	}
	payloadHash := hexSHA(body)
	if ph := r.Header.Get("X-Amz-Content-Sha256"); ph != "" && ph != payloadHash {
		if ph == "UNSIGNED-PAYLOAD" || strings.HasPrefix(ph, "STREAMING-") {
			return Credential{}, fail(400, "InvalidRequestException", "X-Amz-Content-Sha256 %q is not accepted: sign the payload", ph)
		}
		return Credential{}, fail(400, "XAmzContentSHA256Mismatch", "X-Amz-Content-Sha256 does not match the SHA-256 of the request body (computed %s)", payloadHash)
	}
	secret, principal, err := v.Keys.LookupAccessKey(ctx, a.keyID)
	unknown := domain.KindOf(err) == domain.KindNotFound
	if err != nil && !unknown {
		return Credential{}, err
	}
	if unknown {
		// The signature is computed all the same (with a secret no key has), so that refusing an
		// unknown key takes as long as refusing a bad signature: timing tells nothing about key ids.
		secret = unknownKeySecret
	}
	want := signature(r, a, secret, payloadHash)
	cred := Credential{AccessKeyID: a.keyID, Region: a.region, Service: a.service, Principal: principal}
	match := hmac.Equal([]byte(want), []byte(a.sig))
	if unknown {
		return Credential{}, fail(403, "UnrecognizedClientException", "The security token included in the request is invalid.")
	}
	if !match {
		// The key is known: report whose it is, so that the failure can be audited against its owner.
		return cred, fail(403, "InvalidSignatureException",
			"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.")
	}
	return cred, nil
}

// unknownKeySecret is the secret an unknown key's signature is computed with (its result is never
// accepted).
const unknownKeySecret = "belfry-sigv4-unknown-access-key-0000000"

// signature is the hex signature of r under the secret, as a.scope derives its key.
func signature(r *http.Request, a authorization, secret, payloadHash string) string {
	creq := CanonicalRequest(r, a.headers, payloadHash)
	sts := "AWS4-HMAC-SHA256\n" + a.amzDate + "\n" + strings.Join(a.scope[1:], "/") + "\n" + hexSHA(creq)
	key := hmacSHA([]byte("AWS4"+secret), a.day)
	key = hmacSHA(key, a.region)
	key = hmacSHA(key, a.service)
	key = hmacSHA(key, "aws4_request")
	return hex.EncodeToString(hmacSHA(key, sts))
}

// authorization is a parsed Authorization header with its credential scope.
type authorization struct {
	scope                            []string
	keyID, day, region, service, sig string
	headers                          []string
	amzDate                          string
}

// parseAuthorization reads the AWS4-HMAC-SHA256 Authorization header and X-Amz-Date.
func parseAuthorization(r *http.Request) (authorization, error) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		if r.URL.Query().Get("X-Amz-Signature") != "" {
			return authorization{}, fail(400, "IncompleteSignatureException", "presigned URLs are not accepted; sign the Authorization header")
		}
		return authorization{}, fail(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
	}
	const algo = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, algo) {
		return authorization{}, fail(400, "IncompleteSignatureException", "Authorization header must use AWS4-HMAC-SHA256")
	}
	fields := map[string]string{}
	for _, part := range strings.Split(auth[len(algo):], ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok {
			fields[k] = val
		}
	}
	cred, signedHeaders, sig := fields["Credential"], fields["SignedHeaders"], fields["Signature"]
	if cred == "" || signedHeaders == "" || sig == "" {
		return authorization{}, fail(400, "IncompleteSignatureException", "Authorization header requires Credential, SignedHeaders and Signature")
	}
	scope := strings.Split(cred, "/")
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return authorization{}, fail(400, "IncompleteSignatureException", "Credential must be <key>/<date>/<region>/<service>/aws4_request, got %q", cred)
	}
	amzDate := r.Header.Get("X-Amz-Date")
	if _, err := time.Parse("20060102T150405Z", amzDate); err != nil {
		return authorization{}, fail(400, "IncompleteSignatureException", "X-Amz-Date header %q must be YYYYMMDDTHHMMSSZ", amzDate)
	}
	return authorization{scope: scope, keyID: scope[0], day: scope[1], region: scope[2], service: scope[3], sig: sig,
		headers: strings.Split(signedHeaders, ";"), amzDate: amzDate}, nil
}

// checkScope checks the credential scope's service, region and date, the clock skew, and that Host and
// X-Amz-Date are signed.
func (v *Verifier) checkScope(a authorization, r *http.Request, services []string) error {
	if !slices.Contains(services, a.service) {
		return fail(403, "InvalidSignatureException", "Credential should be scoped to correct service: '%s'", strings.Join(services, "' or '"))
	}
	if v.Region != "" && a.region != v.Region {
		return fail(403, "InvalidSignatureException", "Credential should be scoped to a valid region, not '%s'", a.region)
	}
	t, _ := time.Parse("20060102T150405Z", a.amzDate)
	if a.day != a.amzDate[:8] {
		return fail(403, "InvalidSignatureException", "Credential date %s does not match X-Amz-Date %s", a.day, a.amzDate[:8])
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	if d := now().Sub(t); d > MaxSkew || d < -MaxSkew {
		return fail(403, "InvalidSignatureException", "Signature expired: %s is now earlier than %s (%s - 5 min.)",
			a.amzDate, now().UTC().Add(-MaxSkew).Format("20060102T150405Z"), now().UTC().Format("20060102T150405Z"))
	}
	if !slices.Contains(a.headers, "host") {
		return fail(403, "InvalidSignatureException", "'Host' must be a signed header")
	}
	if !slices.Contains(a.headers, "x-amz-date") {
		return fail(403, "InvalidSignatureException", "'X-Amz-Date' must be a signed header")
	}
	return nil
}

// CanonicalRequest builds the SigV4 canonical request of r over the given signed headers and the
// hex SHA-256 of the body the server received.
func CanonicalRequest(r *http.Request, signed []string, payloadHash string) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	b.WriteString(encode(path, false))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(r.URL.RawQuery))
	b.WriteByte('\n')
	for _, h := range signed {
		var val string
		if h == "host" {
			val = r.Host
		} else if h == "content-length" {
			val = r.Header.Get("Content-Length")
			if val == "" && r.ContentLength >= 0 {
				val = fmt.Sprint(r.ContentLength)
			}
		} else {
			vals := r.Header.Values(h)
			for i := range vals {
				vals[i] = strings.Join(strings.Fields(vals[i]), " ")
			}
			val = strings.Join(vals, ",")
		}
		b.WriteString(h)
		b.WriteByte(':')
		b.WriteString(strings.TrimSpace(val))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signed, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

func canonicalQuery(raw string) string {
	if raw == "" {
		return ""
	}
	type kv struct{ k, v string }
	var pairs []kv
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		dk, err1 := url.QueryUnescape(k)
		dv, err2 := url.QueryUnescape(v)
		if err1 != nil {
			dk = k
		}
		if err2 != nil {
			dv = v
		}
		pairs = append(pairs, kv{encode(dk, true), encode(dv, true)})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	out := make([]string, len(pairs))
	for i, p := range pairs {
		out[i] = p.k + "=" + p.v
	}
	return strings.Join(out, "&")
}

// encode percent-encodes everything but RFC 3986 unreserved characters (and '/' unless encodeSlash).
func encode(s string, encodeSlash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		case c == '/' && !encodeSlash:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func hexSHA[T string | []byte](s T) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func hmacSHA(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
