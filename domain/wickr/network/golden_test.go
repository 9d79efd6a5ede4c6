package network_test

import (
	"testing"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/internal/eventtest"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/network"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
)

var gAt = time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.UTC)

const gNet = "56019692"

func gSealed(subject string, b ...byte) domain.Sealed {
	return domain.Sealed{KeyID: domain.SubjectKeyID(gNet, subject), Data: b}
}

// gSettings sets every member of a group's settings (the golden files must pin each field).
var gSettings = sg.Settings{
	AlwaysReauthenticate: true, AtakPackageValues: []string{sg.AtakCivilian}, Calling: sg.Calling{CanStart11Call: true, CanVideoCall: true, ForceTCPCall: true},
	CheckForUpdates: true, EnableAtak: true, EnableCrashReports: true, EnableFileDownload: true, EnableGuestFederation: true,
	EnableNotificationPreview: true, EnableOpenAccessOption: true, EnableRestrictedGlobalFederation: true, FilesEnabled: true,
	ForceDeviceLockout: 5, ForceOpenAccess: true, ForceReadReceipts: true, GlobalFederation: true, IsAtoEnabled: true,
	IsLinkPreviewEnabled: true, LocationAllowMaps: true, LocationEnabled: true, MaxAutoDownloadSize: sg.DownloadHighQuality,
	MaxBor: 86400, MaxTTL: 2592000, MessageForwardingEnabled: true,
	PasswordRequirements: sg.PasswordRequirements{MinLength: 12, Lowercase: 1, Uppercase: 1, Numbers: 2, Symbols: 1},
	PresenceEnabled:      true, QuickResponses: []string{"On my way", "Call you back"}, ShowMasterRecoveryKey: true,
	Shredder: sg.Shredder{CanProcessManually: true, Intensity: 60}, SSOMaxIdleMinutes: 60, MaxNonSSOSessionMinutes: 480,
	FederationMode: 2, LockoutThreshold: 6, PermittedNetworks: []string{"87654321"},
	PermittedWickrAWSNetworks:        []sg.AWSNetwork{{Region: "eu-west-2", NetworkID: "11223344"}},
	PermittedWickrEnterpriseNetworks: []sg.EnterpriseNetwork{{Domain: "wickr.example.com", NetworkID: "55667788"}},
}

// examples are one realistic event of every stored type, every field set (testdata/golden).
var examples = []eventtest.Example[network.Event]{
	eventtest.Ex[network.Event](network.Created{NetworkID: gNet, Name: "Field Ops", AwsAccountID: "111122223333", Region: "eu-west-2",
		AccessLevel: network.Premium, Trial: true, TrialExpiresAt: gAt.AddDate(0, network.TrialMonths, 0),
		EncryptionKeyArn: "arn:aws:kms:eu-west-2:111122223333:key/1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d", At: gAt}),
	eventtest.Ex[network.Event](network.Updated{Name: "Field Ops EU", EncryptionKeyArn: "arn:aws:kms:eu-west-2:111122223333:key/6d5c4b3a-2f1e-0d9c-8b7a-6f5e4d3c2b1a", At: gAt}),
	eventtest.Ex[network.Event](network.PlanChanged{AccessLevel: network.Premium, Trial: true, TrialExpiresAt: gAt.AddDate(0, network.TrialMonths, 0), At: gAt}),
	eventtest.Ex[network.Event](network.DeletionRequested{At: gAt}),
	eventtest.Ex[network.Event](network.Deleted{At: gAt}),
	eventtest.Ex[network.Event](network.SettingsUpdated{EnableClientMetrics: true, ReadReceiptStatus: network.ReadReceiptsForceEnabled, EnableTrustedDataFormat: true,
		ConsentPopup: network.ConsentPopup{Enabled: true, Header: "Authorised use only", Content: "Messages in this network are retained for compliance.",
			CloseButtonLabel: "I agree", Version: 3}, At: gAt}),
	eventtest.Ex[network.Event](network.DataRetentionEnabled{At: gAt}),
	eventtest.Ex[network.Event](network.DataRetentionDisabled{At: gAt}),
	eventtest.Ex[network.Event](network.GroupCreated{GroupID: "Kx3mT9qa", Name: "Default", IsDefault: true, Settings: gSettings, At: gAt}),
	eventtest.Ex[network.Event](network.GroupUpdated{GroupID: "Pq7wN2rb", Name: "Field team", Settings: gSettings, At: gAt}),
	eventtest.Ex[network.Event](network.GroupDeleted{GroupID: "Pq7wN2rb", MovedTo: "Kx3mT9qa", At: gAt}),
	eventtest.Ex[network.Event](network.BotCreated{BotID: "2001", Username: "alertsbot", DisplayName: "Alerts", GroupID: "Kx3mT9qa",
		Challenge: gSealed(wickr.BotSubject("2001"), 0x1d, 0x93, 0x4a), At: gAt}),
	eventtest.Ex[network.Event](network.BotUpdated{BotID: "2001", DisplayName: "Alerts (EU)", GroupID: "Pq7wN2rb", At: gAt}),
	eventtest.Ex[network.Event](network.BotChallengeChanged{BotID: "2001", Challenge: gSealed(wickr.BotSubject("2001"), 0x6e, 0x02, 0xb8), At: gAt}),
	eventtest.Ex[network.Event](network.BotSuspended{BotID: "2001", At: gAt}),
	eventtest.Ex[network.Event](network.BotUnsuspended{BotID: "2001", At: gAt}),
	eventtest.Ex[network.Event](network.BotSignedIn{BotID: "2001", At: gAt}),
	eventtest.Ex[network.Event](network.BotDeleted{BotID: "2001", At: gAt}),
	eventtest.Ex[network.Event](network.RetentionBotCreated{BotName: "compliance_56019692_bot", At: gAt}),
	eventtest.Ex[network.Event](network.RetentionChallengeIssued{Challenge: gSealed(wickr.SubjectRetentionBot, 0x44, 0xc1, 0x7f), At: gAt}),
	eventtest.Ex[network.Event](network.RetentionBotRegistered{Password: gSealed(wickr.SubjectRetentionBot, 0x90, 0x3e, 0x15), At: gAt}),
	eventtest.Ex[network.Event](network.RetentionPasswordRotated{Password: gSealed(wickr.SubjectRetentionBot, 0xab, 0x58, 0x26), At: gAt}),
	eventtest.Ex[network.Event](network.RetentionPubkeyAcked{At: gAt}),
	eventtest.Ex[network.Event](network.RetentionBotDeleted{At: gAt}),
	eventtest.Ex[network.Event](network.OIDCRegistered{Config: network.OIDCConfig{CompanyID: "UE1-FieldOps", Issuer: "https://login.example.com/tenant/v2.0/",
		Scopes: "openid email profile offline_access", ClientID: "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b", Secret: gSealed(wickr.SubjectOIDC, 0x7b, 0x0c, 0xd9),
		CustomUsername: "upn", ExtraAuthParams: "prompt=select_account", RedirectURL: "https://messaging-pro-prod.wickr.com/deeplink/oidc.php",
		SSOTokenBufferMinutes: 10, TokenRefreshGraceMinutes: 1440, ApplicationID: 4}, First: true, At: gAt}),
	eventtest.Ex[network.Event](network.OpenTDFRegistered{Config: network.OpenTDFConfig{ClientID: "wickr-tdf", ClientSecret: gSealed(wickr.SubjectOpenTDF, 0x38, 0xf4, 0x61),
		Domain: "tdf.example.com", Provider: "Virtru"}, At: gAt}),
	eventtest.Ex[network.Event](network.GuestBlocked{UsernameHash: wickr.UsernameHash("dana.guest@example.org"), Username: "dana.guest@example.org",
		Admin: "arn:aws:iam::111122223333:user/ops", At: gAt}),
	eventtest.Ex[network.Event](network.GuestUnblocked{UsernameHash: wickr.UsernameHash("dana.guest@example.org"), At: gAt}),
	eventtest.Ex[network.Event](network.SeatsTaken{N: 50, At: gAt}),
	eventtest.Ex[network.Event](network.SeatsReleased{N: 2, At: gAt}),
	eventtest.Ex[network.Event](network.SeatsCounted{N: 48, At: gAt}),
}

// TestEventTable checks the network's event table against the package and its golden files (run with
// BELFRY_UPDATE_GOLDEN=1 to write the file of a new event type).
func TestEventTable(t *testing.T) {
	t.Parallel()
	eventtest.Check(t, network.Events, examples...)
}
