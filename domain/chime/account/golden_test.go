package account_test

import (
	"testing"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/internal/eventtest"
)

// The golden examples: one realistic event of every stored type, every field set, plus the shapes of
// events stored before credentials were sealed ("legacy") and the other events configuration of a bot
// ("lambda"). Their files are testdata/golden/<event type>[.<variant>].json (eventtest).
const (
	gAccount = "5e1b0f7a-3c2d-4b8e-9a61-0d4f2c7e8b93"
	gUser    = "8c3e2a71-64b0-4f5d-b1a2-97e0c5d3f468"
	gBot     = "b7d41c02-9e35-4a6f-8c10-2f5b3e7a9d64"
	gInvite  = "f02a9c6e-1b47-4d83-a5e9-6c3b8d0e2f71"
	gDomain  = "acme.example"
)

var (
	gAt       = time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.UTC)
	gUserKey  = domain.SubjectKeyID(gAccount, account.UserKeySubject(gUser))
	gBotKey   = domain.SubjectKeyID(gAccount, account.BotKeySubject(gBot))
	gSealPIN  = domain.Sealed{KeyID: gUserKey, Data: []byte("\x9a\x1c\x07\xe2\x5b\x44\x0d\xf1\x83\x6e\x2a\xc9nonce+pin+tag.........")}
	gSealPass = domain.Sealed{KeyID: gUserKey, Data: []byte("\x41\xd0\x8e\x13\xa7\x2c\x95\x6b\x0e\xf4\x58\xb3nonce+bcrypt-hash+tag..")}
	gSealTok  = domain.Sealed{KeyID: gBotKey, Data: []byte("\x07\xbb\x3d\x92\x6a\xe0\x14\x5f\xc8\x21\x79\xad" + "nonce+token+tag.......")}
)

var examples = []eventtest.Example[account.Event]{
	eventtest.Ex[account.Event](account.Created{AccountID: gAccount, AwsAccountID: "123456789012", Name: "Acme Corp", AccountType: account.TypeTeam,
		DefaultLicense: account.LicensePro, SupportedLicenses: []string{account.LicenseBasic, account.LicensePro}, CreatedAt: gAt}),
	eventtest.Ex[account.Event](account.Renamed{Name: "Acme Corporation"}),
	eventtest.Ex[account.Event](account.DefaultLicenseChanged{DefaultLicense: account.LicenseBasic}),
	eventtest.Ex[account.Event](account.SettingsUpdated{DisableRemoteControl: true, EnableDialOut: true}),
	eventtest.Ex[account.Event](account.Deleted{DeletedAt: gAt}),
	eventtest.Ex[account.Event](account.UserAdded{UserID: gUser, Email: "alice.martin@acme.example", Username: "alice.martin",
		UserType: account.UserTypePrivate, LicenseType: account.LicensePro, PIN: gSealPIN, CreatedAt: gAt}),
	eventtest.Variant[account.Event]("legacy", account.UserAdded{UserID: gUser, Email: "alice.martin@acme.example", Username: "alice.martin",
		UserType: account.UserTypePrivate, LicenseType: account.LicensePro, LegacyPIN: "4815162342", CreatedAt: gAt}),
	eventtest.Ex[account.Event](account.UserUpdated{UserID: gUser, LicenseType: account.LicenseBasic, UserType: account.UserTypeSharedDevice,
		Alexa: &account.AlexaMetadata{Enabled: true, RoomARN: "arn:aws:a4b:us-east-1:123456789012:room/3f9e1c7a2b5d4e60/boardroom"}}),
	eventtest.Ex[account.Event](account.UserSuspended{UserID: gUser}),
	eventtest.Ex[account.Event](account.UserUnsuspended{UserID: gUser, Registration: account.RegistrationRegistered}),
	eventtest.Ex[account.Event](account.UserRemoved{UserID: gUser}),
	eventtest.Ex[account.Event](account.UserLoggedOut{UserID: gUser, At: gAt}),
	eventtest.Ex[account.Event](account.PersonalPINReset{UserID: gUser, PIN: gSealPIN}),
	eventtest.Variant[account.Event]("legacy", account.PersonalPINReset{UserID: gUser, LegacyPIN: "9876543210"}),
	eventtest.Ex[account.Event](account.UserSettingsUpdated{UserID: gUser, InboundCalling: true, OutboundCalling: true, SMS: true}),
	eventtest.Ex[account.Event](account.DomainClaimAdded{Domain: gDomain, TXTName: "_amazonchime." + gDomain,
		TXTValue: "belfry-domain-verification=6b2f0e9c4d1a47538e2c", At: gAt}),
	eventtest.Ex[account.Event](account.DomainVerified{Domain: gDomain, At: gAt}),
	eventtest.Ex[account.Event](account.DomainClaimRemoved{Domain: gDomain, WasVerified: true, At: gAt, DeleteUsersAt: gAt.Add(account.UserDeletionDelay)}),
	eventtest.Ex[account.Event](account.AccountTypeChanged{AccountType: account.TypeEnterpriseLWA}),
	eventtest.Ex[account.Event](account.DomainUsersPurged{Domain: gDomain, At: gAt}),
	eventtest.Ex[account.Event](account.BotCreated{BotID: gBot, UserID: "0d6a8e42-7c19-4b35-9f80-e1c2a4b6d8f0", DisplayName: "standup-bot",
		Email: "standup-bot" + account.BotEmailSuffix + gDomain, SecurityToken: gSealTok, At: gAt}),
	eventtest.Variant[account.Event]("legacy", account.BotCreated{BotID: gBot, UserID: "0d6a8e42-7c19-4b35-9f80-e1c2a4b6d8f0", DisplayName: "standup-bot",
		Email: "standup-bot" + account.BotEmailSuffix + gDomain, LegacySecurityToken: "Yjc0ZDFjMDItOWUzNS00YTZm", At: gAt}),
	eventtest.Ex[account.Event](account.BotUpdated{BotID: gBot, Disabled: true, At: gAt}),
	eventtest.Ex[account.Event](account.BotTokenRegenerated{BotID: gBot, SecurityToken: gSealTok, At: gAt}),
	eventtest.Variant[account.Event]("legacy", account.BotTokenRegenerated{BotID: gBot, LegacySecurityToken: "OGMxMC0yZjViM2U3YTlkNjQ", At: gAt}),
	eventtest.Ex[account.Event](account.BotEventsConfigured{BotID: gBot, HTTPSEndpoint: "https://hooks.acme.example/chime/standup-bot"}),
	eventtest.Variant[account.Event]("lambda", account.BotEventsConfigured{BotID: gBot,
		LambdaARN: "arn:aws:lambda:us-east-1:123456789012:function:standup-bot"}),
	eventtest.Ex[account.Event](account.BotEventsConfigurationDeleted{BotID: gBot}),
	eventtest.Ex[account.Event](account.DelegateGroupsAssociated{Groups: []string{"chime-admins", "chime-users"}}),
	eventtest.Ex[account.Event](account.DelegateGroupsDisassociated{Groups: []string{"chime-contractors"}}),
	eventtest.Ex[account.Event](account.UserNumberAssigned{UserID: gUser, E164: "+12065550100"}),
	eventtest.Ex[account.Event](account.UserNumberUnassigned{UserID: gUser, E164: "+12065550100"}),
	// UserInvited carries no token since tokens are issued when the mail is sent (InviteTokenIssued);
	// invitations stored before that carry the token's hash.
	eventtest.Ex[account.Event](account.UserInvited{UserID: gUser, InviteID: gInvite, Email: "alice.martin@acme.example",
		ExpiresAt: gAt.Add(account.InviteTTL), At: gAt}),
	eventtest.Variant[account.Event]("legacy", account.UserInvited{UserID: gUser, InviteID: gInvite, Email: "alice.martin@acme.example",
		TokenHash: "3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b", ExpiresAt: gAt.Add(account.InviteTTL), At: gAt}),
	eventtest.Ex[account.Event](account.InviteTokenIssued{InviteID: gInvite, TokenHash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}),
	eventtest.Ex[account.Event](account.InviteEmailResult{InviteID: gInvite, Status: account.EmailSent}),
	eventtest.Ex[account.Event](account.UserRegistered{UserID: gUser, InviteID: gInvite, PasswordHash: gSealPass, DisplayName: "Alice Martin",
		PIN: gSealPIN, At: gAt}),
	eventtest.Variant[account.Event]("legacy", account.UserRegistered{UserID: gUser, InviteID: gInvite, DisplayName: "Alice Martin",
		LegacyPasswordHash: "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", LegacyPIN: "0123456789", At: gAt}),
}

// TestEventTable checks the account's event table: every event type listed, every example round-trips,
// and every golden file decodes and re-encodes byte for byte (run with BELFRY_UPDATE_GOLDEN=1 to write
// the file of a new event type).
func TestEventTable(t *testing.T) {
	t.Parallel()
	eventtest.Check(t, account.Events, examples...)
}
