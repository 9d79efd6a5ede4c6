package awsproto

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/api/sigv4"
	"github.com/belfry/belfry/domain/audit"
)

// sink keeps every record it is given.
type sink struct {
	mu   sync.Mutex
	recs []audit.APICallRecorded
}

func (s *sink) Record(_ context.Context, r audit.APICallRecorded) error { s.add(r); return nil }
func (s *sink) Queue(_ context.Context, r audit.APICallRecorded) error  { s.add(r); return nil }
func (s *sink) RecordUnauthenticated(r audit.APICallRecorded)           { s.add(r) }
func (s *sink) add(r audit.APICallRecorded) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs = append(s.recs, r)
}

type oneKey struct{}

func (oneKey) LookupAccessKey(_ context.Context, id string) (string, any, error) {
	if id != "AKIDREGION" {
		return "", nil, sigv4.ErrUnknownKey
	}
	return "secret", testCaller{}, nil
}

type testCaller struct{}

func (testCaller) AWSAccount() string  { return "123456789012" }
func (testCaller) ARN() string         { return "arn:aws:iam::123456789012:user/alice" }
func (testCaller) ID() string          { return "AIDAALICE" }
func (testCaller) UserName() string    { return "alice" }
func (testCaller) Allowed(string) bool { return true }

// TestAuditRecordsOnlyAnAcceptedRegion: a regional service records the credential scope's region as
// awsRegion, and the CloudTrail trail files records by it (its object keys name the region, one
// digest chain per region). The region is the caller's own text — unsigned, or signed by a caller
// who chose it — so a region the service does not accept ("..", a path, a megabyte) must not reach
// the record: it is recorded as no region (the trail's home region).
func TestAuditRecordsOnlyAnAcceptedRegion(t *testing.T) {
	rec := &sink{}
	s := NewService(ServiceConfig{Name: "wickr", EventSource: "wickr.amazonaws.com", Verifier: &sigv4.Verifier{Keys: oneKey{}},
		Audit: rec, Regions: func(r string) error {
			if r != "us-east-1" {
				return BadRequest("not offered in region " + r)
			}
			return nil
		}})
	e := echo.New()
	s.Mount(e, []Operation{{Name: "CreateBot", Method: http.MethodPost, Path: "/networks/:networkId/bots",
		Fn: func(*Call) (int, any, error) { return http.StatusOK, map[string]string{"message": "ok"}, nil }}})
	long := strings.Repeat("x", 300<<10) // over audit.MaxRecordBytes
	for _, region := range []string{"..", "a b", long} {
		unsigned, _ := http.NewRequest(http.MethodPost, "http://belfry/networks/n1/bots", strings.NewReader(`{}`))
		unsigned.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDUNKNOWN/20260101/"+region+"/wickr/aws4_request, SignedHeaders=host, Signature=00")
		unsigned.Header.Set("X-Amz-Date", "20260101T000000Z")
		e.ServeHTTP(httptest.NewRecorder(), unsigned)
		e.ServeHTTP(httptest.NewRecorder(), signedRequest(t, `{}`, region))
	}
	e.ServeHTTP(httptest.NewRecorder(), signedRequest(t, `{}`, "us-east-1"))
	if len(rec.recs) != 7 {
		t.Fatalf("want 7 records, got %d", len(rec.recs))
	}
	for i, r := range rec.recs[:6] {
		if r.AWSRegion != "" {
			t.Errorf("record %d (%s, %s): awsRegion %.40q recorded: a region the service refuses", i, r.UserIdentity.Type, r.ErrorCode, r.AWSRegion)
		}
	}
	if got := rec.recs[6].AWSRegion; got != "us-east-1" {
		t.Fatalf("an accepted region is recorded as %q", got)
	}
	if b, err := audit.Encode(rec.recs[4]); err != nil || len(b) > audit.MaxRecordBytes {
		t.Fatalf("an encoded record is %d bytes (max %d): %v", len(b), audit.MaxRecordBytes, err)
	}
}

func signedRequest(t *testing.T, body, region string) *http.Request {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://belfry/networks/n1/bots", bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "application/json")
	h := sha256.Sum256([]byte(body))
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIDREGION", SecretAccessKey: "secret"},
		req, hex.EncodeToString(h[:]), "wickr", region, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return req
}
