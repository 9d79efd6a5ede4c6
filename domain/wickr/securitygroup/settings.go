// Package securitygroup is the settings catalogue of a Wickr security group (guide §3.3, the model's
// SecurityGroupSettings): its members, defaults, and the rules between them. Groups themselves live
// on the network stream (package network); this package is pure values and validation.
//
// Rules (each failure is a wickr.FieldError naming the member under "securityGroupSettings"):
//   - calling.canVideoCall needs calling.canStart11Call; forceOpenAccess needs enableOpenAccessOption;
//     locationAllowMaps needs locationEnabled; maxAutoDownloadSize needs enableFileDownload and is
//     512000 (low quality) or 7340032 (best quality); atakPackageValues need enableAtak and are
//     com.atakmap.app.civ or com.atakmap.app.mil.
//   - Turning a switch off in an update turns off what depends on it unless the same update sets
//     the dependent member (then the conflict is an error): this is the console's behaviour, where
//     the dependent checkbox disappears with its parent.
//   - shredder.intensity is 0, 20, 60 or 100; maxBor, maxTtl, ssoMaxIdleMinutes,
//     maxNonSsoSessionMinutes, lockoutThreshold and forceDeviceLockout are not negative;
//     forceDeviceLockout is below lockoutThreshold when both are set (0 turns either off).
//   - passwordRequirements.minLength is at least 8 (guide §21.6); the counts are not negative.
//   - federationMode is 0 (none), 1 (federated) or 2 (restricted); permittedNetworks (8-digit
//     network ids) only with mode 2. enableRestrictedGlobalFederation needs globalFederation, and the
//     permitted AWS (region + network id) and Enterprise (domain + network id) networks need
//     enableRestrictedGlobalFederation.
//   - enableGuestFederation: not on the Premium free trial (guide §7.2); it needs local federation
//     (federationMode ≠ 0) in us-east-1 and globalFederation in every other region (guide §15.2).
//   - enableFileDownload can be turned off only on Premium and the trial (guide §12).
//   - showMasterRecoveryKey and ssoMaxIdleMinutes can be turned on only in a network with SSO.
package securitygroup

import "time"

// Allowed values.
const (
	DownloadLowQuality   int64 = 512000
	DownloadHighQuality  int64 = 7340032
	AtakCivilian               = "com.atakmap.app.civ"
	AtakMilitary               = "com.atakmap.app.mil"
	FederationNone             = 0
	FederationAll              = 1
	FederationRestricted       = 2
	// MinPasswordLength is the guide's lowest minimum password length.
	MinPasswordLength = 8
	// DefaultLockoutThreshold is how many failed sign-ins lock an account in a new group (Belfry's
	// default: the guide names the setting, not its default).
	DefaultLockoutThreshold = 10
	// LockoutDuration is how long a lockout lasts before it lifts by itself (guide §21.7).
	LockoutDuration = 24 * time.Hour
)

// ShredderIntensities are the allowed shredder.intensity values (MB per minute).
var ShredderIntensities = []int{0, 20, 60, 100}

// Calling are the calling switches.
type Calling struct {
	CanStart11Call bool `json:"canStart11Call"`
	CanVideoCall   bool `json:"canVideoCall"`
	ForceTCPCall   bool `json:"forceTcpCall"`
}

// Shredder is the secure shredder's configuration.
type Shredder struct {
	CanProcessManually bool `json:"canProcessManually"`
	Intensity          int  `json:"intensity"`
}

// PasswordRequirements are the complexity rules of users' passwords.
type PasswordRequirements struct {
	MinLength int `json:"minLength"`
	Lowercase int `json:"lowercase"`
	Uppercase int `json:"uppercase"`
	Numbers   int `json:"numbers"`
	Symbols   int `json:"symbols"`
}

// AWSNetwork is a permitted AWS Wickr network of restricted global federation.
type AWSNetwork struct {
	Region    string `json:"region"`
	NetworkID string `json:"networkId"`
}

// EnterpriseNetwork is a permitted Wickr Enterprise network of restricted global federation.
type EnterpriseNetwork struct {
	Domain    string `json:"domain"`
	NetworkID string `json:"networkId"`
}

// Settings is a group's complete settings (the model's SecurityGroupSettings, plus the guide's non-SSO
// session timeout). Zero durations and sizes mean "no maximum" / "unset".
type Settings struct {
	AlwaysReauthenticate             bool                 `json:"alwaysReauthenticate"`
	AtakPackageValues                []string             `json:"atakPackageValues,omitempty"`
	Calling                          Calling              `json:"calling"`
	CheckForUpdates                  bool                 `json:"checkForUpdates"`
	EnableAtak                       bool                 `json:"enableAtak"`
	EnableCrashReports               bool                 `json:"enableCrashReports"`
	EnableFileDownload               bool                 `json:"enableFileDownload"`
	EnableGuestFederation            bool                 `json:"enableGuestFederation"`
	EnableNotificationPreview        bool                 `json:"enableNotificationPreview"`
	EnableOpenAccessOption           bool                 `json:"enableOpenAccessOption"`
	EnableRestrictedGlobalFederation bool                 `json:"enableRestrictedGlobalFederation"`
	FilesEnabled                     bool                 `json:"filesEnabled"`
	ForceDeviceLockout               int                  `json:"forceDeviceLockout"`
	ForceOpenAccess                  bool                 `json:"forceOpenAccess"`
	ForceReadReceipts                bool                 `json:"forceReadReceipts"`
	GlobalFederation                 bool                 `json:"globalFederation"`
	IsAtoEnabled                     bool                 `json:"isAtoEnabled"`
	IsLinkPreviewEnabled             bool                 `json:"isLinkPreviewEnabled"`
	LocationAllowMaps                bool                 `json:"locationAllowMaps"`
	LocationEnabled                  bool                 `json:"locationEnabled"`
	MaxAutoDownloadSize              int64                `json:"maxAutoDownloadSize"`
	MaxBor                           int                  `json:"maxBor"`
	MaxTTL                           int64                `json:"maxTtl"`
	MessageForwardingEnabled         bool                 `json:"messageForwardingEnabled"`
	PasswordRequirements             PasswordRequirements `json:"passwordRequirements"`
	PresenceEnabled                  bool                 `json:"presenceEnabled"`
	QuickResponses                   []string             `json:"quickResponses,omitempty"`
	ShowMasterRecoveryKey            bool                 `json:"showMasterRecoveryKey"`
	Shredder                         Shredder             `json:"shredder"`
	SSOMaxIdleMinutes                int                  `json:"ssoMaxIdleMinutes"`
	MaxNonSSOSessionMinutes          int                  `json:"maxNonSsoSessionMinutes"`
	FederationMode                   int                  `json:"federationMode"`
	LockoutThreshold                 int                  `json:"lockoutThreshold"`
	PermittedNetworks                []string             `json:"permittedNetworks,omitempty"`
	PermittedWickrAWSNetworks        []AWSNetwork         `json:"permittedWickrAwsNetworks,omitempty"`
	PermittedWickrEnterpriseNetworks []EnterpriseNetwork  `json:"permittedWickrEnterpriseNetworks,omitempty"`
}

// Defaults are the settings of a new group: everything a user needs is on (file download is on by
// default, guide §12; best-quality transfer), federation off, passwords of at least 8 characters,
// lockout after DefaultLockoutThreshold failures, no timer maximums.
func Defaults() Settings {
	return Settings{
		Calling:                   Calling{CanStart11Call: true, CanVideoCall: true},
		CheckForUpdates:           true,
		EnableCrashReports:        true,
		EnableFileDownload:        true,
		EnableNotificationPreview: true,
		FilesEnabled:              true,
		IsLinkPreviewEnabled:      true,
		LocationAllowMaps:         true,
		LocationEnabled:           true,
		MaxAutoDownloadSize:       DownloadHighQuality,
		MessageForwardingEnabled:  true,
		PasswordRequirements:      PasswordRequirements{MinLength: MinPasswordLength},
		PresenceEnabled:           true,
		LockoutThreshold:          DefaultLockoutThreshold,
	}
}

// Context is what the rules need to know of the network.
type Context struct {
	Region  string
	Trial   bool // on the Premium free trial
	Premium bool // Premium or the trial: Premium-only settings are available
	SSO     bool // an OIDC configuration is registered
}
