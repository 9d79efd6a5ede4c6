package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/aws/aws-sdk-go-v2/service/chime/types"
)

// keyFor creates a principal's key through the CLI, with managed policies attached.
func (r *running) keyFor(t *testing.T, user string, policies ...string) *chime.Client {
	t.Helper()
	id, secret := cliKey(t, user, policies...)
	return r.sdk(id, secret, "us-east-1")
}

func wantDenied(t *testing.T, err error, action string) {
	t.Helper()
	var fe *types.ForbiddenException
	if !errors.As(err, &fe) || !strings.Contains(aws.ToString(fe.Message), "is not authorized to perform: "+action) {
		t.Fatalf("want ForbiddenException for %s, got %v", action, err)
	}
}

func TestAuthorisationPolicies(t *testing.T) {
	b := startBelfry(t)
	ctx := context.Background()
	t.Setenv("BELFRY_DATABASE_URL", b.m.cfg.DatabaseURL)
	t.Setenv("BELFRY_DATA_DIR", b.m.cfg.DataDir)
	t.Setenv("BELFRY_EVENTLOG_ADDR", b.m.esAddr)

	acct, err := b.client.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Policies")})
	if err != nil {
		t.Fatal(err)
	}
	id := acct.Account.AccountId

	reader := b.keyFor(t, "reader", "AmazonChimeReadOnly")
	if _, err := reader.ListAccounts(ctx, &chime.ListAccountsInput{}); err != nil {
		t.Fatalf("ReadOnly may list: %v", err)
	}
	_, err = reader.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("nope")})
	wantDenied(t, err, "chime:CreateAccount")

	um := b.keyFor(t, "usermgr", "AmazonChimeUserManagement")
	if _, err := um.CreateUser(ctx, &chime.CreateUserInput{AccountId: id, Email: aws.String("u@example.com")}); err != nil {
		t.Fatalf("UserManagement may create users: %v", err)
	}
	_, err = um.DeleteAccount(ctx, &chime.DeleteAccountInput{AccountId: id})
	wantDenied(t, err, "chime:DeleteAccount")

	nobody := b.keyFor(t, "nobody")
	_, err = nobody.GetAccount(ctx, &chime.GetAccountInput{AccountId: id})
	wantDenied(t, err, "chime:GetAccount")

	// Explicit deny wins over FullAccess.
	ops := b.keyFor(t, "ops", "AmazonChimeFullAccess")
	doc := filepath.Join(t.TempDir(), "deny.json")
	if err := os.WriteFile(doc, []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"chime:Delete*","Resource":"*"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	captureStdout(t, func() error {
		return run(ctx, []string{"admin", "put-user-policy", "--user", "ops", "--name", "NoDeletes", "--document", doc})
	})
	other, err := ops.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Ops made")})
	if err != nil {
		t.Fatalf("FullAccess may create: %v", err)
	}
	_, err = ops.DeleteAccount(ctx, &chime.DeleteAccountInput{AccountId: other.Account.AccountId})
	wantDenied(t, err, "chime:DeleteAccount")
	if err := run(ctx, []string{"admin", "put-user-policy", "--user", "ops", "--name", "Bad", "--document", "/dev/null"}); err == nil {
		t.Fatal("an invalid policy document must be refused")
	}
	if err := run(ctx, []string{"admin", "attach-policy", "--user", "ops", "--policy", "NoSuchPolicy"}); err == nil {
		t.Fatal("an unknown managed policy must be refused")
	}
	listed := captureStdout(t, func() error { return run(ctx, []string{"admin", "list-user-policies", "--user", "ops"}) })
	if !strings.Contains(listed, "AmazonChimeFullAccess") || !strings.Contains(listed, "NoDeletes") {
		t.Fatalf("list-user-policies: %s", listed)
	}

	// Key management: a deactivated key stops working (within the 2 s key cache), an activated one works again.
	keys := captureStdout(t, func() error { return run(ctx, []string{"admin", "list-access-keys", "--user", "reader"}) })
	var meta struct {
		AccessKeyMetadata []struct{ AccessKeyId, Status string }
	}
	if err := json.Unmarshal([]byte(keys), &meta); err != nil || len(meta.AccessKeyMetadata) != 1 || meta.AccessKeyMetadata[0].Status != "Active" {
		t.Fatalf("list-access-keys: %s %v", keys, err)
	}
	readerKey := meta.AccessKeyMetadata[0].AccessKeyId
	captureStdout(t, func() error { return run(ctx, []string{"admin", "deactivate-access-key", "--key", readerKey}) })
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := reader.ListAccounts(ctx, &chime.ListAccountsInput{})
		if err != nil {
			apiErr(t, err, "UnrecognizedClientException", 403)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a deactivated key kept working")
		}
		time.Sleep(100 * time.Millisecond)
	}

	captureStdout(t, func() error { return run(ctx, []string{"admin", "activate-access-key", "--key", readerKey}) })
	deadline = time.Now().Add(10 * time.Second)
	for {
		if _, err := reader.ListAccounts(ctx, &chime.ListAccountsInput{}); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a re-activated key must work again")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Detaching the last policy leaves the implicit deny.
	captureStdout(t, func() error {
		return run(ctx, []string{"admin", "detach-policy", "--user", "reader", "--policy", "AmazonChimeReadOnly"})
	})
	deadline = time.Now().Add(10 * time.Second)
	for {
		_, err := reader.ListAccounts(ctx, &chime.ListAccountsInput{})
		if err != nil {
			wantDenied(t, err, "chime:ListAccounts")
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a detached policy kept granting access")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Denied calls are audited with the error.
	recs := b.audit(t, "DeleteAccount", 2)
	denied := 0
	for _, r := range recs {
		if r.ErrorCode == "ForbiddenException" && strings.Contains(r.ErrorMessage, "not authorized") {
			denied++
		}
	}
	if denied != 2 {
		t.Fatalf("want 2 denied DeleteAccount records, got %+v", recs)
	}
}
