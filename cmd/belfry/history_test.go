package main

import (
	"context"
	"encoding/json"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/aws/aws-sdk-go-v2/service/chime/types"
)

type historyPage struct {
	Resource  string
	NextToken string
	Events    []struct {
		Position                                          uint64
		Stream, EventType, ActorType, Actor, PrincipalArn string
		RequestId                                         string
		AuditRecord                                       *struct{ EventName, RequestID string }
	}
}

func (r *running) history(t *testing.T, query string) (int, historyPage) {
	t.Helper()
	resp := r.signedRaw(t, "GET", "/belfry/v1/history?"+query, "", "belfry")
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var p historyPage
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, p
}

// TestResourceHistory: every event about a user — created, updated, suspended through the SDK — is
// listed with the key that did it, its request id and the audit record of the call, page by page;
// an ARN names the same resource; bad parameters are refused.
func TestResourceHistory(t *testing.T) {
	t.Parallel()
	b := startBelfry(t)
	ctx := context.Background()
	acct, err := b.client.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Historians")})
	if err != nil {
		t.Fatal(err)
	}
	u, err := b.client.CreateUser(ctx, &chime.CreateUserInput{AccountId: acct.Account.AccountId, Email: aws.String("clio@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.UpdateUser(ctx, &chime.UpdateUserInput{AccountId: acct.Account.AccountId, UserId: u.User.UserId, LicenseType: types.LicenseBasic}); err != nil {
		t.Fatal(err)
	}
	userID := aws.ToString(u.User.UserId)
	var page historyPage
	deadline := time.Now().Add(20 * time.Second)
	for {
		var st int
		st, page = b.history(t, "resource="+userID)
		if st != 200 {
			t.Fatalf("history: %d", st)
		}
		if len(page.Events) >= 3 && page.Events[len(page.Events)-1].AuditRecord != nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	// CreateUser reserves the user's personal PIN (a stream named by the PIN's HMAC, owned by the user),
	// then adds the user; UpdateUser updates it.
	var types []string
	for _, e := range page.Events {
		types = append(types, e.EventType)
	}
	if got := strings.Join(types, " "); got != "chime.pin.reserved.v1 chime.account.user_added.v1 chime.account.user_updated.v1" {
		t.Fatalf("the user's history: %s\n%+v", got, page)
	}
	for i, e := range page.Events {
		if e.Actor != b.keyID || e.RequestId == "" || e.AuditRecord == nil || e.AuditRecord.RequestID != e.RequestId {
			t.Fatalf("event %d lacks who did it or its audit record: %+v", i, e)
		}
	}
	if page.Events[1].AuditRecord.EventName != "CreateUser" || page.Events[2].AuditRecord.EventName != "UpdateUser" {
		t.Fatalf("audit records: %+v", page.Events)
	}
	// One per page, then the ARN form of the account.
	st, first := b.history(t, "resource="+userID+"&max-results=1")
	if st != 200 || len(first.Events) != 1 || first.NextToken == "" {
		t.Fatalf("first page: %d %+v", st, first)
	}
	_, second := b.history(t, "resource="+userID+"&max-results=1&next-token="+first.NextToken)
	if len(second.Events) != 1 || second.Events[0].Position <= first.Events[0].Position || second.NextToken == "" {
		t.Fatalf("second page: %+v", second)
	}
	arn := "arn:aws:chime::" + b.awsAcct + ":account/" + aws.ToString(acct.Account.AccountId)
	if _, p := b.history(t, "resource="+url.QueryEscape(arn)); len(p.Events) < 3 || p.Resource != aws.ToString(acct.Account.AccountId) {
		t.Fatalf("the account's history by ARN: %+v", p)
	}
	for _, bad := range []string{"", "resource=", "resource=x&max-results=0", "resource=x&next-token=abc", "resource=a%00b"} {
		if st, _ := b.history(t, bad); st != 400 {
			t.Errorf("%q: want 400, got %d", bad, st)
		}
	}
}
