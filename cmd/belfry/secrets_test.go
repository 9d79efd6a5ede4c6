package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/infra/datakeys"
	"github.com/belfry/belfry/infra/eventstore"
)

type storedEvent struct {
	stream, typ string
	data, meta  []byte
}

// readAll reads every event of $all through EventStore-Client-Go, as any local gRPC client can.
func (r *running) readAll(t *testing.T) []storedEvent {
	t.Helper()
	client, err := eventstore.Connect(r.m.EmbeddedLogURL())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	rs, err := client.ReadAll(context.Background(), esdb.ReadAllOptions{From: esdb.Start{}}, ^uint64(0))
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []storedEvent
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		e := ev.Event
		out = append(out, storedEvent{stream: e.StreamID, typ: e.EventType, data: e.Data, meta: e.UserMetadata})
	}
}

var bcryptHash = regexp.MustCompile(`\$2[abxy]\$\d\d\$`)

// assertNoSecret fails if any stored event (stream name, type, data or metadata) holds a secret
// value or anything shaped like a bcrypt hash.
func assertNoSecret(t *testing.T, events []storedEvent, secrets map[string]string) {
	t.Helper()
	for _, e := range events {
		all := e.stream + "\x00" + e.typ + "\x00" + string(e.data) + "\x00" + string(e.meta)
		if bcryptHash.MatchString(all) {
			t.Errorf("a bcrypt hash in %s %s: %s", e.stream, e.typ, e.data)
		}
		for name, v := range secrets {
			if strings.Contains(all, v) {
				t.Errorf("the %s %q in %s %s: %s", name, v, e.stream, e.typ, e.data)
			}
		}
	}
}

// sealedOf returns the sealed member named field of the account events of type typ about id.
func sealedOf(t *testing.T, events []storedEvent, typ, idField, id, field string) []domain.Sealed {
	t.Helper()
	var out []domain.Sealed
	for _, e := range events {
		if e.typ != typ {
			continue
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(e.data, &m); err != nil {
			t.Fatal(err)
		}
		if string(m[idField]) != strconv.Quote(id) {
			continue
		}
		var s domain.Sealed
		if err := json.Unmarshal(m[field], &s); err != nil || s.IsZero() {
			t.Fatalf("%s of %s has no sealed %s: %s", typ, id, field, e.data)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		t.Fatalf("no %s event about %s", typ, id)
	}
	return out
}

// TestCredentialsNeverInTheEventLog registers a user with a password, schedules a meeting with its
// PIN, creates a user and resets its PIN, creates a bot and regenerates its token, all through the official SDK and the client API; then
// reads every event of $all through EventStore-Client-Go and finds none of those secrets (nor any
// bcrypt hash). Deleting the users and the bot's account destroys their keys: the sealed credentials
// in the log cannot be opened any more, and the user cannot sign in.
func TestCredentialsNeverInTheEventLog(t *testing.T) {
	t.Parallel()
	outbox := t.TempDir()
	dnsSrv := startDNS(t)
	b := startBelfryWith(t, func(m *Main) { m.cfg.MailDir = outbox; m.cfg.DNSResolver = dnsSrv.addr })
	ctx := context.Background()
	c := b.client
	team, _ := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Secret keepers")})
	acct := aws.ToString(team.Account.AccountId)
	const password = "correct horse battery staple"
	if _, err := c.InviteUsers(ctx, &chime.InviteUsersInput{AccountId: &acct, UserEmailList: []string{"alice@team.example"}}); err != nil {
		t.Fatal(err)
	}
	st, reg := b.clientCall(t, "POST", "/client/v1/registrations", "", map[string]string{"Token": b.inviteToken(t, outbox, "alice@team.example"), "Password": password})
	if st != 201 {
		t.Fatalf("register: %d %v", st, reg)
	}
	alice := reg["User"].(map[string]any)
	st, sess := b.clientCall(t, "POST", "/client/v1/sessions", "", map[string]string{"Email": "alice@team.example", "Password": password})
	if st != 201 {
		t.Fatalf("sign-in: %d %v", st, sess)
	}
	// A meeting carries the organiser's PIN (sealed under the organiser's key in its event).
	st, mt := b.clientCall(t, "POST", "/client/v1/meetings", sess["SessionToken"].(string),
		map[string]string{"Title": "Standup", "StartsAt": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	if st != 201 || mt["Meeting"].(map[string]any)["MeetingPIN"] != alice["PersonalPIN"] {
		t.Fatalf("schedule: %d %v (PIN %v)", st, mt, alice["PersonalPIN"])
	}
	bob, err := c.CreateUser(ctx, &chime.CreateUserInput{AccountId: &acct, Email: aws.String("bob@team.example")})
	if err != nil {
		t.Fatal(err)
	}
	reset, err := c.ResetPersonalPIN(ctx, &chime.ResetPersonalPINInput{AccountId: &acct, UserId: bob.User.UserId})
	if err != nil || aws.ToString(reset.User.PersonalPIN) == aws.ToString(bob.User.PersonalPIN) {
		t.Fatalf("reset PIN: %+v %v", reset, err)
	}
	got, _ := c.GetUser(ctx, &chime.GetUserInput{AccountId: &acct, UserId: bob.User.UserId})
	if aws.ToString(got.User.PersonalPIN) != aws.ToString(reset.User.PersonalPIN) {
		t.Fatalf("GetUser shows PIN %q, the reset gave %q", aws.ToString(got.User.PersonalPIN), aws.ToString(reset.User.PersonalPIN))
	}

	ent, _ := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Bot keepers")})
	entID := aws.ToString(ent.Account.AccountId)
	b.claimDomain(t, dnsSrv, entID, "ent.example")
	bot, err := c.CreateBot(ctx, &chime.CreateBotInput{AccountId: &entID, DisplayName: aws.String("keeper")})
	if err != nil {
		t.Fatal(err)
	}
	regen, err := c.RegenerateSecurityToken(ctx, &chime.RegenerateSecurityTokenInput{AccountId: &entID, BotId: bot.Bot.BotId})
	if err != nil || aws.ToString(regen.Bot.SecurityToken) == aws.ToString(bot.Bot.SecurityToken) {
		t.Fatalf("regenerate: %+v %v", regen, err)
	}

	secrets := map[string]string{"password": password, "alice's PIN": alice["PersonalPIN"].(string),
		"bob's first PIN": aws.ToString(bob.User.PersonalPIN), "bob's PIN": aws.ToString(reset.User.PersonalPIN),
		"bot token": aws.ToString(bot.Bot.SecurityToken), "regenerated bot token": aws.ToString(regen.Bot.SecurityToken)}
	for name, v := range secrets {
		if len(v) < 10 {
			t.Fatalf("%s %q: the API must still return it", name, v)
		}
	}
	events := b.readAll(t)
	assertNoSecret(t, events, secrets)
	if st, _ := b.clientCall(t, "POST", "/client/v1/sessions", "", map[string]string{"Email": "alice@team.example", "Password": password}); st != 201 {
		t.Fatalf("sign-in with the sealed hash: %d", st)
	}

	// The sealed hash in the log is the credential, under alice's key while she exists.
	pool, err := pgxpool.New(ctx, b.m.cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	keys := datakeys.New(pool)
	aliceID := alice["UserId"].(string)
	aliceHash := sealedOf(t, events, account.TypeUserRegistered, "userId", aliceID, "sealedPasswordHash")[0]
	if h, err := keys.OpenSealed(ctx, aliceHash); err != nil || bcrypt.CompareHashAndPassword(h, []byte(password)) != nil {
		t.Fatalf("open alice's sealed hash: %v", err)
	}
	bobPINs := append(sealedOf(t, events, account.TypeUserAdded, "userId", aws.ToString(bob.User.UserId), "sealedPin"),
		sealedOf(t, events, account.TypePersonalPINReset, "userId", aws.ToString(bob.User.UserId), "sealedPin")...)
	tokens := append(sealedOf(t, events, account.TypeBotCreated, "botId", aws.ToString(bot.Bot.BotId), "sealedSecurityToken"),
		sealedOf(t, events, account.TypeBotTokenChanged, "botId", aws.ToString(bot.Bot.BotId), "sealedSecurityToken")...)

	// Removing the Team users and deleting the bot's account destroys their keys.
	if _, err := c.BatchSuspendUser(ctx, &chime.BatchSuspendUserInput{AccountId: &acct, UserIdList: []string{aliceID, aws.ToString(bob.User.UserId)}}); err != nil {
		t.Fatal(err)
	}
	if st, typ, _ := b.console(t, "DELETE", "/console/accounts/"+entID+"/domains/ent.example", ``); st != 204 {
		t.Fatalf("remove domain: %d %s", st, typ)
	}
	if _, err := c.DeleteAccount(ctx, &chime.DeleteAccountInput{AccountId: &entID}); err != nil {
		t.Fatal(err)
	}
	if st, _ := b.clientCall(t, "POST", "/client/v1/sessions", "", map[string]string{"Email": "alice@team.example", "Password": password}); st != 403 {
		t.Fatalf("sign-in of a removed user: %d", st)
	}
	fresh := datakeys.New(pool) // no cache: what any process, or a restored backup of the log, can do
	for _, s := range append(append([]domain.Sealed{aliceHash}, bobPINs...), tokens...) {
		if _, err := fresh.OpenSealed(ctx, s); !errors.Is(err, domain.ErrShredded) {
			t.Errorf("%s still opens after deletion: %v", s.KeyID, err)
		}
	}
	var live int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM keys.subject_keys WHERE tenant = ANY($1) AND key IS NOT NULL`, []string{acct, entID}).Scan(&live); err != nil || live != 0 {
		t.Fatalf("%d subject keys of the deleted users and bot remain (%v)", live, err)
	}
	var plain int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM rm.chime_users WHERE password_sealed IS NOT NULL OR password_hash IS NOT NULL OR pin_sealed IS NOT NULL
		OR personal_pin IS NOT NULL`).Scan(&plain); err != nil || plain != 0 {
		t.Fatalf("%d read-model rows keep credentials of removed users (%v)", plain, err)
	}
}

// inviteToken is the registration token mailed to email.
func (r *running) inviteToken(t *testing.T, outbox, email string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(outbox, "*.eml"))
	for _, f := range files {
		msg, _ := os.ReadFile(f)
		if bytes.Contains(msg, []byte("To: "+email)) {
			return string(tokenLine.FindSubmatch(msg)[1])
		}
	}
	t.Fatalf("no invitation mail for %s", email)
	return ""
}

func metricValue(t *testing.T, url, series string) float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	return 0
}

// TestSignInBacksOffAndDoesEqualWork: an unknown e-mail address costs a bcrypt comparison (against
// the dummy hash), repeated failures for one address and then from one source are refused with 429
// and Retry-After (even with the right password), and the lock ends after its window.
func TestSignInBacksOffAndDoesEqualWork(t *testing.T) {
	t.Parallel()
	outbox := t.TempDir()
	clk := &clock{t: time.Now()}
	b := startBelfryWith(t, func(m *Main) { m.cfg.MailDir = outbox; m.Now = clk.Now })
	ctx := context.Background()
	a, _ := b.client.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Throttled")})
	b.registeredUser(t, outbox, aws.ToString(a.Account.AccountId), "dana@team.example")
	signIn := func(email, password string) (int, http.Header) {
		t.Helper()
		body := `{"Email":` + strconv.Quote(email) + `,"Password":` + strconv.Quote(password) + `}`
		resp, err := http.Post(b.url+"/client/v1/sessions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header
	}

	const dummy = `belfry_client_signin_password_checks_total{against="dummy"}`
	before := metricValue(t, b.url, dummy)
	if st, _ := signIn("nobody@nowhere.example", "whatever1"); st != 403 {
		t.Fatalf("unknown e-mail: %d", st)
	}
	if after := metricValue(t, b.url, dummy); after != before+1 {
		t.Fatalf("an unknown e-mail must cost one bcrypt comparison against the dummy hash: %v -> %v", before, after)
	}

	for i := 1; i <= 5; i++ {
		if st, _ := signIn("Dana@team.example", "wrong password"); st != 403 {
			t.Fatalf("failure %d: %d", i, st)
		}
	}
	for _, pw := range []string{"wrong password", "correct horse"} {
		st, h := signIn("dana@team.example", pw)
		if st != 429 || h.Get("Retry-After") != "60" || h.Get("X-Amzn-ErrorType") != "ThrottledClientException" {
			t.Fatalf("after 5 failures (%s): %d Retry-After %q %q", pw, st, h.Get("Retry-After"), h.Get("X-Amzn-ErrorType"))
		}
	}
	clk.Add(61 * time.Second)
	if st, _ := signIn("dana@team.example", "correct horse"); st != 201 {
		t.Fatalf("after the lock: %d", st)
	}

	// Per source: 6 failures so far from 127.0.0.1; 14 more with fresh addresses reach 20.
	for i := 1; i <= 14; i++ {
		if st, _ := signIn("guess"+strconv.Itoa(i)+"@nowhere.example", "whatever1"); st != 403 {
			t.Fatalf("source failure %d: %d", i+6, st)
		}
	}
	if st, h := signIn("dana@team.example", "correct horse"); st != 429 || h.Get("Retry-After") != "60" {
		t.Fatalf("after 20 failures from one source: %d %q", st, h.Get("Retry-After"))
	}
	clk.Add(61 * time.Second)
	if st, _ := signIn("dana@team.example", "correct horse"); st != 201 {
		t.Fatalf("after the source's lock: %d", st)
	}
}
