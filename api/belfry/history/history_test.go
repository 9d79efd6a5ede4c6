package history_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/belfry/history"
	"github.com/belfry/belfry/api/sigv4"
	"github.com/belfry/belfry/domain/audit"
	rm "github.com/belfry/belfry/projections/history"
)

type caller struct{}

func (caller) AWSAccount() string    { return "111122223333" }
func (caller) ARN() string           { return "arn:aws:iam::111122223333:user/auditor" }
func (caller) ID() string            { return "AIDAAUDITOR" }
func (caller) UserName() string      { return "auditor" }
func (caller) Allowed(_ string) bool { return true }

type keys struct{}

func (keys) LookupAccessKey(context.Context, string) (string, any, error) {
	return "secret", caller{}, nil
}

type sink struct{}

func (sink) Record(context.Context, audit.APICallRecorded) error { return nil }
func (sink) Queue(context.Context, audit.APICallRecorded) error  { return nil }
func (sink) RecordUnauthenticated(audit.APICallRecorded)         {}

// lookup records the positions it is asked to read after.
type lookup struct{ afters []uint64 }

func (l *lookup) Lookup(_ context.Context, _ string, after uint64, _ int) ([]rm.Entry, error) {
	l.afters = append(l.afters, after)
	return []rm.Entry{{Position: after + 1, Stream: "chime.account-a1", EventType: "chime.account.created.v1"}}, nil
}

var now = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func get(t *testing.T, l history.Lookup, query string) int {
	t.Helper()
	e := echo.New()
	s := awsproto.NewService(awsproto.ServiceConfig{Name: "belfry", EventSource: "belfry.local", Region: "us-east-1", Audit: sink{},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Verifier: &sigv4.Verifier{Keys: keys{}, Region: "us-east-1", Now: func() time.Time { return now }}})
	s.Mount(e, history.Operations(l))
	req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080/belfry/v1/history?"+query, nil)
	h := sha256.Sum256(nil)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIDAUDITOR", SecretAccessKey: "secret"},
		req, hex.EncodeToString(h[:]), "belfry", "us-east-1", now); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec.Code
}

// TestHistoryRefusesATokenBeyondThePositions: a next-token is the position of an event, which the
// read model keeps as a bigint. A decimal beyond it (2^63 and up) used to be passed on and wrapped to
// a negative position, so the "next" page was the first one again (a client paging until no token
// came back looped over the same events). It is refused with 400, as any token this API did not
// return; the tokens it returns still work.
func TestHistoryRefusesATokenBeyondThePositions(t *testing.T) {
	l := &lookup{}
	for _, tok := range []string{"9223372036854775808", "18446744073709551615"} {
		if st := get(t, l, "resource=a1&next-token="+url.QueryEscape(tok)); st != http.StatusBadRequest {
			t.Errorf("next-token %s: %d, want 400", tok, st)
		}
	}
	if len(l.afters) != 0 {
		t.Fatalf("the read model was asked for positions after %v", l.afters)
	}
	if st := get(t, l, "resource=a1&next-token=9223372036854775806"); st != http.StatusOK || len(l.afters) != 1 || l.afters[0] != 9223372036854775806 {
		t.Fatalf("the largest token: %d %v", st, l.afters)
	}
}
