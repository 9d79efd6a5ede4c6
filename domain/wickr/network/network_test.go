package network_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/network"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
)

const id = "12345678"

var (
	now       = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	created   = network.Created{NetworkID: id, Name: "Ops", AwsAccountID: "111122223333", Region: "eu-west-2", AccessLevel: network.Standard, At: now}
	defaultG  = network.GroupCreated{GroupID: "g0", Name: network.DefaultGroupName, IsDefault: true, Settings: sg.Defaults(), At: now}
	otherG    = network.GroupCreated{GroupID: "g1", Name: "Field", Settings: sg.Defaults(), At: now}
	premium   = network.PlanChanged{AccessLevel: network.Premium, At: now}
	onTrial   = network.PlanChanged{AccessLevel: network.Premium, Trial: true, TrialExpiresAt: now.AddDate(0, 3, 0), At: now}
	bot       = network.BotCreated{BotID: "7", Username: "helperbot", GroupID: "g1", Challenge: sealed(wickr.BotSubject("7")), At: now}
	drBot     = network.RetentionBotCreated{BotName: "compliance_12345678_bot", At: now}
	drChal    = network.RetentionChallengeIssued{Challenge: sealed(wickr.SubjectRetentionBot), At: now}
	drReg     = network.RetentionBotRegistered{Password: sealed(wickr.SubjectRetentionBot), At: now}
	oidc      = network.OIDCConfig{CompanyID: "UE1-Demo_net", Issuer: "https://login.example.com/t/v2.0/", Scopes: "openid email profile offline_access", ClientID: "app-1", CustomUsername: "upn"}
	tdf       = network.OpenTDFConfig{ClientID: "c1", ClientSecret: sealed(wickr.SubjectOpenTDF), Domain: "tdf.example.com", Provider: "Virtru"}
	guestHash = wickr.UsernameHash("guest@example.org")
)

func sealed(subject string) domain.Sealed {
	return domain.Sealed{KeyID: domain.SubjectKeyID(id, subject), Data: []byte{0xC0, 0x01}}
}

func ptr[T any](v T) *T { return &v }

func given(events ...network.Event) network.State {
	s := network.Initial()
	for _, e := range events {
		s = network.Evolve(s, e)
	}
	return s
}

func seats(n int) network.Event { return network.SeatsCounted{N: n, At: now} }

type tcase struct {
	name    string
	state   network.State
	when    network.Command
	want    []network.Event
	wantErr error
	field   string
}

func run(t *testing.T, cases []tcase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := network.Decide(tc.state, tc.when, now)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("want error %v, got %v", tc.wantErr, err)
			}
			if tc.field != "" && (len(wickr.Reasons(err)) == 0 || wickr.Reasons(err)[0].Field != tc.field) {
				t.Fatalf("want field %s, got %v", tc.field, wickr.Reasons(err))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("want %#v\ngot  %#v", tc.want, got)
			}
		})
	}
}

func TestLifecycleAndPlans(t *testing.T) {
	t.Parallel()
	create := network.Create{NetworkID: id, Name: "Ops", AwsAccountID: "111122223333", Region: "eu-west-2", AccessLevel: network.Standard, DefaultGroupID: "g0"}
	trialCreate := create
	trialCreate.EnablePremiumFreeTrial = true
	noDownloads := network.GroupUpdated{GroupID: "g1", Name: "Field", Settings: func() sg.Settings {
		s := sg.Defaults()
		s.EnableFileDownload, s.MaxAutoDownloadSize = false, 0
		return s
	}(), At: now}
	withGuests := network.GroupUpdated{GroupID: "g1", Name: "Field", Settings: func() sg.Settings {
		s := sg.Defaults()
		s.GlobalFederation, s.EnableGuestFederation = true, true
		return s
	}(), At: now}
	run(t, []tcase{
		{"create with the default group", given(), create, []network.Event{created, defaultG}, nil, ""},
		{"create on the trial", given(), trialCreate, []network.Event{network.Created{NetworkID: id, Name: "Ops", AwsAccountID: "111122223333", Region: "eu-west-2",
			AccessLevel: network.Premium, Trial: true, TrialExpiresAt: now.AddDate(0, 3, 0), At: now}, defaultG}, nil, ""},
		{"a name of 21 characters", given(), func() network.Create { c := create; c.Name = "abcdefghijklmnopqrstu"; return c }(), nil, wickr.ErrValidation, "networkName"},
		{"a blank name", given(), func() network.Create { c := create; c.Name = "  "; return c }(), nil, wickr.ErrValidation, "networkName"},
		{"an access level", given(), func() network.Create { c := create; c.AccessLevel = "GOLD"; return c }(), nil, wickr.ErrValidation, "accessLevel"},
		{"a network id of 8 digits", given(), func() network.Create { c := create; c.NetworkID = "123"; return c }(), nil, wickr.ErrValidation, "networkId"},
		{"a KMS key ARN", given(), func() network.Create { c := create; c.EncryptionKeyArn = "key"; return c }(), nil, wickr.ErrValidation, "encryptionKeyArn"},
		{"a Wickr region", given(), func() network.Create { c := create; c.Region = "us-west-2"; return c }(), nil, wickr.ErrValidation, "region"},
		{"created once", given(created), create, nil, network.ErrExists, ""},
		{"rename", given(created), network.Update{NetworkID: id, Name: "Ops 2"}, []network.Event{network.Updated{Name: "Ops 2", At: now}}, nil, ""},
		{"set a key", given(created), network.Update{NetworkID: id, Name: "Ops", EncryptionKeyArn: ptr("arn:aws:kms:eu-west-2:111122223333:key/abcd-1234")},
			[]network.Event{network.Updated{Name: "Ops", EncryptionKeyArn: "arn:aws:kms:eu-west-2:111122223333:key/abcd-1234", At: now}}, nil, ""},
		{"the same name changes nothing", given(created), network.Update{NetworkID: id, Name: "Ops"}, nil, nil, ""},
		{"another network is not found", given(created), network.Update{NetworkID: "87654321", Name: "x"}, nil, network.ErrNotFound, ""},
		{"Standard to Premium", given(created), network.ChangePlan{NetworkID: id, AccessLevel: network.Premium}, []network.Event{premium}, nil, ""},
		{"Standard to the trial", given(created, seats(30)), network.ChangePlan{NetworkID: id, Trial: true}, []network.Event{onTrial}, nil, ""},
		{"not with 31 users", given(created, seats(31)), network.ChangePlan{NetworkID: id, Trial: true}, nil, network.ErrTrialCap, ""},
		{"WickrGov allows 50", given(func() network.Event { c := created; c.Region = wickr.GovRegion; return c }(), seats(50)), network.ChangePlan{NetworkID: id, Trial: true}, []network.Event{onTrial}, nil, ""},
		{"never a second trial", given(created, onTrial, premium), network.ChangePlan{NetworkID: id, Trial: true}, nil, network.ErrTrial, ""},
		{"no trial with guest users", given(created, defaultG, otherG, withGuests), network.ChangePlan{NetworkID: id, Trial: true}, nil, network.ErrTrial, ""},
		{"from the trial to Premium", given(created, onTrial), network.ChangePlan{NetworkID: id, AccessLevel: network.Premium}, []network.Event{premium}, nil, ""},
		{"Premium to Standard turns retention off and downloads on", given(created, premium, defaultG, otherG, noDownloads, drBot, drChal, network.DataRetentionEnabled{At: now}),
			network.ChangePlan{NetworkID: id, AccessLevel: network.Standard}, []network.Event{network.PlanChanged{AccessLevel: network.Standard, At: now},
				network.DataRetentionDisabled{At: now}, network.GroupUpdated{GroupID: "g1", Name: "Field", Settings: sg.Defaults(), At: now}}, nil, ""},
		{"the same plan changes nothing", given(created), network.ChangePlan{NetworkID: id, AccessLevel: network.Standard}, nil, nil, ""},
		{"a plan", given(created), network.ChangePlan{NetworkID: id, AccessLevel: "GOLD"}, nil, wickr.ErrValidation, "accessLevel"},
		{"the trial ends on Standard", given(created, network.PlanChanged{AccessLevel: network.Premium, Trial: true, TrialExpiresAt: now, At: now}),
			network.ExpireTrial{NetworkID: id}, []network.Event{network.PlanChanged{AccessLevel: network.Standard, At: now}}, nil, ""},
		{"not before its end", given(created, onTrial), network.ExpireTrial{NetworkID: id}, nil, network.ErrTrial, ""},
		{"no trial, nothing to end", given(created), network.ExpireTrial{NetworkID: id}, nil, nil, ""},
		{"delete", given(created), network.Delete{NetworkID: id}, []network.Event{network.DeletionRequested{At: now}}, nil, ""},
		{"delete again while deleting", given(created, network.DeletionRequested{}), network.Delete{NetworkID: id}, nil, nil, ""},
		{"nothing else while deleting", given(created, network.DeletionRequested{}), network.Update{NetworkID: id, Name: "x"}, nil, network.ErrDeleting, ""},
		{"complete the deletion", given(created, network.DeletionRequested{}), network.CompleteDeletion{NetworkID: id}, []network.Event{network.Deleted{At: now}}, nil, ""},
		{"the deletion deletes the bots and the data-retention bot", given(created, defaultG, otherG, bot,
			network.BotCreated{BotID: "12", Username: "otherbot", GroupID: "g0", Challenge: sealed(wickr.BotSubject("12")), At: now}, drBot, network.DeletionRequested{}),
			network.CompleteDeletion{NetworkID: id}, []network.Event{network.BotDeleted{BotID: "12", At: now}, network.BotDeleted{BotID: "7", At: now},
				network.RetentionBotDeleted{At: now}, network.Deleted{At: now}}, nil, ""},
		{"complete without a request", given(created), network.CompleteDeletion{NetworkID: id}, nil, network.ErrDeleting, ""},
		{"a deleted network is not found", given(created, network.DeletionRequested{}, network.Deleted{}), network.Delete{NetworkID: id}, nil, network.ErrNotFound, ""},
	})
}

func TestSettingsAndRetention(t *testing.T) {
	t.Parallel()
	d := network.DefaultSettings()
	run(t, []tcase{
		{"client metrics and read receipts", given(created), network.UpdateSettings{NetworkID: id, EnableClientMetrics: ptr(true), ReadReceiptStatus: ptr(network.ReadReceiptsForceEnabled)},
			[]network.Event{network.SettingsUpdated{EnableClientMetrics: true, ReadReceiptStatus: network.ReadReceiptsForceEnabled, At: now}}, nil, ""},
		{"a read-receipt mode", given(created), network.UpdateSettings{NetworkID: id, ReadReceiptStatus: ptr("SOMETIMES")}, nil, wickr.ErrValidation, "settings.readReceiptConfig.status"},
		{"trusted data format needs OpenTDF", given(created), network.UpdateSettings{NetworkID: id, EnableTrustedDataFormat: ptr(true)}, nil, wickr.ErrValidation, "settings.enableTrustedDataFormat"},
		{"trusted data format with OpenTDF", given(created, network.OpenTDFRegistered{Config: tdf}), network.UpdateSettings{NetworkID: id, EnableTrustedDataFormat: ptr(true)},
			[]network.Event{network.SettingsUpdated{ReadReceiptStatus: d.ReadReceiptStatus, EnableTrustedDataFormat: true, At: now}}, nil, ""},
		{"a consent popup has a header", given(created), network.UpdateSettings{NetworkID: id, ConsentPopup: &network.ConsentPopup{Enabled: true, Content: "Terms"}}, nil, wickr.ErrValidation, "settings.consentPopup.header"},
		{"a consent popup has content", given(created), network.UpdateSettings{NetworkID: id, ConsentPopup: &network.ConsentPopup{Enabled: true, Header: "Terms"}}, nil, wickr.ErrValidation, "settings.consentPopup.content"},
		{"a new consent popup is version 1", given(created), network.UpdateSettings{NetworkID: id, ConsentPopup: &network.ConsentPopup{Enabled: true, Header: "H", Content: "C", CloseButtonLabel: "Accept"}},
			[]network.Event{network.SettingsUpdated{ReadReceiptStatus: d.ReadReceiptStatus, ConsentPopup: network.ConsentPopup{Enabled: true, Header: "H", Content: "C", CloseButtonLabel: "Accept", Version: 1}, At: now}}, nil, ""},
		{"nothing changed", given(created), network.UpdateSettings{NetworkID: id, EnableClientMetrics: ptr(false)}, nil, nil, ""},
		{"retention is Premium", given(created, drBot, drChal), network.UpdateSettings{NetworkID: id, DataRetention: ptr(true)}, nil, network.ErrPlan, "settings.dataRetention"},
		{"retention needs the bot", given(created, premium), network.UpdateDataRetention{NetworkID: id, Action: network.ActionEnable}, nil, network.ErrRetention, ""},
		{"retention needs its challenge", given(created, premium, drBot), network.UpdateDataRetention{NetworkID: id, Action: network.ActionEnable}, nil, network.ErrRetention, ""},
		{"enable retention on the trial", given(created, onTrial, drBot, drChal), network.UpdateDataRetention{NetworkID: id, Action: network.ActionEnable},
			[]network.Event{network.DataRetentionEnabled{At: now}}, nil, ""},
		{"through the settings", given(created, premium, drBot, drChal), network.UpdateSettings{NetworkID: id, DataRetention: ptr(true)}, []network.Event{network.DataRetentionEnabled{At: now}}, nil, ""},
		{"disable", given(created, premium, drBot, drChal, network.DataRetentionEnabled{}), network.UpdateDataRetention{NetworkID: id, Action: network.ActionDisable},
			[]network.Event{network.DataRetentionDisabled{At: now}}, nil, ""},
		{"an action", given(created), network.UpdateDataRetention{NetworkID: id, Action: "PAUSE"}, nil, wickr.ErrValidation, "actionType"},
		{"the bot on Standard", given(created), network.CreateRetentionBot{NetworkID: id}, nil, network.ErrPlan, ""},
		{"the bot on Premium", given(created, premium), network.CreateRetentionBot{NetworkID: id}, []network.Event{drBot}, nil, ""},
		{"one bot per network", given(created, premium, drBot), network.CreateRetentionBot{NetworkID: id}, nil, nil, ""},
		{"a challenge needs the bot", given(created, premium), network.IssueRetentionChallenge{NetworkID: id, Challenge: sealed(wickr.SubjectRetentionBot)}, nil, network.ErrNoRetentionBot, ""},
		{"a challenge", given(created, premium, drBot), network.IssueRetentionChallenge{NetworkID: id, Challenge: sealed(wickr.SubjectRetentionBot)}, []network.Event{drChal}, nil, ""},
		{"a challenge in clear", given(created, premium, drBot), network.IssueRetentionChallenge{NetworkID: id, Challenge: domain.Sealed{Data: []byte("pw")}}, nil, wickr.ErrUnsealed, "challenge"},
		{"no challenge after registration", given(created, premium, drBot, drChal, drReg), network.IssueRetentionChallenge{NetworkID: id, Challenge: sealed(wickr.SubjectRetentionBot)}, nil, network.ErrRetention, ""},
		{"register with the challenge", given(created, premium, drBot, drChal), network.RegisterRetentionBot{NetworkID: id, Password: sealed(wickr.SubjectRetentionBot)}, []network.Event{drReg}, nil, ""},
		{"register without a challenge", given(created, premium, drBot), network.RegisterRetentionBot{NetworkID: id, Password: sealed(wickr.SubjectRetentionBot)}, nil, network.ErrRetention, ""},
		{"register twice", given(created, premium, drBot, drChal, drReg), network.RegisterRetentionBot{NetworkID: id, Password: sealed(wickr.SubjectRetentionBot)}, nil, network.ErrRetention, ""},
		{"rotate to 12 characters", given(created, premium, drBot, drChal, drReg), network.RotateRetentionPassword{NetworkID: id, Password: sealed(wickr.SubjectRetentionBot), Length: 12},
			[]network.Event{network.RetentionPasswordRotated{Password: sealed(wickr.SubjectRetentionBot), At: now}}, nil, ""},
		{"not to 11", given(created, premium, drBot, drChal, drReg), network.RotateRetentionPassword{NetworkID: id, Password: sealed(wickr.SubjectRetentionBot), Length: 11}, nil, wickr.ErrValidation, "password"},
		{"not to the same", given(created, premium, drBot, drChal, drReg), network.RotateRetentionPassword{NetworkID: id, Password: sealed(wickr.SubjectRetentionBot), Length: 20, SameAsCurrent: true}, nil, wickr.ErrValidation, "password"},
		{"not before registration", given(created, premium, drBot, drChal), network.RotateRetentionPassword{NetworkID: id, Password: sealed(wickr.SubjectRetentionBot), Length: 20}, nil, network.ErrRetention, ""},
		{"ack the public key", given(created, premium, drBot, drChal, drReg), network.UpdateDataRetention{NetworkID: id, Action: network.ActionPubkeyMsgAck}, []network.Event{network.RetentionPubkeyAcked{At: now}}, nil, ""},
		{"not before registration either", given(created, premium, drBot, drChal), network.UpdateDataRetention{NetworkID: id, Action: network.ActionPubkeyMsgAck}, nil, network.ErrRetention, ""},
		{"delete the bot, retention goes off", given(created, premium, drBot, drChal, network.DataRetentionEnabled{}), network.DeleteRetentionBot{NetworkID: id},
			[]network.Event{network.DataRetentionDisabled{At: now}, network.RetentionBotDeleted{At: now}}, nil, ""},
		{"no bot to delete", given(created, premium), network.DeleteRetentionBot{NetworkID: id}, nil, network.ErrNoRetentionBot, ""},
		{"a bot created again seals under a key of its own", given(created, premium, drBot, drChal, network.RetentionBotDeleted{At: now}, drBot),
			network.IssueRetentionChallenge{NetworkID: id, Challenge: sealed(wickr.RetentionBotSubject(2))},
			[]network.Event{network.RetentionChallengeIssued{Challenge: sealed(wickr.RetentionBotSubject(2)), At: now}}, nil, ""},
		{"not under the deleted bot's key", given(created, premium, drBot, drChal, network.RetentionBotDeleted{At: now}, drBot),
			network.IssueRetentionChallenge{NetworkID: id, Challenge: sealed(wickr.SubjectRetentionBot)}, nil, wickr.ErrUnsealed, "challenge"},
	})
	opts := given(created).Settings.Options()
	if opts[0] != (network.Option{Name: "enableClientMetrics", Value: "false", Type: "boolean"}) || opts[1].Value != "DISABLED" {
		t.Fatalf("%v", opts)
	}
}

func TestGroupsAndBots(t *testing.T) {
	t.Parallel()
	base := given(created, defaultG, otherG)
	video := sg.Defaults()
	video.Calling.CanStart11Call, video.Calling.CanVideoCall = false, false
	run(t, []tcase{
		{"create a group", given(created, defaultG), network.CreateGroup{NetworkID: id, GroupID: "g1", Name: "Field"}, []network.Event{otherG}, nil, ""},
		{"a group name", given(created, defaultG), network.CreateGroup{NetworkID: id, GroupID: "g1", Name: " "}, nil, wickr.ErrValidation, "name"},
		{"settings are checked", given(created, defaultG), network.CreateGroup{NetworkID: id, GroupID: "g1", Name: "F", Settings: sg.Patch{FederationMode: ptr(7)}}, nil, wickr.ErrValidation, "securityGroupSettings.federationMode"},
		{"no guests on the trial", given(created, onTrial, defaultG), network.CreateGroup{NetworkID: id, GroupID: "g1", Name: "F", Settings: sg.Patch{GlobalFederation: ptr(true), EnableGuestFederation: ptr(true)}},
			nil, wickr.ErrValidation, "securityGroupSettings.enableGuestFederation"},
		{"update a group's settings", base, network.UpdateGroup{NetworkID: id, GroupID: "g1", Settings: &sg.Patch{Calling: &sg.CallingPatch{CanStart11Call: ptr(false)}}},
			[]network.Event{network.GroupUpdated{GroupID: "g1", Name: "Field", Settings: video, At: now}}, nil, ""},
		{"video needs audio", base, network.UpdateGroup{NetworkID: id, GroupID: "g1", Settings: &sg.Patch{Calling: &sg.CallingPatch{CanStart11Call: ptr(false), CanVideoCall: ptr(true)}}},
			nil, wickr.ErrValidation, "securityGroupSettings.calling.canVideoCall"},
		{"rename a group", base, network.UpdateGroup{NetworkID: id, GroupID: "g1", Name: ptr("Office")}, []network.Event{network.GroupUpdated{GroupID: "g1", Name: "Office", Settings: sg.Defaults(), At: now}}, nil, ""},
		{"an unknown group", base, network.UpdateGroup{NetworkID: id, GroupID: "g9", Name: ptr("x")}, nil, network.ErrGroupNotFound, ""},
		{"the default group stays", base, network.DeleteGroup{NetworkID: id, GroupID: "g0"}, nil, network.ErrDefaultGroup, ""},
		{"a deleted group's bots move to the default", given(created, defaultG, otherG, bot), network.DeleteGroup{NetworkID: id, GroupID: "g1"},
			[]network.Event{network.GroupDeleted{GroupID: "g1", MovedTo: "g0", At: now}, network.BotUpdated{BotID: "7", GroupID: "g0", At: now}}, nil, ""},
		{"create a bot", base, network.CreateBot{NetworkID: id, BotID: "7", Username: "HelperBot", GroupID: "g1", Challenge: bot.Challenge}, []network.Event{bot}, nil, ""},
		{"a bot's username ends in bot", base, network.CreateBot{NetworkID: id, BotID: "7", Username: "helper", GroupID: "g1", Challenge: bot.Challenge}, nil, wickr.ErrValidation, "username"},
		{"a bot is not an e-mail", base, network.CreateBot{NetworkID: id, BotID: "7", Username: "a@robot.bot", GroupID: "g1", Challenge: bot.Challenge}, nil, wickr.ErrValidation, "username"},
		{"a bot's group exists", base, network.CreateBot{NetworkID: id, BotID: "7", Username: "helperbot", GroupID: "g9", Challenge: bot.Challenge}, nil, wickr.ErrValidation, "groupId"},
		{"a bot's password is sealed", base, network.CreateBot{NetworkID: id, BotID: "7", Username: "helperbot", GroupID: "g1"}, nil, wickr.ErrUnsealed, "challenge"},
		{"a bot id", base, network.CreateBot{NetworkID: id, BotID: "x", Username: "helperbot", GroupID: "g1", Challenge: bot.Challenge}, nil, wickr.ErrValidation, "botId"},
		{"bot usernames are unique", given(created, defaultG, otherG, bot), network.CreateBot{NetworkID: id, BotID: "8", Username: "helperbot", GroupID: "g1", Challenge: sealed(wickr.BotSubject("8"))},
			nil, network.ErrBotUsernameTaken, "username"},
		{"the same bot again", given(created, defaultG, otherG, bot), network.CreateBot{NetworkID: id, BotID: "7", Username: "helperbot", GroupID: "g1", Challenge: bot.Challenge}, nil, nil, ""},
		{"update, re-password and suspend a bot", given(created, defaultG, otherG, bot),
			network.UpdateBot{NetworkID: id, BotID: "7", DisplayName: ptr("Helper"), GroupID: ptr("g0"), Challenge: ptr(bot.Challenge), Suspend: ptr(true)},
			[]network.Event{network.BotUpdated{BotID: "7", DisplayName: "Helper", GroupID: "g0", At: now}, network.BotChallengeChanged{BotID: "7", Challenge: bot.Challenge, At: now},
				network.BotSuspended{BotID: "7", At: now}}, nil, ""},
		{"unsuspend a bot", given(created, defaultG, otherG, bot, network.BotSuspended{BotID: "7"}), network.UpdateBot{NetworkID: id, BotID: "7", Suspend: ptr(false)},
			[]network.Event{network.BotUnsuspended{BotID: "7", At: now}}, nil, ""},
		{"a suspended bot cannot sign in", given(created, defaultG, otherG, bot, network.BotSuspended{BotID: "7"}), network.ActivateBot{NetworkID: id, BotID: "7"}, nil, network.ErrBotSuspended, ""},
		{"a bot signs in", given(created, defaultG, otherG, bot), network.ActivateBot{NetworkID: id, BotID: "7"}, []network.Event{network.BotSignedIn{BotID: "7", At: now}}, nil, ""},
		{"delete a bot", given(created, defaultG, otherG, bot), network.DeleteBot{NetworkID: id, BotID: "7"}, []network.Event{network.BotDeleted{BotID: "7", At: now}}, nil, ""},
		{"an unknown bot", base, network.DeleteBot{NetworkID: id, BotID: "7"}, nil, network.ErrBotNotFound, ""},
	})
}

func TestSSOGuestsAndSeats(t *testing.T) {
	t.Parallel()
	withSecret := oidc
	withSecret.Secret = sealed(wickr.SubjectOIDC)
	first := oidc
	first.ApplicationID = 1
	run(t, []tcase{
		{"register OIDC: SSO turns on", given(created), network.RegisterOIDC{NetworkID: id, Config: oidc}, []network.Event{network.OIDCRegistered{Config: first, First: true, At: now}}, nil, ""},
		{"again, unchanged", given(created, network.OIDCRegistered{Config: first}), network.RegisterOIDC{NetworkID: id, Config: oidc}, nil, nil, ""},
		{"a company id", given(created), network.RegisterOIDC{NetworkID: id, Config: func() network.OIDCConfig { c := oidc; c.CompanyID = "Demo net!"; return c }()}, nil, wickr.ErrValidation, "companyId"},
		{"an https issuer", given(created), network.RegisterOIDC{NetworkID: id, Config: func() network.OIDCConfig { c := oidc; c.Issuer = "http://login.example.com"; return c }()}, nil, wickr.ErrValidation, "issuer"},
		{"a local issuer over http", given(created), network.RegisterOIDC{NetworkID: id, Config: func() network.OIDCConfig { c := oidc; c.Issuer = "http://127.0.0.1:9998"; return c }()},
			[]network.Event{network.OIDCRegistered{Config: func() network.OIDCConfig { c := first; c.Issuer = "http://127.0.0.1:9998"; return c }(), First: true, At: now}}, nil, ""},
		{"openid among the scopes", given(created), network.RegisterOIDC{NetworkID: id, Config: func() network.OIDCConfig { c := oidc; c.Scopes = "email profile"; return c }()}, nil, wickr.ErrValidation, "scopes"},
		{"the client id", given(created), network.RegisterOIDC{NetworkID: id, Config: func() network.OIDCConfig { c := oidc; c.ClientID = ""; return c }()}, nil, wickr.ErrValidation, "userId"},
		{"a grace period of 0, 30 or 60", given(created), network.RegisterOIDC{NetworkID: id, Config: func() network.OIDCConfig { c := oidc; c.TokenRefreshGraceMinutes = 45; return c }()}, nil, wickr.ErrValidation, "tokenRefreshGraceMinutes"},
		{"a token buffer", given(created), network.RegisterOIDC{NetworkID: id, Config: func() network.OIDCConfig { c := oidc; c.SSOTokenBufferMinutes = -1; return c }()}, nil, wickr.ErrValidation, "ssoTokenBufferMinutes"},
		{"extra parameters as a query", given(created), network.RegisterOIDC{NetworkID: id, Config: func() network.OIDCConfig { c := oidc; c.ExtraAuthParams = "a=%zz"; return c }()}, nil, wickr.ErrValidation, "extraAuthParams"},
		{"a secret in clear", given(created), network.RegisterOIDC{NetworkID: id, Config: func() network.OIDCConfig { c := oidc; c.Secret = domain.Sealed{Data: []byte("s")}; return c }()}, nil, wickr.ErrUnsealed, "secret"},
		{"a sealed secret", given(created, network.OIDCRegistered{Config: first}), network.RegisterOIDC{NetworkID: id, Config: withSecret},
			[]network.Event{network.OIDCRegistered{Config: func() network.OIDCConfig { c := withSecret; c.ApplicationID = 1; return c }(), At: now}}, nil, ""},
		{"OpenTDF", given(created), network.RegisterOpenTDF{NetworkID: id, Config: tdf}, []network.Event{network.OpenTDFRegistered{Config: tdf, At: now}}, nil, ""},
		{"OpenTDF dry run", given(created), network.RegisterOpenTDF{NetworkID: id, Config: tdf, DryRun: true}, nil, nil, ""},
		{"only Virtru", given(created), network.RegisterOpenTDF{NetworkID: id, Config: func() network.OpenTDFConfig { c := tdf; c.Provider = "Other"; return c }()}, nil, wickr.ErrValidation, "provider"},
		{"an OpenTDF domain", given(created), network.RegisterOpenTDF{NetworkID: id, Config: func() network.OpenTDFConfig { c := tdf; c.Domain = "https://x"; return c }()}, nil, wickr.ErrValidation, "domain"},
		{"an OpenTDF client id", given(created), network.RegisterOpenTDF{NetworkID: id, Config: func() network.OpenTDFConfig { c := tdf; c.ClientID = ""; return c }()}, nil, wickr.ErrValidation, "clientId"},
		{"an OpenTDF secret sealed", given(created), network.RegisterOpenTDF{NetworkID: id, Config: func() network.OpenTDFConfig { c := tdf; c.ClientSecret = domain.Sealed{}; return c }()}, nil, wickr.ErrUnsealed, "clientSecret"},
		{"block a guest", given(created), network.BlockGuest{NetworkID: id, UsernameHash: guestHash, Username: "guest@example.org", Admin: "admin@example.com", Block: true},
			[]network.Event{network.GuestBlocked{UsernameHash: guestHash, Username: "guest@example.org", Admin: "admin@example.com", At: now}}, nil, ""},
		{"blocking names the guest", given(created), network.BlockGuest{NetworkID: id, UsernameHash: guestHash, Block: true}, nil, wickr.ErrValidation, "username"},
		{"a username hash", given(created), network.BlockGuest{NetworkID: id, UsernameHash: "abc", Block: true}, nil, wickr.ErrValidation, "usernameHash"},
		{"unblock", given(created, network.GuestBlocked{UsernameHash: guestHash, Username: "g"}), network.BlockGuest{NetworkID: id, UsernameHash: guestHash}, []network.Event{network.GuestUnblocked{UsernameHash: guestHash, At: now}}, nil, ""},
		{"unblock an unblocked guest", given(created), network.BlockGuest{NetworkID: id, UsernameHash: guestHash}, nil, nil, ""},
		{"take seats", given(created), network.TakeSeats{NetworkID: id, N: 50}, []network.Event{network.SeatsTaken{N: 50, At: now}}, nil, ""},
		{"the trial's cap", given(created, onTrial, seats(20)), network.TakeSeats{NetworkID: id, N: 11}, nil, network.ErrTrialCap, "users"},
		{"up to the cap", given(created, onTrial, seats(20)), network.TakeSeats{NetworkID: id, N: 10}, []network.Event{network.SeatsTaken{N: 10, At: now}}, nil, ""},
		{"at least one seat", given(created), network.TakeSeats{NetworkID: id}, nil, wickr.ErrValidation, "users"},
		{"release no more than taken", given(created, seats(3)), network.ReleaseSeats{NetworkID: id, N: 5}, []network.Event{network.SeatsReleased{N: 3, At: now}}, nil, ""},
		{"nothing to release", given(created), network.ReleaseSeats{NetworkID: id, N: 5}, nil, nil, ""},
		{"recount", given(created, seats(3)), network.CountSeats{NetworkID: id, N: 4}, []network.Event{network.SeatsCounted{N: 4, At: now}}, nil, ""},
	})
}
