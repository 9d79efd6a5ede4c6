package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/chime"

	"github.com/belfry/belfry/domain/audit"
)

// auditByRequest polls the audit API until the record of request id appears.
func (r *running) auditByRequest(t *testing.T, name, requestID string) audit.APICallRecorded {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for _, rec := range r.audit(t, name, 1) {
			if rec.RequestID == requestID {
				return rec
			}
		}
	}
	t.Fatalf("no %s record for request %s", name, requestID)
	return audit.APICallRecorded{}
}

// TestAuditUnroutedPathsAreAuthenticatedAndAudited: a signed request to a path no operation serves (a
// Chime operation not built, a typo, a method the path lacks) is verified, answered 404
// UnknownOperationException and audited with its caller; an unsigned one is refused and audited in the
// unauthenticated lane; the client API keeps its plain 404.
func TestAuditUnroutedPathsAreAuthenticatedAndAudited(t *testing.T) {
	t.Parallel()
	b := startBelfry(t)
	for _, c := range []struct{ method, path, service string }{
		{"POST", "/voice-connectors", "chime"},          // a Chime operation Belfry does not serve
		{"GET", "/accounts/x/nothing-here", "chime"},    // no route
		{"PATCH", "/accounts", "chime"},                 // a known path, an unknown method (echo's 405)
		{"GET", "/belfry/v1/audit-records/x", "belfry"}, // under the belfry API
	} {
		resp := b.signedRaw(t, c.method, c.path, `{}`, c.service)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 404 || resp.Header.Get("X-Amzn-ErrorType") != "UnknownOperationException" {
			t.Fatalf("%s %s: %d %s %s", c.method, c.path, resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), body)
		}
		rec := b.auditByRequest(t, "UnknownOperation", resp.Header.Get("x-amzn-RequestId"))
		if rec.UserIdentity.AccessKeyID != b.keyID || rec.UserIdentity.ARN == "" || rec.ErrorCode != "UnknownOperationException" ||
			!strings.Contains(rec.ErrorMessage, c.method+" "+c.path) || rec.HTTPStatus != 404 {
			t.Fatalf("record of %s %s: %+v", c.method, c.path, rec)
		}
		if want := map[string]string{"chime": "chime.amazonaws.com", "belfry": "belfry.local"}[c.service]; rec.EventSource != want {
			t.Fatalf("record of %s %s: event source %s, want %s", c.method, c.path, rec.EventSource, want)
		}
	}
	resp, err := http.Post(b.url+"/meetings", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 || resp.Header.Get("X-Amzn-ErrorType") != "MissingAuthenticationTokenException" {
		t.Fatalf("unsigned request to an unrouted path: %d %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
	}
	rec := b.auditByRequest(t, "UnknownOperation", resp.Header.Get("x-amzn-RequestId"))
	if rec.UserIdentity.Type != "Unknown" || rec.ErrorCode != "MissingAuthenticationTokenException" {
		t.Fatalf("record of the unsigned request: %+v", rec)
	}
	resp, err = http.Get(b.url + "/client/v1/nothing-here")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 || resp.Header.Get("x-amzn-RequestId") != "" {
		t.Fatalf("client API unknown path: %d", resp.StatusCode)
	}
}

// TestAuditRecordsHideSecrets: the bot security tokens of CreateBot and RegenerateSecurityToken and the
// PIN of ResetPersonalPIN reach their callers but no audit record.
func TestAuditRecordsHideSecrets(t *testing.T) {
	t.Parallel()
	dnsSrv := startDNS(t)
	b := startBelfryWith(t, func(m *Main) { m.cfg.DNSResolver = dnsSrv.addr })
	ctx := context.Background()
	c := b.client
	a, err := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Secrets Inc")})
	if err != nil {
		t.Fatal(err)
	}
	acct := a.Account.AccountId
	b.claimDomain(t, dnsSrv, aws.ToString(acct), "secrets.example")
	bot, err := c.CreateBot(ctx, &chime.CreateBotInput{AccountId: acct, DisplayName: aws.String("keeper"), Domain: aws.String("secrets.example")})
	if err != nil {
		t.Fatal(err)
	}
	regen, err := c.RegenerateSecurityToken(ctx, &chime.RegenerateSecurityTokenInput{AccountId: acct, BotId: bot.Bot.BotId})
	if err != nil {
		t.Fatal(err)
	}
	u, err := c.CreateUser(ctx, &chime.CreateUserInput{AccountId: acct, Email: aws.String("pin@secrets.example")})
	if err != nil {
		t.Fatal(err)
	}
	pin, err := c.ResetPersonalPIN(ctx, &chime.ResetPersonalPINInput{AccountId: acct, UserId: u.User.UserId})
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{aws.ToString(bot.Bot.SecurityToken), aws.ToString(regen.Bot.SecurityToken), aws.ToString(pin.User.PersonalPIN)}
	for _, s := range secrets {
		if len(s) < 4 {
			t.Fatalf("secrets %q: the test needs real values", secrets)
		}
	}
	for _, name := range []string{"CreateBot", "RegenerateSecurityToken", "ResetPersonalPIN"} {
		recs := b.audit(t, name, 1)
		if len(recs) != 1 || !strings.Contains(string(recs[0].ResponseElements), audit.Hidden) {
			t.Fatalf("%s records: %+v", name, recs)
		}
	}
	resp := b.signedRaw(t, "GET", "/belfry/v1/audit-records?max-results=1000", "", "belfry")
	all, _ := io.ReadAll(resp.Body)
	var stored int
	if err := pgxQueryRow(t, b, "SELECT count(*) FROM rm.audit_records", &stored); err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if strings.Contains(string(all), s) {
			t.Errorf("secret %q readable through GET /belfry/v1/audit-records", s)
		}
		var n int
		if err := pgxQueryRow(t, b, fmt.Sprintf("SELECT count(*) FROM rm.audit_records WHERE strpos(record::text, '%s') > 0", s), &n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("secret %q in %d of %d stored audit records", s, n, stored)
		}
	}
}

// TestAuditOversizedUnauthenticatedBodyHarmsNoOtherRecord: a ~1 MB unauthenticated body of '<' is
// recorded bounded, and the signed calls made meanwhile all keep their records.
func TestAuditOversizedUnauthenticatedBodyHarmsNoOtherRecord(t *testing.T) {
	t.Parallel()
	b := startBelfry(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ids []string
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 5 {
				out, err := b.client.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String(fmt.Sprintf("Beside %d-%d", i, j))})
				if err != nil {
					t.Error(err)
					return
				}
				id, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
				mu.Lock()
				ids = append(ids, id)
				mu.Unlock()
			}
		}()
	}
	body := `{"Name":"` + strings.Repeat("<", 1_000_000) + `"}`
	resp, err := http.Post(b.url+"/accounts", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	wg.Wait()
	big := b.auditByRequest(t, "CreateAccount", resp.Header.Get("x-amzn-RequestId"))
	if string(big.RequestParameters) != "null" || big.AdditionalEventData == nil || big.AdditionalEventData.Truncated[0].Member != "requestParameters" ||
		big.AdditionalEventData.Truncated[0].Bytes < 1_000_000 {
		t.Fatalf("the oversized record: params %.60s, additionalEventData %+v", big.RequestParameters, big.AdditionalEventData)
	}
	for _, id := range ids {
		b.auditByRequest(t, "CreateAccount", id)
	}
	m, err := http.Get(b.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(m.Body)
	m.Body.Close()
	if !strings.Contains(string(metrics), `belfry_audit_records_dropped_total{reason="unauthenticated_lane_full"} 0`) {
		t.Fatal("/metrics lacks belfry_audit_records_dropped_total")
	}
}
