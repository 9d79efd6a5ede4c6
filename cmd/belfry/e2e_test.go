package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/aws/aws-sdk-go-v2/service/chime/types"
	"github.com/aws/smithy-go"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"

	"github.com/belfry/belfry/domain/audit"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
)

func TestMain(m *testing.M) {
	if os.Getenv(childServeEnv) != "" { // this test binary, started by a test as `belfry serve`
		os.Exit(childServe())
	}
	pgtest.Main(m)
}

type running struct {
	m       *Main
	url     string
	keyID   string
	secret  string
	awsAcct string
	client  *chime.Client
}

func startBelfry(t *testing.T) *running {
	t.Helper()
	return startBelfryWith(t, nil)
}

// startBelfryWith lets a test adjust Main (e.g. its clock) before it runs.
// testPasswordCost is the bcrypt cost of the servers tests start: bcrypt's minimum. Under the race
// detector the default cost (10) takes about a second a hash, and the tests register and sign in
// hundreds of users; what the cost itself changes (the dummy hash's equal work) is checked in
// api/chime/client and by TestSignInBacksOffAndDoesEqualWork whatever the cost.
const testPasswordCost = bcrypt.MinCost

func startBelfryWith(t *testing.T, adjust func(*Main)) *running {
	t.Helper()
	cfg := Config{DatabaseURL: pgtest.NewDatabase(t), DataDir: t.TempDir(), EventLogAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Region: "us-east-1",
		PasswordCost: testPasswordCost}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	m := NewMain(cfg)
	var out bytes.Buffer
	m.Out = &out
	if adjust != nil {
		adjust(m)
	}
	if err := m.Run(context.Background()); err != nil {
		_ = m.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
	})
	r := &running{m: m, url: "http://" + m.HTTPAddr()}
	r.keyID = regexp.MustCompile(`AWS_ACCESS_KEY_ID=(\S+)`).FindStringSubmatch(out.String())[1]
	r.secret = regexp.MustCompile(`AWS_SECRET_ACCESS_KEY=(\S+)`).FindStringSubmatch(out.String())[1]
	r.awsAcct = regexp.MustCompile(`AWS account id: (\d{12})`).FindStringSubmatch(out.String())[1]
	r.client = r.sdk(r.keyID, r.secret, "us-east-1")
	resp, err := http.Get(r.url + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", resp, err)
	}
	resp.Body.Close()
	return r
}

func (r *running) sdk(key, secret, region string) *chime.Client {
	return chime.New(chime.Options{
		Region:       region,
		BaseEndpoint: aws.String(r.url),
		Credentials:  credentials.NewStaticCredentialsProvider(key, secret, ""),
	})
}

func apiErr(t *testing.T, err error, wantType string, wantStatus int) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != wantType {
		t.Fatalf("want %s, got %v", wantType, err)
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && re.HTTPStatusCode() != wantStatus {
		t.Fatalf("want status %d, got %d", wantStatus, re.HTTPStatusCode())
	}
}

func TestAccountLifecycleThroughSDK(t *testing.T) {
	t.Parallel()
	b := startBelfry(t)
	ctx := context.Background()
	c := b.client

	created, err := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Acme Corp")})
	if err != nil {
		t.Fatal(err)
	}
	a := created.Account
	if aws.ToString(a.Name) != "Acme Corp" || a.AccountType != types.AccountTypeTeam || a.AccountStatus != types.AccountStatusActive ||
		a.DefaultLicense != types.LicensePro || aws.ToString(a.AwsAccountId) != b.awsAcct || a.CreatedTimestamp == nil {
		t.Fatalf("created account: %+v", a)
	}
	// Read-your-writes: Get right after Create.
	got, err := c.GetAccount(ctx, &chime.GetAccountInput{AccountId: a.AccountId})
	if err != nil || aws.ToString(got.Account.Name) != "Acme Corp" {
		t.Fatalf("GetAccount after CreateAccount: %+v %v", got, err)
	}
	up, err := c.UpdateAccount(ctx, &chime.UpdateAccountInput{AccountId: a.AccountId, Name: aws.String("Acme Inc"), DefaultLicense: types.LicenseBasic})
	if err != nil || aws.ToString(up.Account.Name) != "Acme Inc" || up.Account.DefaultLicense != types.LicenseBasic {
		t.Fatalf("UpdateAccount: %+v %v", up, err)
	}
	got, _ = c.GetAccount(ctx, &chime.GetAccountInput{AccountId: a.AccountId})
	if aws.ToString(got.Account.Name) != "Acme Inc" || got.Account.DefaultLicense != types.LicenseBasic {
		t.Fatalf("GetAccount after UpdateAccount: %+v", got.Account)
	}
	if _, err := c.UpdateAccountSettings(ctx, &chime.UpdateAccountSettingsInput{AccountId: a.AccountId,
		AccountSettings: &types.AccountSettings{EnableDialOut: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	st, err := c.GetAccountSettings(ctx, &chime.GetAccountSettingsInput{AccountId: a.AccountId})
	if err != nil || !aws.ToBool(st.AccountSettings.EnableDialOut) || aws.ToBool(st.AccountSettings.DisableRemoteControl) {
		t.Fatalf("settings: %+v %v", st, err)
	}
	if _, err := c.DeleteAccount(ctx, &chime.DeleteAccountInput{AccountId: a.AccountId}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetAccount(ctx, &chime.GetAccountInput{AccountId: a.AccountId})
	var nf *types.NotFoundException
	if !errors.As(err, &nf) || aws.ToString(nf.Message) == "" || nf.Code != types.ErrorCodeNotFound {
		t.Fatalf("GetAccount after delete: want typed NotFoundException, got %v", err)
	}
	_, err = c.DeleteAccount(ctx, &chime.DeleteAccountInput{AccountId: a.AccountId})
	if !errors.As(err, &nf) {
		t.Fatalf("second delete: want NotFoundException, got %v", err)
	}
}

func TestListAccountsPaginationAndFilters(t *testing.T) {
	t.Parallel()
	b := startBelfry(t)
	ctx := context.Background()
	names := map[string]bool{}
	for i := 0; i < 25; i++ {
		name := fmt.Sprintf("Team %02d", i)
		if i%5 == 0 {
			name = fmt.Sprintf("Sales %02d", i)
		}
		if _, err := b.client.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
		names[name] = true
	}
	p := chime.NewListAccountsPaginator(b.client, &chime.ListAccountsInput{MaxResults: aws.Int32(7)})
	seen := map[string]bool{}
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(out.Accounts) > 7 {
			t.Fatalf("page of %d", len(out.Accounts))
		}
		for _, a := range out.Accounts {
			if seen[aws.ToString(a.AccountId)] {
				t.Fatal("account listed twice")
			}
			seen[aws.ToString(a.AccountId)] = true
		}
	}
	if len(seen) != 25 || pages != 4 {
		t.Fatalf("listed %d accounts in %d pages", len(seen), pages)
	}
	sales, err := b.client.ListAccounts(ctx, &chime.ListAccountsInput{Name: aws.String("Sales")})
	if err != nil || len(sales.Accounts) != 5 {
		t.Fatalf("name filter: %d %v", len(sales.Accounts), err)
	}
	byEmail, err := b.client.ListAccounts(ctx, &chime.ListAccountsInput{UserEmail: aws.String("nobody@example.com")})
	if err != nil || len(byEmail.Accounts) != 0 {
		t.Fatalf("user-email filter: %d %v", len(byEmail.Accounts), err)
	}
	_, err = b.client.ListAccounts(ctx, &chime.ListAccountsInput{MaxResults: aws.Int32(0)})
	apiErr(t, err, "BadRequestException", 400)
	_, err = b.client.ListAccounts(ctx, &chime.ListAccountsInput{NextToken: aws.String("!!not-a-token")})
	apiErr(t, err, "BadRequestException", 400)
}

func TestValidationErrorsThroughSDK(t *testing.T) {
	t.Parallel()
	b := startBelfry(t)
	ctx := context.Background()
	c := b.client
	for _, name := range []string{"", "   ", strings.Repeat("n", 101)} {
		_, err := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String(name)})
		var br *types.BadRequestException
		if !errors.As(err, &br) || !strings.Contains(aws.ToString(br.Message), "Name") {
			t.Fatalf("name %q: want BadRequestException naming Name, got %v", name, err)
		}
	}
	_, err := c.GetAccount(ctx, &chime.GetAccountInput{AccountId: aws.String("2b1e5ad4-0d3a-4b1c-9c9a-000000000000")})
	apiErr(t, err, "NotFoundException", 404)
	_, err = c.GetAccount(ctx, &chime.GetAccountInput{AccountId: aws.String("not-a-uuid")})
	apiErr(t, err, "NotFoundException", 404)
	a, err := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Guarded")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.UpdateAccount(ctx, &chime.UpdateAccountInput{AccountId: a.Account.AccountId, DefaultLicense: types.License("Gold")})
	apiErr(t, err, "BadRequestException", 400)
	_, err = c.UpdateAccount(ctx, &chime.UpdateAccountInput{AccountId: a.Account.AccountId, DefaultLicense: types.LicensePlus})
	apiErr(t, err, "BadRequestException", 400)

	// Authentication failures: a wrong secret, an unknown key, a wrong region.
	_, err = b.sdk(b.keyID, "wrong-secret", "us-east-1").ListAccounts(ctx, &chime.ListAccountsInput{})
	apiErr(t, err, "InvalidSignatureException", 403)
	_, err = b.sdk("AKIAUNKNOWNKEY000000", "x", "us-east-1").ListAccounts(ctx, &chime.ListAccountsInput{})
	apiErr(t, err, "UnrecognizedClientException", 403)
	_, err = b.sdk(b.keyID, b.secret, "eu-west-1").ListAccounts(ctx, &chime.ListAccountsInput{})
	apiErr(t, err, "InvalidSignatureException", 403)

	// Bad JSON from a hand-signed request.
	resp := b.signedRaw(t, "POST", "/accounts", `{"Name": 12`, "chime")
	if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-ErrorType") != "BadRequestException" {
		t.Fatalf("bad JSON: %d %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
	}
	// Nothing was created by the failures: only the one good account exists.
	list, err := c.ListAccounts(ctx, &chime.ListAccountsInput{})
	if err != nil || len(list.Accounts) != 1 {
		t.Fatalf("after failures: %d accounts, %v", len(list.Accounts), err)
	}
}

func TestDeleteGuardAndConcurrentUpdates(t *testing.T) {
	t.Parallel()
	b := startBelfry(t)
	ctx := context.Background()
	a, err := b.client.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Busy")})
	if err != nil {
		t.Fatal(err)
	}
	// 20 concurrent renames of one account: each commits at its own revision, none is lost.
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		go func(i int) {
			_, err := b.client.UpdateAccount(ctx, &chime.UpdateAccountInput{AccountId: a.Account.AccountId, Name: aws.String(fmt.Sprintf("Busy %d", i))})
			errs <- err
		}(i)
	}
	for i := 0; i < 20; i++ {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent update: %v", err)
		}
	}
	recs := b.audit(t, "UpdateAccount", 20)
	if len(recs) != 20 {
		t.Fatalf("want 20 UpdateAccount audit records, got %d", len(recs))
	}
}

// signedRaw sends a request signed with the SDK's signer (for bodies the SDK would never send).
func (r *running) signedRaw(t *testing.T, method, path, body, service string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, r.url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	h := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: r.keyID, SecretAccessKey: r.secret},
		req, hex.EncodeToString(h[:]), service, "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// audit polls the audit API until at least want records named name exist.
func (r *running) audit(t *testing.T, name string, want int) []audit.APICallRecorded {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp := r.signedRaw(t, "GET", "/belfry/v1/audit-records?event-name="+name+"&max-results=1000", "", "belfry")
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("audit lookup: %d %s", resp.StatusCode, b)
		}
		var out struct{ Records []audit.APICallRecorded }
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		if len(out.Records) >= want || time.Now().After(deadline) {
			return out.Records
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestAuditRecordsForEveryCall(t *testing.T) {
	t.Parallel()
	b := startBelfry(t)
	ctx := context.Background()
	a, err := b.client.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Audited")})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = b.client.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("")})
	_, _ = b.sdk(b.keyID, "wrong", "us-east-1").GetAccount(ctx, &chime.GetAccountInput{AccountId: a.Account.AccountId})

	recs := b.audit(t, "CreateAccount", 2)
	if len(recs) != 2 {
		t.Fatalf("want 2 CreateAccount records, got %d", len(recs))
	}
	var ok, failed *audit.APICallRecorded
	for i := range recs {
		if recs[i].ErrorCode == "" {
			ok = &recs[i]
		} else {
			failed = &recs[i]
		}
	}
	if ok == nil || failed == nil {
		t.Fatalf("want one success and one failure: %+v", recs)
	}
	if ok.EventSource != "chime.amazonaws.com" || ok.UserIdentity.AccessKeyID != b.keyID || ok.UserIdentity.AccountID != b.awsAcct ||
		ok.SourceIPAddress != "127.0.0.1" || !strings.Contains(ok.UserAgent, "aws-sdk-go-v2") || ok.AWSRegion != "us-east-1" ||
		!strings.Contains(string(ok.RequestParameters), `"name":"Audited"`) || !strings.Contains(string(ok.ResponseElements), aws.ToString(a.Account.AccountId)) {
		t.Fatalf("success record: %+v", ok)
	}
	if failed.ErrorCode != "BadRequestException" || string(failed.ResponseElements) != "null" || failed.ErrorMessage == "" {
		t.Fatalf("failure record: %+v", failed)
	}
	resp, err := http.Get(b.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range []string{"belfry_projection_checkpoint_position{projection=\"chime_accounts\"}", "belfry_projection_lag_events",
		"belfry_eventstore_head_position", "belfry_eventlog_commits_total", "belfry_projection_batch_seconds",
		`belfry_api_requests_total{operation="CreateAccount",service="chime",status="400"} 1`,
		`belfry_api_request_seconds_bucket{operation="CreateAccount",service="chime",le="0.0005"}`} {
		if !strings.Contains(string(metrics), m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	doc, err := http.Get(b.url + "/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := io.ReadAll(doc.Body)
	doc.Body.Close()
	if doc.StatusCode != 200 || !strings.HasPrefix(string(spec), "openapi: 3.") || !strings.Contains(string(spec), "/console/accounts/{accountId}/domains") {
		t.Fatalf("GET /openapi.yaml: %d %.80s", doc.StatusCode, spec)
	}
	denied := b.audit(t, "GetAccount", 1)
	if len(denied) != 1 || denied[0].ErrorCode != "InvalidSignatureException" || denied[0].UserIdentity.AccessKeyID != b.keyID {
		t.Fatalf("denied call record: %+v", denied)
	}
}

func TestUsersAndNonEmptyAccountGuard(t *testing.T) {
	t.Parallel()
	b := startBelfry(t)
	ctx := context.Background()
	c := b.client
	a, err := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("With users")})
	if err != nil {
		t.Fatal(err)
	}
	other, err := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Other")})
	if err != nil {
		t.Fatal(err)
	}
	u, err := c.CreateUser(ctx, &chime.CreateUserInput{AccountId: a.Account.AccountId, Email: aws.String("Alice@Example.com"), Username: aws.String("alice")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(u.User.PrimaryEmail) != "alice@example.com" || u.User.LicenseType != types.LicensePro || u.User.UserType != types.UserTypePrivateUser ||
		u.User.UserRegistrationStatus != types.RegistrationStatusUnregistered {
		t.Fatalf("created user: %+v", u.User)
	}
	got, err := c.GetUser(ctx, &chime.GetUserInput{AccountId: a.Account.AccountId, UserId: u.User.UserId})
	if err != nil || aws.ToString(got.User.UserId) != aws.ToString(u.User.UserId) {
		t.Fatalf("GetUser right after CreateUser: %+v %v", got, err)
	}
	_, err = c.GetUser(ctx, &chime.GetUserInput{AccountId: other.Account.AccountId, UserId: u.User.UserId})
	apiErr(t, err, "NotFoundException", 404)
	_, err = c.CreateUser(ctx, &chime.CreateUserInput{AccountId: a.Account.AccountId, Email: aws.String("alice@example.COM")})
	var cf *types.ConflictException
	if !errors.As(err, &cf) {
		t.Fatalf("duplicate e-mail: want ConflictException, got %v", err)
	}
	_, err = c.CreateUser(ctx, &chime.CreateUserInput{AccountId: a.Account.AccountId, Email: aws.String("not an address")})
	apiErr(t, err, "BadRequestException", 400)
	_, err = c.CreateUser(ctx, &chime.CreateUserInput{AccountId: a.Account.AccountId, Email: aws.String("b@example.com"), UserType: types.UserType("Robot")})
	apiErr(t, err, "BadRequestException", 400)
	// The refused creations reserved no personal PIN (a reserved PIN is never handed out again).
	var pins int
	if err := pgxQueryRow(t, b, `SELECT count(DISTINCT stream) FROM eventlog.events WHERE stream LIKE 'chime.pin-%'`, &pins); err != nil {
		t.Fatal(err)
	}
	if pins != 1 {
		t.Fatalf("%d PINs reserved for 1 user created", pins)
	}

	byEmail, err := c.ListAccounts(ctx, &chime.ListAccountsInput{UserEmail: aws.String("alice@example.com")})
	if err != nil || len(byEmail.Accounts) != 1 || aws.ToString(byEmail.Accounts[0].AccountId) != aws.ToString(a.Account.AccountId) {
		t.Fatalf("user-email filter: %+v %v", byEmail, err)
	}
	// Guide §4.5: a Team account with users cannot be deleted.
	_, err = c.DeleteAccount(ctx, &chime.DeleteAccountInput{AccountId: a.Account.AccountId})
	var ue *types.UnprocessableEntityException
	if !errors.As(err, &ue) || ue.Code != types.ErrorCodeUnprocessable {
		t.Fatalf("delete non-empty: want UnprocessableEntityException, got %v", err)
	}
	if _, err := c.GetAccount(ctx, &chime.GetAccountInput{AccountId: a.Account.AccountId}); err != nil {
		t.Fatalf("the refused delete must leave the account: %v", err)
	}
	if _, err := c.DeleteAccount(ctx, &chime.DeleteAccountInput{AccountId: other.Account.AccountId}); err != nil {
		t.Fatalf("an empty account deletes: %v", err)
	}
}

func TestWriteOnlyAuditSkipsSuccessfulReads(t *testing.T) {
	t.Parallel()
	b := startBelfryWith(t, func(m *Main) { m.cfg.SkipReadAudit = true })
	ctx := context.Background()
	a, err := b.client.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Write-only trail")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.GetAccount(ctx, &chime.GetAccountInput{AccountId: a.Account.AccountId}); err != nil {
		t.Fatal(err)
	}
	_, err = b.client.GetAccount(ctx, &chime.GetAccountInput{AccountId: aws.String("no-such-account")})
	apiErr(t, err, "NotFoundException", 404)
	if _, err := b.client.UpdateAccount(ctx, &chime.UpdateAccountInput{AccountId: a.Account.AccountId, Name: aws.String("Renamed")}); err != nil {
		t.Fatal(err)
	}
	b.audit(t, "UpdateAccount", 1) // written after the GetAccount records would have been
	recs := b.audit(t, "GetAccount", 1)
	if len(recs) != 1 || recs[0].ErrorCode != "NotFoundException" {
		t.Fatalf("want only the refused GetAccount audited, got %+v", recs)
	}
	if created := b.audit(t, "CreateAccount", 1); len(created) != 1 {
		t.Fatalf("CreateAccount records: %d", len(created))
	}
}

// pgxQueryRow runs one query on the server's database.
func pgxQueryRow(t *testing.T, r *running, query string, dest ...any) error {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), r.m.cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.QueryRow(context.Background(), query).Scan(dest...)
}

func TestPprofOnItsOwnListener(t *testing.T) {
	t.Parallel()
	addr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	b := startBelfryWith(t, func(m *Main) { m.cfg.PprofAddr = addr })
	resp, err := http.Get("http://" + addr + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("pprof index: %d", resp.StatusCode)
	}
	if api, err := http.Get(b.url + "/debug/pprof/"); err == nil {
		api.Body.Close()
		if api.StatusCode == 200 {
			t.Fatal("the profiles must not be served on the API's port")
		}
	}
}

// pgxPool opens a pool on the server's database for the rest of the test.
func pgxPool(t *testing.T, r *running) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), r.m.cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}
