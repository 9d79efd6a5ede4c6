package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/google/uuid"

	"github.com/belfry/belfry/domain/audit"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/projections"
)

// captureStdout runs f with os.Stdout redirected and returns what it printed.
func captureStdout(t *testing.T, f func() error) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() { b, _ := io.ReadAll(r); done <- string(b) }()
	ferr := f()
	w.Close()
	os.Stdout = old
	out := <-done
	if ferr != nil {
		t.Fatalf("command failed: %v\n%s", ferr, out)
	}
	return out
}

// TestCLIBesideRunningServer drives `belfry admin` and `belfry projections` against the database and
// event log of a running server, as an operator would.
func TestCLIBesideRunningServer(t *testing.T) {
	b := startBelfry(t)
	ctx := context.Background()
	t.Setenv("BELFRY_DATABASE_URL", b.m.cfg.DatabaseURL)
	t.Setenv("BELFRY_DATA_DIR", b.m.cfg.DataDir) // the event log's credentials
	t.Setenv("BELFRY_EVENTLOG_ADDR", b.m.esAddr)

	out := captureStdout(t, func() error {
		return run(ctx, []string{"admin", "create-access-key", "--user", "ops", "--policy", "AmazonChimeFullAccess", "--json"})
	})
	var key struct{ AccessKeyId, SecretAccessKey string }
	if err := json.Unmarshal([]byte(out), &key); err != nil || key.AccessKeyId == "" || key.SecretAccessKey == "" {
		t.Fatalf("--json output %q: %v", out, err)
	}
	ops := b.sdk(key.AccessKeyId, key.SecretAccessKey, "us-east-1")
	a, err := ops.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Made by ops")})
	if err != nil {
		t.Fatalf("the new key must work at once: %v", err)
	}

	var st []projections.Status
	out = captureStdout(t, func() error { return run(ctx, []string{"projections", "status", "--json"}) })
	if err := json.Unmarshal([]byte(out), &st); err != nil || len(st) != len(allProjections())+1 { // the read models and the side-effect relay
		t.Fatalf("status %q: %v", out, err)
	}
	for _, s := range st {
		if s.Head == 0 || s.Generation != 1 {
			t.Fatalf("status row %+v", s)
		}
	}
	table := captureStdout(t, func() error { return run(ctx, []string{"projections", "status"}) })
	if !strings.Contains(table, "chime_accounts") || !strings.Contains(table, "CHECKPOINT") {
		t.Fatalf("status table:\n%s", table)
	}

	captureStdout(t, func() error { return run(ctx, []string{"projections", "rebuild", "chime_accounts"}) })
	got, err := ops.GetAccount(ctx, &chime.GetAccountInput{AccountId: a.Account.AccountId})
	if err != nil || aws.ToString(got.Account.Name) != "Made by ops" {
		t.Fatalf("after rebuild: %+v %v", got, err)
	}
	// The running server follows the switch: a write after the rebuild is readable at once.
	b2, err := ops.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("After rebuild")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ops.GetAccount(ctx, &chime.GetAccountInput{AccountId: b2.Account.AccountId}); err != nil {
		t.Fatalf("read-your-writes after the switch: %v", err)
	}
	out = captureStdout(t, func() error { return run(ctx, []string{"projections", "status", "--json"}) })
	_ = json.Unmarshal([]byte(out), &st)
	for _, s := range st {
		if s.Name == "chime_accounts" && s.Generation != 2 {
			t.Fatalf("after rebuild, generation %d", s.Generation)
		}
	}
	if err := run(ctx, []string{"projections", "rebuild", "nope"}); err == nil {
		t.Fatal("an unknown projection must be refused")
	}
	if out := captureStdout(t, func() error { return run(ctx, []string{"migrate"}) }); !strings.Contains(out, fmt.Sprintf("version %d", latestMigration(t))) {
		t.Fatalf("migrate: %q", out)
	}
	resp, err := http.Get(b.url + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestExternalEventStore runs a second Belfry with BELFRY_EVENTSTORE_URL pointing at the first one's
// log: it starts no log of its own and works through the external store.
func TestExternalEventStore(t *testing.T) {
	t.Parallel()
	first := startBelfry(t)
	// The second server is a second process of the same installation: its read models and data keys in
	// the same database, its events through BELFRY_EVENTSTORE_URL (as with a KurrentDB cluster).
	cfg := Config{PasswordCost: testPasswordCost, DatabaseURL: first.m.cfg.DatabaseURL, EventStoreURL: first.m.EmbeddedLogURL(), EventLogAddr: "127.0.0.1:0",
		HTTPAddr: "127.0.0.1:0", Region: "us-east-1"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	m := NewMain(cfg)
	var out bytes.Buffer
	m.Out = &out
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.EmbeddedLogURL() != "" || !strings.Contains(m.EventStoreDesc(), "BELFRY_EVENTSTORE_URL") {
		t.Fatalf("second server must not start a log: %q", m.EventStoreDesc())
	}
	// The IAM stream is in the log: the second server authenticates the first's key, and prints no
	// first key of its own.
	if strings.Contains(out.String(), "AWS_ACCESS_KEY_ID") {
		t.Fatalf("a server on a log that has IAM keys must not create a first key: %s", out.String())
	}
	second := &running{m: m, url: "http://" + m.HTTPAddr(), keyID: first.keyID, secret: first.secret}
	c := second.sdk(second.keyID, second.secret, "us-east-1")
	a, err := c.CreateAccount(context.Background(), &chime.CreateAccountInput{Name: aws.String("Via external store")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetAccount(context.Background(), &chime.GetAccountInput{AccountId: a.Account.AccountId}); err != nil {
		t.Fatal(err)
	}
}

// TestProjectionsStatusShowsAParkedAuditRecord replays issue 12 item 2: an audit record holding
// U+0000 (which rm.audit_records' jsonb refuses) appended straight to the running server's log used
// to stop the audit read model forever. It is parked instead: later calls' records are visible,
// `projections status` and /metrics show it, and `projections retry` keeps it parked while it still
// fails.
func TestProjectionsStatusShowsAParkedAuditRecord(t *testing.T) {
	b := startBelfry(t)
	ctx := context.Background()
	t.Setenv("BELFRY_DATABASE_URL", b.m.cfg.DatabaseURL)
	t.Setenv("BELFRY_DATA_DIR", b.m.cfg.DataDir) // the event log's credentials
	t.Setenv("BELFRY_EVENTLOG_ADDR", b.m.esAddr)

	client, err := eventstore.Connect(b.m.EmbeddedLogURL())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	poison, err := json.Marshal(audit.APICallRecorded{EventVersion: "1.08", EventTime: time.Now().UTC(), EventSource: "chime.amazonaws.com",
		EventName: "CreateAccount", RequestParameters: json.RawMessage(`{"Name":"evil\u0000"}`), ResponseElements: json.RawMessage("null"),
		RequestID: uuid.NewString(), EventID: uuid.NewString(), EventType: "AwsApiCall", HTTPStatus: 400})
	if err != nil {
		t.Fatal(err)
	}
	stream := audit.StreamPrefix + "attack"
	if _, err := client.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{}, esdb.EventData{EventID: uuid.New(),
		EventType: audit.TypeAPICallRecorded, ContentType: esdb.ContentTypeJson, Data: poison}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("After the poison")}); err != nil {
		t.Fatal(err)
	}
	if recs := b.audit(t, "CreateAccount", 1); len(recs) != 1 || !strings.Contains(string(recs[0].RequestParameters), "After the poison") {
		t.Fatalf("the audit read model must go on past the poisoned record: %+v", recs)
	}

	var st []projections.Status
	out := captureStdout(t, func() error { return run(ctx, []string{"projections", "status", "--json"}) })
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	var auditSt projections.Status
	for _, s := range st {
		if s.Name == "audit" {
			auditSt = s
		}
	}
	if auditSt.Parked != 1 || len(auditSt.ParkedEvents) != 1 || auditSt.ParkedEvents[0].StreamID != stream ||
		auditSt.ParkedEvents[0].EventType != audit.TypeAPICallRecorded || !strings.Contains(auditSt.ParkedEvents[0].Error, "22P05") {
		t.Fatalf("audit status %+v", auditSt)
	}
	table := captureStdout(t, func() error { return run(ctx, []string{"projections", "status"}) })
	if !strings.Contains(table, "audit: 1 parked event(s)") || !strings.Contains(table, `"`+stream+`"`) || !strings.Contains(table, "22P05") {
		t.Fatalf("status table:\n%s", table)
	}
	resp, err := http.Get(b.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), `belfry_projection_parked_events{projection="audit"} 1`) {
		t.Fatal("/metrics lacks belfry_projection_parked_events for audit")
	}

	// Nothing is fixed: retry reports the event as still parked, and it stays, with its new attempt.
	if err := run(ctx, []string{"projections", "retry", "audit"}); err == nil {
		t.Fatal("a retry that leaves an event parked must fail")
	}
	parked, err := projections.Parked(ctx, pgxPool(t, b), "audit", 0)
	if err != nil || len(parked) != 1 || parked[0].Attempts != 2 {
		t.Fatalf("after retry: %+v %v", parked, err)
	}
	if err := run(ctx, []string{"projections", "retry", "nope"}); err == nil {
		t.Fatal("an unknown projection must be refused")
	}
}

// TestCLIRefusesNonsenseArguments: arguments a command does not take are refused before anything
// opens, naming what was wrong — a misspelt --json printed the table, words after the projection's
// name were ignored, and a negative --catch-up-stall meant "wait for ever".
func TestCLIRefusesNonsenseArguments(t *testing.T) {
	ctx := context.Background()
	for _, args := range [][]string{
		{"projections", "status", "--jsn"},
		{"projections", "rebuild", "audit", "extra"},
		{"projections", "retry"},
		{"projections"},
		{"retention", "purge", "--catch-up-stall", "-5s"},
		{"export", "messages", "--catch-up-stall", "-1ms"},
	} {
		err := run(ctx, args)
		if err == nil || !strings.Contains(err.Error(), "usage") && !strings.Contains(err.Error(), "catch-up-stall") {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}
