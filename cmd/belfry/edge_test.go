package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/chime"
)

// signedReq signs a request for body with the SDK's signer and returns it unsent, so that a test can
// alter it the way an attacker who captured it would.
func (r *running) signedReq(t *testing.T, method, path, body string) *http.Request {
	t.Helper()
	req, _ := http.NewRequest(method, r.url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	h := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: r.keyID, SecretAccessKey: r.secret},
		req, hex.EncodeToString(h[:]), "chime", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	return req
}

// send sends req and returns the status, the X-Amzn-ErrorType and the decoded {"Code","Message"} body.
func send(t *testing.T, req *http.Request) (int, string, map[string]string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]string
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), out
}

func (r *running) accountNames(t *testing.T) map[string]bool {
	t.Helper()
	list, err := r.client.ListAccounts(context.Background(), &chime.ListAccountsInput{})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, a := range list.Accounts {
		names[aws.ToString(a.Name)] = true
	}
	return names
}

// Issue 12 item 1: a captured signed request cannot carry another body of the same length.
func TestSigV4RefusesAlteredBody(t *testing.T) {
	t.Parallel()
	b := startBelfry(t)
	good, evil := `{"Name":"Good Corp"}`, `{"Name":"Evil Corp"}`
	orig := sha256.Sum256([]byte(good))

	// The attacker swaps the body and claims the original hash in X-Amz-Content-Sha256.
	req := b.signedReq(t, "POST", "/accounts", good)
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(orig[:]))
	req.Body, req.ContentLength = io.NopCloser(strings.NewReader(evil)), int64(len(evil))
	status, typ, body := send(t, req)
	if status != 400 || typ != "XAmzContentSHA256Mismatch" || body["Code"] != "BadRequest" {
		t.Fatalf("altered body with the original hash: %d %s %v", status, typ, body)
	}
	// Without the header the signature itself no longer matches.
	req = b.signedReq(t, "POST", "/accounts", good)
	req.Body, req.ContentLength = io.NopCloser(strings.NewReader(evil)), int64(len(evil))
	if status, typ, body := send(t, req); status != 403 || typ != "InvalidSignatureException" || body["Code"] == "" {
		t.Fatalf("altered body: %d %s %v", status, typ, body)
	}
	// UNSIGNED-PAYLOAD is refused for the JSON APIs.
	req = b.signedReq(t, "POST", "/accounts", evil)
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	if status, _, body := send(t, req); status != 400 || !strings.Contains(body["Message"], "UNSIGNED-PAYLOAD") {
		t.Fatalf("UNSIGNED-PAYLOAD: %d %v", status, body)
	}
	// The honest request with the honest header works.
	req = b.signedReq(t, "POST", "/accounts", good)
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(orig[:]))
	if status, _, body := send(t, req); status != 201 {
		t.Fatalf("honest request: %d %v", status, body)
	}
	names := b.accountNames(t)
	if names["Evil Corp"] || !names["Good Corp"] {
		t.Fatalf("accounts after the attack: %v", names)
	}
	// An unsigned request's error names its code.
	plain, _ := http.NewRequest("GET", b.url+"/accounts", nil)
	if status, typ, body := send(t, plain); status != 403 || typ != "MissingAuthenticationTokenException" || body["Code"] == "" {
		t.Fatalf("unsigned: %d %s %v", status, typ, body)
	}
}

// Issue 12 item 2(a): input that cannot be stored faithfully is refused at the edge, names the
// field, changes nothing, and the audit read model keeps advancing.
func TestEdgeRefusesUnstorableInput(t *testing.T) {
	t.Parallel()
	b := startBelfry(t)
	cases := []struct {
		name, method, path, body, want string
	}{
		{"NUL escape in a body member", "POST", "/accounts", `{"Name":"a\u0000b"}`, `member "Name"`},
		{"NUL escape in a nested member", "POST", "/accounts", `{"Tags":[{"Key":"k\u0000"}]}`, `member "Tags.Key"`},
		{"NUL escape in a member name", "POST", "/accounts", `{"Na\u0000me":"a"}`, "member name"},
		{"lone surrogate escape", "POST", "/accounts", `{"Name":"a\ud800b"}`, `member "Name"`},
		{"invalid UTF-8 in the body", "POST", "/accounts", "{\"Name\":\"a\xffb\"}", "body is not valid UTF-8"},
		{"invalid UTF-8 in the path", "GET", "/accounts/%FF%FE", "", "path is not valid UTF-8"},
		{"NUL in the path", "GET", "/accounts/a%00b", "", "path must not contain a NUL"},
		{"NUL in the query", "GET", "/accounts?name=a%00b", "", `query parameter "name"`},
		{"invalid UTF-8 in the query", "GET", "/accounts?name=%C3%28", "", `query parameter "name"`},
		{"50 kB next-token", "GET", "/accounts?next-token=" + strings.Repeat("A", 50_000), "", `"next-token" exceeds`},
		// A forged token hides a NUL (or invalid UTF-8) in base64, past the edge's checks: PostgreSQL
		// refused the query (500) before the token's decoding refused it.
		{"NUL in a base64 next-token", "GET", "/accounts?next-token=" + base64.RawURLEncoding.EncodeToString([]byte("a\x00b")), "", "NextToken"},
		{"invalid UTF-8 in a base64 next-token", "GET", "/accounts?next-token=" + base64.RawURLEncoding.EncodeToString([]byte("\xff\xfe")), "", "NextToken"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, typ, body := send(t, b.signedReq(t, tc.method, tc.path, tc.body))
			if status != 400 || typ != "BadRequestException" || !strings.Contains(body["Message"], tc.want) {
				t.Fatalf("want 400 naming %q, got %d %s %v", tc.want, status, typ, body)
			}
		})
	}
	if n := len(b.accountNames(t)); n != 0 {
		t.Fatalf("refused requests created %d accounts", n)
	}
	// The refused calls are audited (without their parameters), and later records still arrive.
	if _, err := b.client.CreateAccount(context.Background(), &chime.CreateAccountInput{Name: aws.String("After")}); err != nil {
		t.Fatal(err)
	}
	recs := b.audit(t, "CreateAccount", 6)
	var refused, ok int
	for _, r := range recs {
		switch {
		case r.ErrorCode == "BadRequestException" && string(r.RequestParameters) == "null":
			refused++
		case r.ErrorCode == "":
			ok++
		}
	}
	if refused != 5 || ok != 1 {
		t.Fatalf("CreateAccount audit records: %d refused, %d ok (of %d)", refused, ok, len(recs))
	}
}

// Issue 12 item 8: the client API bounds and validates bodies before any work.
func TestClientAPIBoundsAndValidatesBodies(t *testing.T) {
	t.Parallel()
	b := startBelfry(t)
	post := func(path string, body []byte) (int, map[string]any) {
		resp, err := http.Post(b.url+path, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	big := append([]byte(`{"Email":"`), bytes.Repeat([]byte("a"), 8<<20)...)
	if status, out := post("/client/v1/sessions", big); status != 413 {
		t.Fatalf("8 MB sign-in body: %d %v", status, out)
	}
	if status, out := post("/client/v1/sessions", []byte(`{"Email":"a\u0000@example.com","Password":"x"}`)); status != 400 ||
		!strings.Contains(out["Message"].(string), `member "Email"`) {
		t.Fatalf("NUL in sign-in: %d %v", status, out)
	}
	if status, out := post("/client/v1/sessions", []byte("{\"Email\":\"\xff@example.com\"}")); status != 400 {
		t.Fatalf("invalid UTF-8 in sign-in: %d %v", status, out)
	}
	if status, out := post("/incomingwebhooks/x%00y?token=t", []byte(`{"Content":"hi"}`)); status != 400 {
		t.Fatalf("NUL in a webhook path: %d %v", status, out)
	}
}

// Issue 12 item 8: X-Forwarded-For names the audited source only when it comes from a trusted proxy.
func TestForwardedForTrustedOnlyFromProxies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		proxies, want string
	}{{"", "127.0.0.1"}, {"10.0.0.0/8", "127.0.0.1"}, {"127.0.0.1", "203.0.113.9"}} {
		t.Run("proxies="+tc.proxies, func(t *testing.T) {
			b := startBelfryWith(t, func(m *Main) { m.cfg.TrustedProxies = tc.proxies })
			req := b.signedReq(t, "POST", "/accounts", `{"Name":"Forwarded"}`)
			req.Header.Set("X-Forwarded-For", "203.0.113.9")
			if status, _, body := send(t, req); status != 201 {
				t.Fatalf("%d %v", status, body)
			}
			recs := b.audit(t, "CreateAccount", 1)
			if len(recs) != 1 || net.ParseIP(recs[0].SourceIPAddress).String() != tc.want {
				t.Fatalf("sourceIPAddress: %+v", recs)
			}
		})
	}
}

func TestTrustedProxiesConfigValidated(t *testing.T) {
	t.Parallel()
	cfg := Config{DatabaseURL: "postgres://x", EventLogAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Region: "us-east-1", TrustedProxies: "10.0.0.0/8, nonsense"}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "BELFRY_TRUSTED_PROXIES") {
		t.Fatalf("want an error naming BELFRY_TRUSTED_PROXIES, got %v", err)
	}
}
