package sigv4_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/belfry/belfry/api/sigv4"
)

type keys map[string]string

func (k keys) LookupAccessKey(_ context.Context, id string) (string, any, error) {
	s, ok := k[id]
	if !ok {
		return "", nil, sigv4.ErrUnknownKey
	}
	return s, "principal-" + id, nil
}

var now = time.Date(2026, 11, 22, 18, 0, 0, 0, time.UTC)

func signed(t *testing.T, method, url, body, key, secret, region, service string, at time.Time) *http.Request {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader([]byte(body)))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Amz-Sdk-Invocation-Id", "11111111-2222-3333-4444-555555555555")
	h := sha256.Sum256([]byte(body))
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret},
		req, hex.EncodeToString(h[:]), service, region, at)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestVerify(t *testing.T) {
	v := &sigv4.Verifier{Keys: keys{"AKIDEXAMPLE": "secret"}, Region: "us-east-1", Now: func() time.Time { return now }}
	cases := []struct {
		name     string
		req      *http.Request
		body     string
		wantType string
	}{
		{"valid POST", signed(t, "POST", "http://127.0.0.1:8080/accounts", `{"Name":"Acme"}`, "AKIDEXAMPLE", "secret", "us-east-1", "chime", now), `{"Name":"Acme"}`, ""},
		{"valid escaped path and query", signed(t, "GET", "http://127.0.0.1:8080/phone-numbers/%2B12065550100?max-results=5&next-token=page%202%2Fof%2B2%3D%3D", "", "AKIDEXAMPLE", "secret", "us-east-1", "chime", now), "", ""},
		{"tampered body", signed(t, "POST", "http://127.0.0.1:8080/accounts", `{"Name":"Acme"}`, "AKIDEXAMPLE", "secret", "us-east-1", "chime", now), `{"Name":"Evil"}`, "InvalidSignatureException"},
		{"wrong secret", signed(t, "GET", "http://127.0.0.1:8080/accounts", "", "AKIDEXAMPLE", "nope", "us-east-1", "chime", now), "", "InvalidSignatureException"},
		{"unknown key", signed(t, "GET", "http://127.0.0.1:8080/accounts", "", "AKIDUNKNOWN", "secret", "us-east-1", "chime", now), "", "UnrecognizedClientException"},
		{"wrong region", signed(t, "GET", "http://127.0.0.1:8080/accounts", "", "AKIDEXAMPLE", "secret", "eu-west-1", "chime", now), "", "InvalidSignatureException"},
		{"wrong service", signed(t, "GET", "http://127.0.0.1:8080/accounts", "", "AKIDEXAMPLE", "secret", "us-east-1", "s3", now), "", "InvalidSignatureException"},
		{"expired", signed(t, "GET", "http://127.0.0.1:8080/accounts", "", "AKIDEXAMPLE", "secret", "us-east-1", "chime", now.Add(-6*time.Minute)), "", "InvalidSignatureException"},
		{"tampered body claiming the original hash", func() *http.Request {
			r := signed(t, "POST", "http://127.0.0.1:8080/accounts", `{"Name":"Acme"}`, "AKIDEXAMPLE", "secret", "us-east-1", "chime", now)
			h := sha256.Sum256([]byte(`{"Name":"Acme"}`))
			r.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(h[:]))
			return r
		}(), `{"Name":"Evil"}`, "XAmzContentSHA256Mismatch"},
		{"honest payload hash header", func() *http.Request {
			r := signed(t, "POST", "http://127.0.0.1:8080/accounts", `{"Name":"Acme"}`, "AKIDEXAMPLE", "secret", "us-east-1", "chime", now)
			h := sha256.Sum256([]byte(`{"Name":"Acme"}`))
			r.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(h[:]))
			return r
		}(), `{"Name":"Acme"}`, ""},
		{"unsigned payload", func() *http.Request {
			r := signed(t, "POST", "http://127.0.0.1:8080/accounts", `{"Name":"Acme"}`, "AKIDEXAMPLE", "secret", "us-east-1", "chime", now)
			r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
			return r
		}(), `{"Name":"Acme"}`, "InvalidRequestException"},
		{"unsigned", func() *http.Request { r, _ := http.NewRequest("GET", "http://127.0.0.1:8080/accounts", nil); return r }(), "", "MissingAuthenticationTokenException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cred, err := v.Verify(context.Background(), tc.req, []byte(tc.body), "chime")
			if tc.wantType == "" {
				if err != nil || cred.AccessKeyID != "AKIDEXAMPLE" || cred.Principal != "principal-AKIDEXAMPLE" {
					t.Fatalf("want valid, got %+v %v", cred, err)
				}
				return
			}
			var e *sigv4.Error
			if !errors.As(err, &e) || e.Type != tc.wantType {
				t.Fatalf("want %s, got %v", tc.wantType, err)
			}
		})
	}
}

func FuzzVerifyNeverPanics(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/chime/aws4_request, SignedHeaders=host;x-amz-date, Signature=00", "20261122T180000Z", "/accounts?x=1")
	v := &sigv4.Verifier{Keys: keys{"AKIDEXAMPLE": "secret"}, Now: func() time.Time { return now }}
	f.Fuzz(func(t *testing.T, auth, date, path string) {
		r, err := http.NewRequest("GET", "http://127.0.0.1:8080/", nil)
		if err != nil {
			return
		}
		r.URL.RawQuery = path
		r.Header.Set("Authorization", auth)
		r.Header.Set("X-Amz-Date", date)
		_, _ = v.Verify(context.Background(), r, nil, "chime")
	})
}

// FuzzVerifyBindsBody signs (method, target, body) as the official SDK does and verifies it with
// another body, once as sent and once claiming the signed body's hash in X-Amz-Content-Sha256: it is
// accepted exactly when the bodies are equal. The seed corpus is requests the official SDK sends
// (api.TestWriteFuzzCorpus).
func FuzzVerifyBindsBody(f *testing.F) {
	f.Add("POST", "/accounts", []byte(`{"Name":"Acme"}`), []byte(`{"Name":"Evil"}`))
	v := &sigv4.Verifier{Keys: keys{"AKIDFUZZ": "secret"}, Region: "us-east-1", Now: func() time.Time { return now }}
	f.Fuzz(func(t *testing.T, method, target string, body, sent []byte) {
		if !strings.HasPrefix(target, "/") || method == "" || strings.ContainsAny(method, " \r\n\t") {
			return
		}
		sum := sha256.Sum256(body)
		for _, claim := range []bool{false, true} {
			req, err := http.NewRequest(method, "http://127.0.0.1:8080"+target, bytes.NewReader(body))
			if err != nil {
				return
			}
			if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIDFUZZ", SecretAccessKey: "secret"},
				req, hex.EncodeToString(sum[:]), "chime", "us-east-1", now); err != nil {
				return
			}
			if claim {
				req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
			}
			_, err = v.Verify(context.Background(), req, sent, "chime")
			if same := bytes.Equal(body, sent); same != (err == nil) {
				t.Fatalf("bodies equal: %v, claimed hash: %v, verify: %v", same, claim, err)
			}
		}
	})
}

// TestXAmzDateMustBeSigned: a request whose SignedHeaders leave out x-amz-date is refused, as AWS
// requires (the date header a request carries must be signed), even when its signature checks out.
func TestXAmzDateMustBeSigned(t *testing.T) {
	t.Parallel()
	v := &sigv4.Verifier{Keys: keys{"AKIDEXAMPLE": "secret"}, Region: "us-east-1", Now: func() time.Time { return now }}
	r, _ := http.NewRequest("GET", "http://127.0.0.1:8080/accounts", nil)
	r.Header.Set("X-Amz-Date", now.Format("20060102T150405Z"))
	// Sign host alone, by hand, with the right key: only the header list is wrong.
	creq := sigv4.CanonicalRequest(r, []string{"host"}, hexOf(""))
	scope := now.Format("20060102") + "/us-east-1/chime/aws4_request"
	sts := "AWS4-HMAC-SHA256\n" + now.Format("20060102T150405Z") + "\n" + scope + "\n" + hexOf(creq)
	key := []byte("AWS4secret")
	for _, s := range []string{now.Format("20060102"), "us-east-1", "chime", "aws4_request"} {
		key = mac(key, s)
	}
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"+scope+", SignedHeaders=host, Signature="+hex.EncodeToString(mac(key, sts)))
	_, err := v.Verify(context.Background(), r, nil, "chime")
	var e *sigv4.Error
	if !errors.As(err, &e) || e.Type != "InvalidSignatureException" || !strings.Contains(e.Msg, "X-Amz-Date") {
		t.Fatalf("want InvalidSignatureException naming X-Amz-Date, got %v", err)
	}
}

func hexOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func mac(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// TestUnknownKeyCostsWhatABadSignatureCosts: refusing an unknown access key id does the work of
// refusing a bad signature of a known one (canonical request, key derivation, HMAC), so that the
// answer's timing does not tell whether a key id exists. Allocations are the deterministic measure of
// that work; the unknown-key path must not skip it.
func TestUnknownKeyCostsWhatABadSignatureCosts(t *testing.T) {
	v := &sigv4.Verifier{Keys: keys{"AKIDEXAMPLE": "secret"}, Region: "us-east-1", Now: func() time.Time { return now }}
	body := `{"Name":"Acme"}`
	unknown := signed(t, "POST", "http://127.0.0.1:8080/accounts?x=1", body, "AKIDUNKNOWN", "secret", "us-east-1", "chime", now)
	badSig := signed(t, "POST", "http://127.0.0.1:8080/accounts?x=1", body, "AKIDEXAMPLE", "wrong", "us-east-1", "chime", now)
	cost := func(r *http.Request, want string) float64 {
		return testing.AllocsPerRun(200, func() {
			_, err := v.Verify(context.Background(), r, []byte(body), "chime")
			var e *sigv4.Error
			if !errors.As(err, &e) || e.Type != want {
				t.Fatalf("want %s, got %v", want, err)
			}
		})
	}
	u, b := cost(unknown, "UnrecognizedClientException"), cost(badSig, "InvalidSignatureException")
	if u < b-2 {
		t.Fatalf("an unknown key is refused with %.0f allocations, a bad signature with %.0f: the unknown key skips the signature's work", u, b)
	}
}
