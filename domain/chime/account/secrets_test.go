package account_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
)

// TestCredentialEventsGolden pins the stored shape of every account event that carries a credential:
// only sealed members (key id and ciphertext), never a plain password hash, PIN or security token.
func TestCredentialEventsGolden(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		event  account.Event
		golden string
	}{
		{account.UserAdded{UserID: "u1", Email: "a@example.com", UserType: "PrivateUser", LicenseType: "Pro", PIN: sealedUser("u1", 1), CreatedAt: at},
			`{"userId":"u1","email":"a@example.com","userType":"PrivateUser","licenseType":"Pro","sealedPin":{"keyId":"subject/a1/user/u1","data":"wAEBAg=="},"createdAt":"2026-11-22T10:00:00Z"}`},
		{account.UserAdded{UserID: "u2", Email: "b@example.com", UserType: "PrivateUser", LicenseType: "Pro", CreatedAt: at},
			`{"userId":"u2","email":"b@example.com","userType":"PrivateUser","licenseType":"Pro","createdAt":"2026-11-22T10:00:00Z"}`},
		{account.UserRegistered{UserID: "u1", InviteID: "i1", PasswordHash: sealedUser("u1", 2), DisplayName: "A", PIN: sealedUser("u1", 3), At: at},
			`{"userId":"u1","inviteId":"i1","sealedPasswordHash":{"keyId":"subject/a1/user/u1","data":"wAIBAg=="},"displayName":"A","sealedPin":{"keyId":"subject/a1/user/u1","data":"wAMBAg=="},"at":"2026-11-22T10:00:00Z"}`},
		{account.PersonalPINReset{UserID: "u1", PIN: sealedUser("u1", 4)},
			`{"userId":"u1","sealedPin":{"keyId":"subject/a1/user/u1","data":"wAQBAg=="}}`},
		{account.BotCreated{BotID: "b1", UserID: "bu", DisplayName: "bot", Email: "bot-chimebot@example.com", SecurityToken: sealedBot("b1"), At: at},
			`{"botId":"b1","userId":"bu","displayName":"bot","email":"bot-chimebot@example.com","sealedSecurityToken":{"keyId":"subject/a1/bot/b1","data":"sHU="},"at":"2026-11-22T10:00:00Z"}`},
		{account.BotTokenRegenerated{BotID: "b1", SecurityToken: sealedBot("b1"), At: at},
			`{"botId":"b1","sealedSecurityToken":{"keyId":"subject/a1/bot/b1","data":"sHU="},"at":"2026-11-22T10:00:00Z"}`},
	}
	for _, tc := range cases {
		b, err := jsonMarshal(tc.event)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.golden {
			t.Errorf("%s:\n got %s\nwant %s", tc.event.EventType(), b, tc.golden)
		}
		back, err := account.Decode(tc.event.EventType(), b)
		if err != nil || !reflect.DeepEqual(back, tc.event) {
			t.Errorf("%s round trip: %#v %v", tc.event.EventType(), back, err)
		}
	}
}

// TestLegacyPlainCredentialsStillDecode replays events as they were stored before sealing (plain
// bcrypt hash, PIN and token): they decode into the Legacy members (upcast) and fold as before.
func TestLegacyPlainCredentialsStillDecode(t *testing.T) {
	t.Parallel()
	stored := []struct{ typ, data string }{
		{account.TypeCreated, `{"accountId":"a1","awsAccountId":"123456789012","name":"Acme","accountType":"Team","defaultLicense":"Pro","supportedLicenses":["Basic","Pro"],"createdAt":"2026-01-01T00:00:00Z"}`},
		{account.TypeUserAdded, `{"userId":"u1","email":"a@example.com","userType":"PrivateUser","licenseType":"Pro","personalPin":"","createdAt":"2026-01-01T00:00:00Z"}`},
		{account.TypeUserInvited, `{"userId":"u1","inviteId":"i1","email":"a@example.com","tokenHash":"h","expiresAt":"2026-01-08T00:00:00Z","at":"2026-01-01T00:00:00Z"}`},
		{account.TypeUserRegistered, `{"userId":"u1","inviteId":"i1","passwordHash":"$2a$10$abcdefghijklmnopqrstuu1234567890123456789012345678901","displayName":"A","personalPin":"0123456789","at":"2026-01-01T00:00:00Z"}`},
		{account.TypePersonalPINReset, `{"userId":"u1","pin":"9876543210"}`},
		{account.TypeBotCreated, `{"botId":"b1","userId":"bu","displayName":"bot","email":"bot-chimebot@example.com","securityToken":"plain-token","at":"2026-01-01T00:00:00Z"}`},
		{account.TypeBotTokenChanged, `{"botId":"b1","securityToken":"plain-token-2","at":"2026-01-02T00:00:00Z"}`},
	}
	s := account.Initial()
	var got []account.Event
	for _, ev := range stored {
		e, err := account.Decode(ev.typ, []byte(ev.data))
		if err != nil {
			t.Fatalf("%s: %v", ev.typ, err)
		}
		got = append(got, e)
		s = account.Evolve(s, e)
	}
	reg := got[3].(account.UserRegistered)
	if reg.LegacyPasswordHash == "" || reg.LegacyPIN != "0123456789" || !reg.PasswordHash.IsZero() {
		t.Fatalf("legacy registration: %#v", reg)
	}
	if got[4].(account.PersonalPINReset).LegacyPIN != "9876543210" || got[5].(account.BotCreated).LegacySecurityToken != "plain-token" ||
		got[6].(account.BotTokenRegenerated).LegacySecurityToken != "plain-token-2" {
		t.Fatalf("legacy members: %#v", got)
	}
	if u, _ := s.Members.Get("u1"); u == nil || u.Registration != account.RegistrationRegistered || s.Bots["b1"] == nil {
		t.Fatalf("legacy events fold: %+v", s)
	}
}

// TestCredentialsMustBeSealedUnderTheirSubject: a command carrying a credential in clear, or sealed
// under another subject's key, is refused, so destroying one subject's key shreds its credentials only.
func TestCredentialsMustBeSealedUnderTheirSubject(t *testing.T) {
	t.Parallel()
	ent := []account.Event{created, account.DomainClaimAdded{Domain: "example.com"}, account.DomainVerified{Domain: "example.com"},
		account.AccountTypeChanged{AccountType: "EnterpriseLWA"}}
	u1 := account.UserAdded{UserID: "u1", Email: "a@example.com", UserType: "PrivateUser", LicenseType: "Pro", PIN: sealedUser("u1", 1), CreatedAt: now}
	bot := account.BotCreated{BotID: "b1", Email: "b-chimebot@example.com", SecurityToken: sealedBot("b1")}
	invited := []account.Event{created, account.UserAdded{UserID: "u2", Email: "c@example.com", UserType: "PrivateUser", LicenseType: "Pro"},
		account.UserInvited{UserID: "u2", InviteID: "i", Email: "c@example.com", ExpiresAt: now.Add(time.Hour)}, account.InviteTokenIssued{InviteID: "i", TokenHash: "h"}}
	other := sealedUser("u9", 1)
	plain := domain.Sealed{Data: []byte("0123456789")}
	cases := []struct {
		name  string
		given []account.Event
		when  account.Command
	}{
		{"AddUser without a PIN", []account.Event{created}, account.AddUser{AccountID: "a1", UserID: "u1", Email: "a@example.com"}},
		{"AddUser with another user's key", []account.Event{created}, account.AddUser{AccountID: "a1", UserID: "u1", Email: "a@example.com", PIN: other}},
		{"ResetPIN in clear", []account.Event{created, u1}, account.ResetPIN{AccountID: "a1", UserID: "u1", PIN: plain}},
		{"Register with another user's key", invited, account.Register{AccountID: "a1", UserID: "u2", InviteID: "i", TokenHash: "h",
			PasswordHash: other, PIN: sealedUser("u2", 2)}},
		{"Register without a PIN", invited, account.Register{AccountID: "a1", UserID: "u2", InviteID: "i", TokenHash: "h", PasswordHash: sealedUser("u2", 1)}},
		{"CreateBot with a user's key", ent, account.CreateBot{AccountID: "a1", BotID: "b1", DisplayName: "b", SecurityToken: sealedUser("b1", 1)}},
		{"RegenerateBotToken in clear", append(ent, bot), account.RegenerateBotToken{AccountID: "a1", BotID: "b1", SecurityToken: domain.Sealed{Data: []byte("t")}}},
	}
	for _, tc := range cases {
		if _, err := account.Decide(given(tc.given...), tc.when, now); !errors.Is(err, account.ErrUnsealed) || domain.KindOf(err) != domain.KindInvalid {
			t.Errorf("%s: want ErrUnsealed, got %v", tc.name, err)
		}
	}
	got, err := account.Decide(given(invited...), account.Register{AccountID: "a1", UserID: "u2", InviteID: "i", TokenHash: "h",
		PasswordHash: sealedUser("u2", 1), PIN: sealedUser("u2", 2), DisplayName: "C"}, now)
	want := []account.Event{account.UserRegistered{UserID: "u2", InviteID: "i", PasswordHash: sealedUser("u2", 1), PIN: sealedUser("u2", 2), DisplayName: "C", At: now}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("register: %#v %v", got, err)
	}
}
