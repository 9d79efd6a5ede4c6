package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/aws/aws-sdk-go-v2/service/chime/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/belfry/belfry/projections"
)

// asOf sends the snapshot header with one SDK call: the middleware an auditor adds to the official SDK.
func asOf(name string) func(*chime.Options) {
	return chime.WithAPIOptions(smithyhttp.AddHeaderValue("X-Belfry-Snapshot", name))
}

// figures are the answers an auditor compares: one account, the caller's accounts, one account's
// users and one user.
func figures(t *testing.T, c *chime.Client, acct, user string, opts ...func(*chime.Options)) string {
	t.Helper()
	ctx := context.Background()
	a, err := c.GetAccount(ctx, &chime.GetAccountInput{AccountId: aws.String(acct)}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	all, err := c.ListAccounts(ctx, &chime.ListAccountsInput{}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	us, err := c.ListUsers(ctx, &chime.ListUsersInput{AccountId: aws.String(acct)}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	u, err := c.GetUser(ctx, &chime.GetUserInput{AccountId: aws.String(acct), UserId: aws.String(user)}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.MarshalIndent(map[string]any{"Account": a.Account, "Accounts": all.Accounts, "Users": us.Users, "User": u.User}, "", " ")
	return string(b)
}

func (r *running) snapshotCall(t *testing.T, method, path, body string) (int, projections.Snapshot, string) {
	t.Helper()
	resp := r.signedRaw(t, method, path, body, "belfry")
	b, _ := io.ReadAll(resp.Body)
	var out struct{ Snapshot projections.Snapshot }
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out.Snapshot, string(b)
}

// TestSnapshotAsOfTAnswersAsTheLiveModelDidAtT: figures are taken through the SDK at T, the state
// changes (an account renamed, another deleted, a user suspended (which removes it from a Team account), another updated, one more added), then a
// snapshot as of T, built through POST /belfry/v1/snapshots, answers the same figures to the SDK
// sending X-Belfry-Snapshot; mutating calls, unknown and unfinished snapshots are refused; two
// replays of T by the CLI export byte-identical files.
func TestSnapshotAsOfTAnswersAsTheLiveModelDidAtT(t *testing.T) {
	b := startBelfry(t)
	ctx := context.Background()
	a, err := b.client.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Auditees")})
	if err != nil {
		t.Fatal(err)
	}
	gone, err := b.client.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Gone later")})
	if err != nil {
		t.Fatal(err)
	}
	acct := aws.ToString(a.Account.AccountId)
	var users, pins []string
	for _, e := range []string{"ada@example.com", "bob@example.com"} {
		u, err := b.client.CreateUser(ctx, &chime.CreateUserInput{AccountId: aws.String(acct), Email: aws.String(e)})
		if err != nil {
			t.Fatal(err)
		}
		users, pins = append(users, aws.ToString(u.User.UserId)), append(pins, aws.ToString(u.User.PersonalPIN))
	}
	atT := figures(t, b.client, acct, users[1])
	T := time.Now().UTC()
	time.Sleep(20 * time.Millisecond) // later events are stamped after T

	if _, err := b.client.UpdateAccount(ctx, &chime.UpdateAccountInput{AccountId: aws.String(acct), Name: aws.String("Renamed after T")}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.DeleteAccount(ctx, &chime.DeleteAccountInput{AccountId: gone.Account.AccountId}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.BatchSuspendUser(ctx, &chime.BatchSuspendUserInput{AccountId: aws.String(acct), UserIdList: users[:1]}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.UpdateUser(ctx, &chime.UpdateUserInput{AccountId: aws.String(acct), UserId: aws.String(users[1]), LicenseType: types.LicenseBasic}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.CreateUser(ctx, &chime.CreateUserInput{AccountId: aws.String(acct), Email: aws.String("cyd@example.com")}); err != nil {
		t.Fatal(err)
	}
	if now := figures(t, b.client, acct, users[1]); now == atT {
		t.Fatal("the live figures must have changed")
	}

	// Bad requests register nothing.
	for _, body := range []string{`{}`, `{"AsOf":"2001-01-01T00:00:00Z"}`, `{"AsOf":"` + time.Now().Add(time.Hour).Format(time.RFC3339) + `"}`,
		`{"AsOf":"not a time"}`, `{"AsOf":"99999999"}`, `{"AsOf":"1","Name":"Bad Name"}`} {
		if st, _, msg := b.snapshotCall(t, "POST", "/belfry/v1/snapshots", body); st != 400 {
			t.Errorf("%s: want 400, got %d %s", body, st, msg)
		}
	}
	st, sn, msg := b.snapshotCall(t, "POST", "/belfry/v1/snapshots", `{"AsOf":"`+T.Format(time.RFC3339Nano)+`","Name":"audit_t"}`)
	if st != 202 || sn.Name != "audit_t" || sn.TargetPosition == 0 {
		t.Fatalf("create: %d %s", st, msg)
	}
	deadline := time.Now().Add(60 * time.Second)
	for sn.Status != projections.SnapshotReady {
		if sn.Status == projections.SnapshotFailed || time.Now().After(deadline) {
			t.Fatalf("snapshot: %+v", sn)
		}
		time.Sleep(50 * time.Millisecond)
		_, sn, _ = b.snapshotCall(t, "GET", "/belfry/v1/snapshots/audit_t", "")
	}
	// Removing ada destroyed her key (crypto-shredding): a replay shows her as she was at T, but
	// her sealed PIN stays unreadable, as every credential of a removed user does.
	atT = strings.Replace(atT, `"PersonalPIN": "`+pins[0]+`"`, `"PersonalPIN": null`, 1)
	if got := figures(t, b.client, acct, users[1], asOf("audit_t")); got != atT {
		t.Fatalf("as of T through the snapshot:\n%s\nat T:\n%s", got, atT)
	}

	// Snapshots are read-only; unknown and unfinished ones are refused.
	_, err = b.client.UpdateAccount(ctx, &chime.UpdateAccountInput{AccountId: aws.String(acct), Name: aws.String("x")}, asOf("audit_t"))
	apiErr(t, err, "BadRequestException", 400)
	_, err = b.client.GetAccount(ctx, &chime.GetAccountInput{AccountId: aws.String(acct)}, asOf("nope"))
	apiErr(t, err, "NotFoundException", 404)
	if _, err := pgxPool(t, b).Exec(ctx, `INSERT INTO projections.snapshots (name, target_position) VALUES ('half', 1)`); err != nil {
		t.Fatal(err)
	}
	_, err = b.client.GetAccount(ctx, &chime.GetAccountInput{AccountId: aws.String(acct)}, asOf("half"))
	apiErr(t, err, "ConflictException", 409)

	// The CLI: two replays of T export the same bytes.
	t.Setenv("BELFRY_DATABASE_URL", b.m.cfg.DatabaseURL)
	t.Setenv("BELFRY_DATA_DIR", b.m.cfg.DataDir)
	t.Setenv("BELFRY_EVENTLOG_ADDR", b.m.esAddr)
	dirs := []string{t.TempDir(), t.TempDir()}
	for i, name := range []string{"cli_one", "cli_two"} {
		captureStdout(t, func() error {
			return run(ctx, []string{"replay", "--as-of", T.Format(time.RFC3339Nano), "--name", name, "--out", dirs[i]})
		})
	}
	files, _ := filepath.Glob(filepath.Join(dirs[0], "*.jsonl"))
	if len(files) < len(allProjections()) {
		t.Fatalf("exported files: %v", files)
	}
	for _, f := range files {
		one, _ := os.ReadFile(f)
		two, err := os.ReadFile(filepath.Join(dirs[1], filepath.Base(f)))
		if err != nil || !bytes.Equal(one, two) {
			t.Fatalf("%s differs between two replays of T (%v)", filepath.Base(f), err)
		}
	}
	accounts, _ := os.ReadFile(filepath.Join(dirs[0], "chime_accounts.jsonl"))
	if !bytes.Contains(accounts, []byte(`"Gone later"`)) || bytes.Contains(accounts, []byte("Renamed after T")) {
		t.Fatalf("chime_accounts as of T:\n%s", accounts)
	}
	if err := run(ctx, []string{"replay", "--as-of", time.Now().Add(time.Hour).Format(time.RFC3339)}); err == nil {
		t.Fatal("a replay as of the future must be refused")
	}

	if st, _, msg := b.snapshotCall(t, "DELETE", "/belfry/v1/snapshots/audit_t", ""); st != 204 {
		t.Fatalf("delete: %d %s", st, msg)
	}
	if st, _, _ := b.snapshotCall(t, "GET", "/belfry/v1/snapshots/audit_t", ""); st != 404 {
		t.Fatalf("a deleted snapshot: %d", st)
	}
	resp := b.signedRaw(t, "GET", "/belfry/v1/snapshots", "", "belfry")
	var list struct{ Snapshots []projections.Snapshot }
	_ = json.NewDecoder(resp.Body).Decode(&list)
	if len(list.Snapshots) != 3 { // cli_one, cli_two, half
		t.Fatalf("snapshots: %+v", list.Snapshots)
	}
}

// TestWickrReadsFromASnapshot: a Wickr network renamed after T reads with its old name through a
// snapshot as of T (GetNetwork with X-Belfry-Snapshot), and UpdateNetwork with the header is refused.
func TestWickrReadsFromASnapshot(t *testing.T) {
	t.Parallel()
	b := startBelfry(t)
	wickr := func(method, path, body, snapshot string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, b.url+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if snapshot != "" {
			req.Header.Set("X-Belfry-Snapshot", snapshot)
		}
		h := sha256.Sum256([]byte(body))
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: b.keyID, SecretAccessKey: b.secret},
			req, hex.EncodeToString(h[:]), "wickr", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	st, created := wickr("POST", "/networks", `{"networkName":"Field Ops","accessLevel":"STANDARD"}`, "")
	if st != 200 {
		t.Fatalf("CreateNetwork: %d %v", st, created)
	}
	id := created["networkId"].(string)
	time.Sleep(20 * time.Millisecond)
	T := time.Now()
	time.Sleep(20 * time.Millisecond)
	if st, out := wickr("PATCH", "/networks/"+id, `{"networkName":"Renamed Ops"}`, ""); st != 200 {
		t.Fatalf("UpdateNetwork: %d %v", st, out)
	}
	st, sn, msg := b.snapshotCall(t, "POST", "/belfry/v1/snapshots", `{"AsOf":"`+T.Format(time.RFC3339Nano)+`","Name":"wickr_t"}`)
	if st != 202 {
		t.Fatalf("create snapshot: %d %s", st, msg)
	}
	deadline := time.Now().Add(60 * time.Second)
	for sn.Status != projections.SnapshotReady {
		if sn.Status == projections.SnapshotFailed || time.Now().After(deadline) {
			t.Fatalf("snapshot: %+v", sn)
		}
		time.Sleep(50 * time.Millisecond)
		_, sn, _ = b.snapshotCall(t, "GET", "/belfry/v1/snapshots/wickr_t", "")
	}
	if st, live := wickr("GET", "/networks/"+id, "", ""); st != 200 || live["networkName"] != "Renamed Ops" {
		t.Fatalf("live GetNetwork: %d %v", st, live)
	}
	if st, old := wickr("GET", "/networks/"+id, "", "wickr_t"); st != 200 || old["networkName"] != "Field Ops" {
		t.Fatalf("GetNetwork as of T: %d %v", st, old)
	}
	if st, out := wickr("PATCH", "/networks/"+id, `{"networkName":"Nope"}`, "wickr_t"); st != 400 {
		t.Fatalf("a mutation through a snapshot must be refused: %d %v", st, out)
	}
}
