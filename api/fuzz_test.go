package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/aws/aws-sdk-go-v2/service/chime/types"
	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/chime/accounts"
	"github.com/belfry/belfry/api/chime/bots"
	"github.com/belfry/belfry/api/chime/domains"
	"github.com/belfry/belfry/api/chime/meetings"
	"github.com/belfry/belfry/api/chime/numbers"
	"github.com/belfry/belfry/api/chime/porting"
	"github.com/belfry/belfry/api/chime/rooms"
	"github.com/belfry/belfry/api/chime/settings"
	"github.com/belfry/belfry/api/chime/users"
	"github.com/belfry/belfry/api/sigv4"
	"github.com/belfry/belfry/domain/audit"
)

type fuzzCaller struct{}

func (fuzzCaller) AWSAccount() string    { return "111122223333" }
func (fuzzCaller) ARN() string           { return "arn:aws:iam::111122223333:user/fuzz" }
func (fuzzCaller) ID() string            { return "AIDAFUZZ" }
func (fuzzCaller) UserName() string      { return "fuzz" }
func (fuzzCaller) Allowed(_ string) bool { return true }

type fuzzKeys struct{}

func (fuzzKeys) LookupAccessKey(context.Context, string) (string, any, error) {
	return "secret", fuzzCaller{}, nil
}

type captureSink struct{ recs []audit.APICallRecorded }

func (s *captureSink) Record(_ context.Context, r audit.APICallRecorded) error {
	s.recs = append(s.recs, r)
	return nil
}
func (s *captureSink) Queue(ctx context.Context, r audit.APICallRecorded) error {
	return s.Record(ctx, r)
}
func (s *captureSink) RecordUnauthenticated(r audit.APICallRecorded) {
	_ = s.Record(context.Background(), r)
}

var fuzzNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// chimeHandler mounts every Chime operation with no services behind them: an operation that gets past
// the edge reaches a nil service, panics and is answered 500, and is audited like any other call.
func chimeHandler(sink awsproto.AuditSink) *echo.Echo {
	e := echo.New()
	s := awsproto.NewService(awsproto.ServiceConfig{Name: "chime", EventSource: "chime.amazonaws.com", Region: "us-east-1", Audit: sink,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Verifier: &sigv4.Verifier{Keys: fuzzKeys{}, Region: "us-east-1", Now: func() time.Time { return fuzzNow }}})
	var ops []awsproto.Operation
	for _, list := range [][]awsproto.Operation{(*accounts.Service)(nil).Operations(), (*users.Service)(nil).Operations(), (*settings.Service)(nil).Operations(), (*domains.Service)(nil).Operations(), (*bots.Service)(nil).Operations(), (*numbers.Service)(nil).Operations(),
		(*porting.Service)(nil).Operations(), (*rooms.Service)(nil).Operations(), (*meetings.Service)(nil).Operations()} {
		ops = append(ops, list...)
	}
	s.Mount(e, ops)
	return e
}

// FuzzChimeRequest sends signed requests with arbitrary targets and bodies through the Chime API's
// edge, JSON decoding and audit: whatever the bytes, the server answers, and every audit record is
// JSON that PostgreSQL's jsonb stores faithfully (valid UTF-8, no NUL). The seed corpus is requests
// the official SDK sends (TestWriteFuzzCorpus).
func FuzzChimeRequest(f *testing.F) {
	f.Add("POST", "/accounts", []byte(`{"Name":"Acme"}`))
	f.Fuzz(func(t *testing.T, method, target string, body []byte) {
		if !strings.HasPrefix(target, "/") || strings.ContainsAny(method, " \r\n\t") || method == "" {
			return
		}
		req, err := http.NewRequest(method, "http://127.0.0.1:8080"+target, bytes.NewReader(body))
		if err != nil {
			return
		}
		h := sha256.Sum256(body)
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIDFUZZ", SecretAccessKey: "secret"},
			req, hex.EncodeToString(h[:]), "chime", "us-east-1", fuzzNow); err != nil {
			return
		}
		sink := &captureSink{}
		rec := httptest.NewRecorder()
		chimeHandler(sink).ServeHTTP(rec, req)
		if rec.Code == 0 {
			t.Fatal("no answer")
		}
		for _, r := range sink.recs {
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatalf("audit record does not marshal: %v", err)
			}
			if !utf8.Valid(b) || bytes.Contains(b, []byte(`\u0000`)) || !json.Valid(r.RequestParameters) {
				t.Fatalf("audit record cannot be stored faithfully: %s", b)
			}
		}
	})
}

// TestWriteFuzzCorpus records the requests the official SDK sends for a range of operations as seed
// corpora of FuzzChimeRequest and sigv4's FuzzVerifyBindsBody. It runs only when
// BELFRY_WRITE_FUZZ_CORPUS=1; the corpora are committed.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("BELFRY_WRITE_FUZZ_CORPUS") != "1" {
		t.Skip("set BELFRY_WRITE_FUZZ_CORPUS=1 to rewrite the committed seed corpora")
	}
	type captured struct {
		method, target string
		body           []byte
	}
	var reqs []captured
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		reqs = append(reqs, captured{r.Method, r.URL.RequestURI(), b})
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{}"))
	}))
	defer srv.Close()
	c := chime.New(chime.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDFUZZ", "secret", ""), RetryMaxAttempts: 1})
	ctx := context.Background()
	acct, user := aws.String("acct-1"), aws.String("user-1")
	_, _ = c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Acme Ünïcode 🚀")})
	_, _ = c.UpdateAccount(ctx, &chime.UpdateAccountInput{AccountId: acct, Name: aws.String("Renamed"), DefaultLicense: types.LicenseBasic})
	_, _ = c.ListAccounts(ctx, &chime.ListAccountsInput{Name: aws.String("Ac"), MaxResults: aws.Int32(5), NextToken: aws.String("page 2/of+2==")})
	_, _ = c.CreateUser(ctx, &chime.CreateUserInput{AccountId: acct, Email: aws.String("a@example.com"), Username: aws.String("alice"), UserType: types.UserTypePrivateUser})
	_, _ = c.BatchCreateRoomMembership(ctx, &chime.BatchCreateRoomMembershipInput{AccountId: acct, RoomId: aws.String("room-1"),
		MembershipItemList: []types.MembershipItem{{MemberId: user, Role: types.RoomMembershipRoleAdministrator}}})
	_, _ = c.BatchUpdateUser(ctx, &chime.BatchUpdateUserInput{AccountId: acct, UpdateUserRequestItems: []types.UpdateUserRequestItem{
		{UserId: user, LicenseType: types.LicensePro, AlexaForBusinessMetadata: &types.AlexaForBusinessMetadata{IsAlexaForBusinessEnabled: aws.Bool(true)}}}})
	_, _ = c.InviteUsers(ctx, &chime.InviteUsersInput{AccountId: acct, UserEmailList: []string{"b@example.com", "c@example.com"}})
	_, _ = c.UpdateGlobalSettings(ctx, &chime.UpdateGlobalSettingsInput{BusinessCalling: &types.BusinessCallingSettings{CdrBucket: aws.String("cdrs")}})
	_, _ = c.CreateBot(ctx, &chime.CreateBotInput{AccountId: acct, DisplayName: aws.String("Helper"), Domain: aws.String("example.com")})
	_, _ = c.PutEventsConfiguration(ctx, &chime.PutEventsConfigurationInput{AccountId: acct, BotId: aws.String("bot-1"),
		OutboundEventsHTTPSEndpoint: aws.String("https://bots.example.com/events")})
	_, _ = c.SearchAvailablePhoneNumbers(ctx, &chime.SearchAvailablePhoneNumbersInput{AreaCode: aws.String("206"), MaxResults: aws.Int32(10)})
	_, _ = c.CreatePhoneNumberOrder(ctx, &chime.CreatePhoneNumberOrderInput{ProductType: types.PhoneNumberProductTypeBusinessCalling, E164PhoneNumbers: []string{"+12065550100"}})
	_, _ = c.UpdatePhoneNumber(ctx, &chime.UpdatePhoneNumberInput{PhoneNumberId: aws.String("+12065550100"), CallingName: aws.String("Acme")})
	_, _ = c.CreateRoom(ctx, &chime.CreateRoomInput{AccountId: acct, Name: aws.String("Room ☃"), ClientRequestToken: aws.String("tok-1")})
	_, _ = c.ResetPersonalPIN(ctx, &chime.ResetPersonalPINInput{AccountId: acct, UserId: user})
	_, _ = c.LogoutUser(ctx, &chime.LogoutUserInput{AccountId: acct, UserId: user})
	if len(reqs) < 15 {
		t.Fatalf("captured %d requests", len(reqs))
	}
	write := func(dir string, i int, args ...string) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		data := "go test fuzz v1\n" + strings.Join(args, "\n") + "\n"
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("sdk-%02d", i)), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i, r := range reqs {
		m, u, b := "string("+strconv.Quote(r.method)+")", "string("+strconv.Quote(r.target)+")", "[]byte("+strconv.Quote(string(r.body))+")"
		write("testdata/fuzz/FuzzChimeRequest", i, m, u, b)
		mutated := append([]byte(nil), r.body...)
		if len(mutated) > 0 {
			mutated[len(mutated)/2] ^= 0x01
		}
		write("sigv4/testdata/fuzz/FuzzVerifyBindsBody", i, m, u, b, "[]byte("+strconv.Quote(string(mutated))+")")
	}
}
