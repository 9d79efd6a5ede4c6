package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/aws/aws-sdk-go-v2/service/chime/types"

	"github.com/belfry/belfry/infra/carrier"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
)

// callUntil polls a call through the client API until its status is want.
func (r *running) callUntil(t *testing.T, tok, id, want string) map[string]any {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		st, out := r.clientCall(t, "GET", "/client/v1/calls/"+id, tok, nil)
		if st != 200 {
			t.Fatalf("get call: %d %v", st, out)
		}
		if c := out["Call"].(map[string]any); c["Status"] == want {
			return c
		}
	}
	t.Fatalf("call %s never reached %s", id, want)
	return nil
}

// cdrFiles returns the CDRs under a bucket's directory, by CDR id.
func cdrFiles(t *testing.T, dir string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".part-") { // a file still being written
			return nil
		}
		b, _ := os.ReadFile(p)
		var cdr map[string]any
		if err := json.Unmarshal(b, &cdr); err != nil {
			t.Fatalf("%s: not JSON: %v", p, err)
		}
		rel, _ := filepath.Rel(dir, p)
		cdr["_key"] = filepath.ToSlash(rel)
		out[cdr["CdrId"].(string)] = cdr
		return nil
	})
	return out
}

func waitCDRs(t *testing.T, dir string, n int) map[string]map[string]any {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got := cdrFiles(t, dir); len(got) >= n {
			return got
		}
	}
	t.Fatalf("fewer than %d CDRs in %s: %v", n, dir, cdrFiles(t, dir))
	return nil
}

// TestBusinessCallingCallsAndCDRs: guide §6-7 — a user with outbound calling calls an outside number
// (the simulated carrier answers, talks 24 s and hangs up) and another user's number (the callee
// answers, the caller hangs up); every leg's CDR lands in the CDR bucket of the global settings in
// schema 2.0 under the guide's key layout; a busy number bills nothing; with logging off no CDR is
// written; permissions, bad numbers, strangers and missing sessions are refused.
func TestBusinessCallingCallsAndCDRs(t *testing.T) {
	outbox := t.TempDir()
	b := startBelfryWith(t, func(m *Main) {
		m.cfg.MailDir = outbox
		m.Carrier = &carrier.Sim{Ring: 2 * time.Second, Talk: 24 * time.Second, Speed: 200}
	})
	ctx := context.Background()
	c := b.client
	if _, err := c.UpdateGlobalSettings(ctx, &chime.UpdateGlobalSettingsInput{BusinessCalling: &types.BusinessCallingSettings{CdrBucket: aws.String("acme-cdrs")}}); err != nil {
		t.Fatal(err)
	}
	a, _ := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Callers Inc")})
	acct := aws.ToString(a.Account.AccountId)
	alice, aliceTok := b.registeredUser(t, outbox, acct, "alice@calls.example")
	bob, bobTok := b.registeredUser(t, outbox, acct, "bob@calls.example")
	_, carolTok := b.registeredUser(t, outbox, acct, "carol@calls.example")
	found, _ := c.SearchAvailablePhoneNumbers(ctx, &chime.SearchAvailablePhoneNumbersInput{AreaCode: aws.String("206"), MaxResults: aws.Int32(2)})
	order, _ := c.CreatePhoneNumberOrder(ctx, &chime.CreatePhoneNumberOrderInput{ProductType: types.PhoneNumberProductTypeBusinessCalling, E164PhoneNumbers: found.E164PhoneNumbers})
	waitOrder(t, c, order.PhoneNumberOrder.PhoneNumberOrderId)
	numbers := map[string]string{alice: found.E164PhoneNumbers[0], bob: found.E164PhoneNumbers[1]}
	for user, n := range numbers {
		if _, err := c.AssociatePhoneNumberWithUser(ctx, &chime.AssociatePhoneNumberWithUserInput{AccountId: &acct, UserId: aws.String(user), E164PhoneNumber: aws.String(n)}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.UpdateUserSettings(ctx, &chime.UpdateUserSettingsInput{AccountId: &acct, UserId: aws.String(user),
			UserSettings: &types.UserSettings{Telephony: &types.TelephonySettings{InboundCalling: aws.Bool(true), OutboundCalling: aws.Bool(user == alice), SMS: aws.Bool(false)}}}); err != nil {
			t.Fatal(err)
		}
	}
	bucket := filepath.Join(b.m.cfg.DataDir, "reports", "acme-cdrs")

	// An outside number: the carrier answers after 2 s, talks 24 s and hangs up.
	st, out := b.clientCall(t, "POST", "/client/v1/calls", aliceTok, map[string]string{"To": "+442071838750"})
	if st != 201 {
		t.Fatalf("place: %d %v", st, out)
	}
	outside := out["Call"].(map[string]any)["CallId"].(string)
	ended := b.callUntil(t, aliceTok, outside, "Ended")
	leg := ended["Legs"].([]any)[0].(map[string]any)
	if leg["Status"] != "Ended" || leg["EndReason"] != "Completed" || leg["Direction"] != "Outbound" || leg["From"] != numbers[alice] {
		t.Fatalf("the outside call: %v", ended)
	}
	cdrs := waitCDRs(t, bucket, 1)
	cdr := cdrs[leg["LegId"].(string)]
	if cdr == nil || cdr["SchemaVersion"] != "2.0" || cdr["BillableDurationSeconds"] != "24" || cdr["BillableDurationMinutes"] != ".4" ||
		cdr["DestinationCountry"] != "GB" || cdr["CallerCountry"] != "US" || cdr["ConferencePin"] != "XXXXXXXXXX" ||
		cdr["OrganizerEmail"] != "alice@calls.example" || cdr["AwsAccountId"] != b.awsAcct || cdr["ChimeAccountId"] != acct {
		t.Fatalf("CDR: %v", cdr)
	}
	if k := cdr["_key"].(string); !strings.HasPrefix(k, "Amazon-Chime-Business-Calling-CDRs/json/"+b.awsAcct+"/") ||
		!strings.Contains(k, "/"+outside+"_") || !strings.HasSuffix(k, "_"+leg["LegId"].(string)) {
		t.Fatalf("CDR key %s", k)
	}

	// Between two users: two legs ring; bob answers; alice hangs up.
	st, out = b.clientCall(t, "POST", "/client/v1/calls", aliceTok, map[string]string{"To": numbers[bob]})
	if st != 201 || len(out["Call"].(map[string]any)["Legs"].([]any)) != 2 {
		t.Fatalf("call bob: %d %v", st, out)
	}
	internal := out["Call"].(map[string]any)["CallId"].(string)
	if st, _ := b.clientCall(t, "GET", "/client/v1/calls/"+internal, carolTok, nil); st != 404 {
		t.Fatalf("a stranger reads the call: %d", st)
	}
	if st, _ := b.clientCall(t, "POST", "/client/v1/calls/"+internal+"/answer", aliceTok, nil); st != 404 {
		t.Fatalf("the caller cannot answer its own call: %d", st)
	}
	if st, out := b.clientCall(t, "POST", "/client/v1/calls/"+internal+"/answer", bobTok, nil); st != 200 {
		t.Fatalf("bob answers: %d %v", st, out)
	}
	b.callUntil(t, bobTok, internal, "InProgress")
	if st, out := b.clientCall(t, "DELETE", "/client/v1/calls/"+internal, aliceTok, nil); st != 200 || out["Call"].(map[string]any)["Status"] != "Ended" {
		t.Fatalf("alice hangs up: %d %v", st, out)
	}
	cdrs = waitCDRs(t, bucket, 3)
	dirs := map[string]int{}
	for _, c := range cdrs {
		if c["ConferenceId"] == internal {
			dirs[c["Direction"].(string)]++
		}
	}
	if dirs["Outbound"] != 1 || dirs["Inbound"] != 1 {
		t.Fatalf("one CDR per leg of the internal call: %v", dirs)
	}

	// A busy number bills nothing.
	_, out = b.clientCall(t, "POST", "/client/v1/calls", aliceTok, map[string]string{"To": "+13125550001"})
	busy := out["Call"].(map[string]any)["CallId"].(string)
	b.callUntil(t, aliceTok, busy, "Ended")
	for _, c := range waitCDRs(t, bucket, 4) {
		if c["ConferenceId"] == busy && (c["BillableDurationSeconds"] != "0" || c["DestinationCountry"] != "US") {
			t.Fatalf("busy CDR: %v", c)
		}
	}

	// Logging off: calls go on, no CDR is written.
	if _, err := c.UpdateGlobalSettings(ctx, &chime.UpdateGlobalSettingsInput{BusinessCalling: &types.BusinessCallingSettings{CdrBucket: aws.String("")}}); err != nil {
		t.Fatal(err)
	}
	_, out = b.clientCall(t, "POST", "/client/v1/calls", aliceTok, map[string]string{"To": "+13125550001"})
	b.callUntil(t, aliceTok, out["Call"].(map[string]any)["CallId"].(string), "Ended")
	time.Sleep(500 * time.Millisecond) // the side effect runs within ~100 ms when it writes
	if n := len(cdrFiles(t, bucket)); n != 4 {
		t.Fatalf("with logging off %d CDRs exist, want the 4 written before", n)
	}

	// Refusals.
	for _, tc := range []struct {
		tok  string
		body any
		want int
	}{
		{bobTok, map[string]string{"To": "+442071838750"}, 403}, // bob has no outbound calling
		{aliceTok, map[string]string{"To": "12345"}, 400},
		{aliceTok, map[string]string{"To": "+1206555\x00"}, 400},
		{aliceTok, map[string]string{"To": numbers[alice]}, 400},
		{aliceTok, map[string]string{}, 400},
		{"", map[string]string{"To": "+442071838750"}, 401},
	} {
		if st, out := b.clientCall(t, "POST", "/client/v1/calls", tc.tok, tc.body); st != tc.want {
			t.Fatalf("place %v: %d %v, want %d", tc.body, st, out, tc.want)
		}
	}

	// `belfry reports cdrs` regenerates every call's CDRs from the log: the ones written live are
	// byte-identical, and the call made while logging was off gets its record too; a second run writes
	// nothing new.
	time.Sleep(300 * time.Millisecond) // the calls read model lists the last call
	if err := b.m.Close(); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BELFRY_DATABASE_URL", b.m.cfg.DatabaseURL)
	t.Setenv("BELFRY_DATA_DIR", b.m.cfg.DataDir)
	regen := t.TempDir()
	// The simulated carrier's clock runs 200 times faster than the wall: the outside call ended 26 s
	// after it was placed, in carrier time, which may still be in the future.
	to := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for range 2 {
		out, err := runOut(t, "reports", "cdrs", "--dir", regen, "--to", to)
		if err != nil {
			t.Fatalf("reports cdrs: %v\n%s", err, out)
		}
	}
	again := cdrFiles(t, regen)
	if len(again) != 5 {
		t.Fatalf("regenerated %d CDRs, want 5", len(again))
	}
	for id, live := range cdrFiles(t, bucket) {
		a, _ := os.ReadFile(filepath.Join(bucket, filepath.FromSlash(live["_key"].(string))))
		r, _ := os.ReadFile(filepath.Join(regen, filepath.FromSlash(live["_key"].(string))))
		if again[id] == nil || !bytes.Equal(a, r) {
			t.Fatalf("CDR %s regenerated differently:\n%s\n%s", id, a, r)
		}
	}
	if _, err := runOut(t, "reports", "cdrs", "--dir", regen, "--from", "2030-01-01T00:00:00Z", "--to", "2029-01-01T00:00:00Z"); err == nil {
		t.Fatal("an empty range must be refused")
	}
	if _, err := runOut(t, "reports", "cdrs"); err == nil {
		t.Fatal("a target is required")
	}
}

// TestCallsEndWhenBelfryStops: a call still up when the server stops is ended with reason
// ServiceRestart and billed to that moment; after a restart on the same data it reads as ended and
// its CDR is written.
func TestCallsEndWhenBelfryStops(t *testing.T) {
	t.Parallel()
	outbox := t.TempDir()
	cfg := Config{DatabaseURL: pgtest.NewDatabase(t), DataDir: t.TempDir(), EventLogAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Region: "us-east-1", MailDir: outbox,
		PasswordCost: testPasswordCost}
	start := func() (*running, *Main) {
		m := NewMain(cfg)
		var out bytes.Buffer
		m.Out, m.SweepEvery = &out, 100*time.Millisecond
		m.Carrier = &carrier.Sim{Ring: 10 * time.Millisecond, Talk: time.Hour}
		if err := m.Run(context.Background()); err != nil {
			_ = m.Close()
			t.Fatal(err)
		}
		return &running{m: m, url: "http://" + m.HTTPAddr()}, m
	}
	b, m := start()
	keys := regexp.MustCompile(`AWS_ACCESS_KEY_ID=(\S+)\s+AWS_SECRET_ACCESS_KEY=(\S+)`).FindStringSubmatch(m.Out.(*bytes.Buffer).String())
	if keys == nil {
		t.Fatalf("no first key in %q", m.Out.(*bytes.Buffer).String())
	}
	b.client = b.sdk(keys[1], keys[2], "us-east-1")
	ctx := context.Background()
	c := b.client
	if _, err := c.UpdateGlobalSettings(ctx, &chime.UpdateGlobalSettingsInput{BusinessCalling: &types.BusinessCallingSettings{CdrBucket: aws.String("acme-cdrs")}}); err != nil {
		t.Fatal(err)
	}
	a, _ := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Long talkers")})
	acct := aws.ToString(a.Account.AccountId)
	alice, tok := b.registeredUser(t, outbox, acct, "alice@long.example")
	found, _ := c.SearchAvailablePhoneNumbers(ctx, &chime.SearchAvailablePhoneNumbersInput{AreaCode: aws.String("206"), MaxResults: aws.Int32(1)})
	order, _ := c.CreatePhoneNumberOrder(ctx, &chime.CreatePhoneNumberOrderInput{ProductType: types.PhoneNumberProductTypeBusinessCalling, E164PhoneNumbers: found.E164PhoneNumbers})
	waitOrder(t, c, order.PhoneNumberOrder.PhoneNumberOrderId)
	if _, err := c.AssociatePhoneNumberWithUser(ctx, &chime.AssociatePhoneNumberWithUserInput{AccountId: &acct, UserId: &alice, E164PhoneNumber: &found.E164PhoneNumbers[0]}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateUserSettings(ctx, &chime.UpdateUserSettingsInput{AccountId: &acct, UserId: &alice,
		UserSettings: &types.UserSettings{Telephony: &types.TelephonySettings{InboundCalling: aws.Bool(true), OutboundCalling: aws.Bool(true), SMS: aws.Bool(false)}}}); err != nil {
		t.Fatal(err)
	}
	_, out := b.clientCall(t, "POST", "/client/v1/calls", tok, map[string]string{"To": "+442071838750"})
	id := out["Call"].(map[string]any)["CallId"].(string)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, out := b.clientCall(t, "GET", "/client/v1/calls/"+id, tok, nil)
		if out["Call"].(map[string]any)["Legs"].([]any)[0].(map[string]any)["Status"] == "Connected" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never connected: %v", out)
		}
	}
	// Let the calls read model list the call, then stop.
	time.Sleep(300 * time.Millisecond)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	b2, m2 := start()
	defer func() { _ = m2.Close() }()
	ended := b2.callUntil(t, tok, id, "Ended")
	if leg := ended["Legs"].([]any)[0].(map[string]any); leg["EndReason"] != "ServiceRestart" {
		t.Fatalf("the interrupted call: %v", ended)
	}
	cdrs := waitCDRs(t, filepath.Join(cfg.DataDir, "reports", "acme-cdrs"), 1)
	for _, cdr := range cdrs {
		if cdr["ConferenceId"] != id || cdr["BillableDurationSeconds"] == "" {
			t.Fatalf("CDR: %v", cdr)
		}
	}
}
