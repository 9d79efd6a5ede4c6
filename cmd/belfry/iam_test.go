package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/audit"
	domainiam "github.com/belfry/belfry/domain/belfry/iam"
	"github.com/belfry/belfry/domain/envelope"
	"github.com/belfry/belfry/infra/iam"
	"github.com/belfry/belfry/infra/migrations"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
)

// cliKey creates a key through the CLI and returns its id and secret.
func cliKey(t *testing.T, user string, policies ...string) (string, string) {
	t.Helper()
	args := []string{"admin", "create-access-key", "--user", user, "--json"}
	for _, p := range policies {
		args = append(args, "--policy", p)
	}
	out := captureStdout(t, func() error { return run(context.Background(), args) })
	var key struct{ AccessKeyId, SecretAccessKey string }
	if err := json.Unmarshal([]byte(out), &key); err != nil {
		t.Fatal(err)
	}
	return key.AccessKeyId, key.SecretAccessKey
}

// accessKey creates an access key for user with the managed policies through the running server's
// IAM administration (what `belfry admin create-access-key` does), without the CLI's environment, so
// that parallel tests can use it.
func (r *running) accessKey(t *testing.T, user string, policies ...string) (string, string) {
	t.Helper()
	k, err := r.m.iam.svc.CreateAccessKey(context.Background(), user, policies)
	if err != nil {
		t.Fatal(err)
	}
	return k.AccessKeyID, k.SecretAccessKey
}

// waitRefused waits (bounded) until a call with the client is refused as an unknown key.
func waitRefused(t *testing.T, c *chime.Client, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := c.ListAccounts(context.Background(), &chime.ListAccountsInput{})
		if err != nil {
			apiErr(t, err, "UnrecognizedClientException", 403)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s kept working", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestIAMChangesAreAuditedEvents runs every IAM change through the CLI beside a running server and
// checks that each is an event on the IAM stream stamped with the operator, each call (a refused one
// too) has its audit record with the operator as identity, no secret access key is anywhere in the
// log, and a deleted key stops authenticating with its secret's key destroyed.
func TestIAMChangesAreAuditedEvents(t *testing.T) {
	b := startBelfry(t)
	ctx := context.Background()
	t.Setenv("BELFRY_DATABASE_URL", b.m.cfg.DatabaseURL)
	t.Setenv("BELFRY_DATA_DIR", b.m.cfg.DataDir)
	t.Setenv("BELFRY_EVENTLOG_ADDR", b.m.esAddr)

	opsID, opsSecret := cliKey(t, "ops", "AmazonChimeReadOnly")
	ops := b.sdk(opsID, opsSecret, "us-east-1")
	if _, err := ops.ListAccounts(ctx, &chime.ListAccountsInput{}); err != nil {
		t.Fatalf("a new ReadOnly key lists at once: %v", err)
	}
	doc := filepath.Join(t.TempDir(), "p.json")
	if err := os.WriteFile(doc, []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"chime:Delete*","Resource":"*"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	steps := [][]string{
		{"attach-policy", "--user", "ops", "--policy", "AmazonChimeFullAccess"},
		{"put-user-policy", "--user", "ops", "--name", "NoDeletes", "--document", doc},
		{"detach-policy", "--user", "ops", "--policy", "AmazonChimeFullAccess"},
		{"deactivate-access-key", "--key", opsID},
		{"activate-access-key", "--key", opsID},
		{"delete-access-key", "--key", opsID},
	}
	for _, s := range steps {
		captureStdout(t, func() error { return run(ctx, append([]string{"admin"}, s...)) })
	}
	if err := run(ctx, []string{"admin", "attach-policy", "--user", "ops", "--policy", "NoSuchPolicy"}); err == nil {
		t.Fatal("an unknown managed policy must be refused")
	}
	if err := run(ctx, []string{"admin", "activate-access-key", "--key", opsID}); err == nil {
		t.Fatal("a deleted key cannot be activated")
	}
	waitRefused(t, ops, "a deleted key")

	// The IAM stream: every change, in order, stamped with the operator.
	op := shellOperator()
	var types []string
	for _, e := range b.readAll(t) {
		if e.stream != domainiam.Stream {
			continue
		}
		types = append(types, strings.TrimSuffix(strings.TrimPrefix(e.typ, "belfry.iam."), ".v1"))
		env := envelope.Parse(e.meta)
		if env.Actor != op.Name || env.RequestID == "" {
			t.Errorf("%s: envelope %+v does not name the operator %s", e.typ, env, op.Name)
		}
	}
	want := "principal_created access_key_created policy_attached " + // the first admin key at start
		"principal_created access_key_created policy_attached policy_attached policy_attached policy_detached " +
		"access_key_status_changed access_key_status_changed access_key_deleted"
	if got := strings.Join(types, " "); got != want {
		t.Fatalf("IAM stream:\n got %s\nwant %s", got, want)
	}

	// The audit trail: one record per call, with the operator as identity.
	for name, n := range map[string]int{"CreateAccessKey": 2, "AttachUserPolicy": 2, "PutUserPolicy": 1,
		"DetachUserPolicy": 1, "UpdateAccessKey": 3, "DeleteAccessKey": 1} {
		recs := b.audit(t, name, n)
		if len(recs) != n {
			t.Fatalf("%s: want %d audit records, got %d", name, n, len(recs))
		}
		for _, r := range recs {
			if r.EventSource != "iam.amazonaws.com" || r.UserIdentity.Type != "Root" || r.UserIdentity.UserName != op.Name ||
				r.RecipientAccountID != b.awsAcct {
				t.Errorf("%s record: %+v", name, r)
			}
		}
		if name == "AttachUserPolicy" && failedRecords(recs, "ValidationError") != 1 {
			t.Errorf("the refused AttachUserPolicy is audited with its error: %+v", recs)
		}
		if name == "UpdateAccessKey" && failedRecords(recs, "NoSuchEntity") != 1 {
			t.Errorf("activating a deleted key is audited as NoSuchEntity: %+v", recs)
		}
	}
	for _, r := range b.audit(t, "CreateAccessKey", 2) {
		if strings.Contains(string(r.ResponseElements), opsSecret) || strings.Contains(string(r.ResponseElements), b.secret) {
			t.Fatalf("a secret in an audit record: %s", r.ResponseElements)
		}
	}
	assertNoSecret(t, b.readAll(t), map[string]string{"first admin secret": b.secret, "ops secret": opsSecret})

	pool, err := pgxpool.New(ctx, b.m.cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var destroyed bool
	if err := pool.QueryRow(ctx, `SELECT key IS NULL FROM keys.subject_keys WHERE key_id = $1`,
		domain.SubjectKeyID(domainiam.Tenant, domainiam.KeySubject(opsID))).Scan(&destroyed); err != nil || !destroyed {
		t.Fatalf("the deleted key's subject key must be destroyed: %v %v", destroyed, err)
	}
}

func failedRecords(recs []audit.APICallRecorded, code string) int {
	n := 0
	for _, r := range recs {
		if r.ErrorCode == code {
			n++
		}
	}
	return n
}

// TestIAMTablesOfAnOlderVersionAreImported fills the IAM tables as a version before IAM was
// event-sourced left them (secrets in clear), starts Belfry on that database, and checks that the
// keys authenticate as before, the tables are gone, the import happened once, and no secret is in
// clear in the log.
func TestIAMTablesOfAnOlderVersionAreImported(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(t)
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := migrations.Apply(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if err := iam.Init(ctx, pool); err != nil {
		t.Fatal(err)
	}
	const (
		liveID, liveSecret = "AKIAOLDKEYAAAAAAAAAA", "old-secret-in-clear-0123456789abcdef"
		deadID, deadSecret = "AKIAOLDKEYBBBBBBBBBB", "old-inactive-secret-0123456789abcdef"
	)
	if _, err := pool.Exec(ctx, `
		INSERT INTO iam.principals (name, principal_id) VALUES ('veteran', 'AIDAOLDPRINCIPAL2345');
		INSERT INTO iam.access_keys (access_key_id, secret, principal, active) VALUES
			('`+liveID+`', '`+liveSecret+`', 'veteran', true), ('`+deadID+`', '`+deadSecret+`', 'veteran', false);
		INSERT INTO iam.principal_policies (principal, policy_name, managed) VALUES ('veteran', 'AmazonChimeFullAccess', true);
		INSERT INTO iam.principal_policies (principal, policy_name, managed, document) VALUES
			('veteran', 'NoDeletes', false, '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"chime:Delete*","Resource":"*"}]}');`); err != nil {
		t.Fatal(err)
	}
	cfg := Config{PasswordCost: testPasswordCost, DatabaseURL: dbURL, DataDir: t.TempDir(), EventLogAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Region: "us-east-1"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var iamEvents int
	for round := range 2 { // the second start must not import again
		m := NewMain(cfg)
		var out bytes.Buffer
		m.Out = &out
		if err := m.Run(ctx); err != nil {
			_ = m.Close()
			t.Fatal(err)
		}
		r := &running{m: m, url: "http://" + m.HTTPAddr()}
		if strings.Contains(out.String(), "AWS_ACCESS_KEY_ID") {
			t.Errorf("round %d: no first key where keys exist: %s", round, out.String())
		}
		vet := r.sdk(liveID, liveSecret, "us-east-1")
		if _, err := vet.ListAccounts(ctx, &chime.ListAccountsInput{}); err != nil {
			t.Fatalf("round %d: the imported key must work: %v", round, err)
		}
		if _, err := vet.DeleteAccount(ctx, &chime.DeleteAccountInput{AccountId: new("00000000-0000-0000-0000-000000000000")}); err == nil {
			t.Fatalf("round %d: the imported inline Deny must apply", round)
		} else {
			wantDenied(t, err, "chime:DeleteAccount")
		}
		waitRefused(t, r.sdk(deadID, deadSecret, "us-east-1"), "an imported inactive key")
		events := r.readAll(t)
		assertNoSecret(t, events, map[string]string{"live secret": liveSecret, "inactive secret": deadSecret})
		n := 0
		for _, e := range events {
			if e.stream == domainiam.Stream {
				n++
			}
		}
		if round == 1 && n != iamEvents {
			t.Fatalf("a second start imported again: %d IAM events, then %d", iamEvents, n)
		}
		iamEvents = n
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if iamEvents != 6 { // principal, 2 keys, 1 deactivation, 2 policies
		t.Fatalf("want 6 imported IAM events, got %d", iamEvents)
	}
	var left bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('iam.access_keys') IS NOT NULL`).Scan(&left); err != nil || left {
		t.Fatalf("the old tables with secrets in clear must be gone: %v %v", left, err)
	}
}
