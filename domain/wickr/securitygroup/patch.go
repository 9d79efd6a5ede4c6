package securitygroup

// Patch is an update of some settings: a nil member is left as it is. CreateSecurityGroup's
// SecurityGroupSettingsRequest and UpdateSecurityGroup's SecurityGroupSettings both arrive as a Patch.
type Patch struct {
	AlwaysReauthenticate             *bool                `json:"alwaysReauthenticate,omitempty"`
	AtakPackageValues                *[]string            `json:"atakPackageValues,omitempty"`
	Calling                          *CallingPatch        `json:"calling,omitempty"`
	CheckForUpdates                  *bool                `json:"checkForUpdates,omitempty"`
	EnableAtak                       *bool                `json:"enableAtak,omitempty"`
	EnableCrashReports               *bool                `json:"enableCrashReports,omitempty"`
	EnableFileDownload               *bool                `json:"enableFileDownload,omitempty"`
	EnableGuestFederation            *bool                `json:"enableGuestFederation,omitempty"`
	EnableNotificationPreview        *bool                `json:"enableNotificationPreview,omitempty"`
	EnableOpenAccessOption           *bool                `json:"enableOpenAccessOption,omitempty"`
	EnableRestrictedGlobalFederation *bool                `json:"enableRestrictedGlobalFederation,omitempty"`
	FilesEnabled                     *bool                `json:"filesEnabled,omitempty"`
	ForceDeviceLockout               *int                 `json:"forceDeviceLockout,omitempty"`
	ForceOpenAccess                  *bool                `json:"forceOpenAccess,omitempty"`
	ForceReadReceipts                *bool                `json:"forceReadReceipts,omitempty"`
	GlobalFederation                 *bool                `json:"globalFederation,omitempty"`
	IsAtoEnabled                     *bool                `json:"isAtoEnabled,omitempty"`
	IsLinkPreviewEnabled             *bool                `json:"isLinkPreviewEnabled,omitempty"`
	LocationAllowMaps                *bool                `json:"locationAllowMaps,omitempty"`
	LocationEnabled                  *bool                `json:"locationEnabled,omitempty"`
	MaxAutoDownloadSize              *int64               `json:"maxAutoDownloadSize,omitempty"`
	MaxBor                           *int                 `json:"maxBor,omitempty"`
	MaxTTL                           *int64               `json:"maxTtl,omitempty"`
	MessageForwardingEnabled         *bool                `json:"messageForwardingEnabled,omitempty"`
	PasswordRequirements             *PasswordPatch       `json:"passwordRequirements,omitempty"`
	PresenceEnabled                  *bool                `json:"presenceEnabled,omitempty"`
	QuickResponses                   *[]string            `json:"quickResponses,omitempty"`
	ShowMasterRecoveryKey            *bool                `json:"showMasterRecoveryKey,omitempty"`
	Shredder                         *ShredderPatch       `json:"shredder,omitempty"`
	SSOMaxIdleMinutes                *int                 `json:"ssoMaxIdleMinutes,omitempty"`
	MaxNonSSOSessionMinutes          *int                 `json:"maxNonSsoSessionMinutes,omitempty"`
	FederationMode                   *int                 `json:"federationMode,omitempty"`
	LockoutThreshold                 *int                 `json:"lockoutThreshold,omitempty"`
	PermittedNetworks                *[]string            `json:"permittedNetworks,omitempty"`
	PermittedWickrAWSNetworks        *[]AWSNetwork        `json:"permittedWickrAwsNetworks,omitempty"`
	PermittedWickrEnterpriseNetworks *[]EnterpriseNetwork `json:"permittedWickrEnterpriseNetworks,omitempty"`
}

// CallingPatch updates calling switches.
type CallingPatch struct {
	CanStart11Call *bool `json:"canStart11Call,omitempty"`
	CanVideoCall   *bool `json:"canVideoCall,omitempty"`
	ForceTCPCall   *bool `json:"forceTcpCall,omitempty"`
}

// ShredderPatch updates the shredder.
type ShredderPatch struct {
	CanProcessManually *bool `json:"canProcessManually,omitempty"`
	Intensity          *int  `json:"intensity,omitempty"`
}

// PasswordPatch updates password requirements.
type PasswordPatch struct {
	MinLength *int `json:"minLength,omitempty"`
	Lowercase *int `json:"lowercase,omitempty"`
	Uppercase *int `json:"uppercase,omitempty"`
	Numbers   *int `json:"numbers,omitempty"`
	Symbols   *int `json:"symbols,omitempty"`
}

func set[T any](dst *T, p *T) {
	if p != nil {
		*dst = *p
	}
}

func setSlice[T any](dst *[]T, p *[]T) {
	if p != nil {
		*dst = append([]T(nil), (*p)...)
	}
}

// merge copies the patch's members over s, without any rule.
func (p Patch) merge(s Settings) Settings {
	set(&s.AlwaysReauthenticate, p.AlwaysReauthenticate)
	setSlice(&s.AtakPackageValues, p.AtakPackageValues)
	if c := p.Calling; c != nil {
		set(&s.Calling.CanStart11Call, c.CanStart11Call)
		set(&s.Calling.CanVideoCall, c.CanVideoCall)
		set(&s.Calling.ForceTCPCall, c.ForceTCPCall)
	}
	set(&s.CheckForUpdates, p.CheckForUpdates)
	set(&s.EnableAtak, p.EnableAtak)
	set(&s.EnableCrashReports, p.EnableCrashReports)
	set(&s.EnableFileDownload, p.EnableFileDownload)
	set(&s.EnableGuestFederation, p.EnableGuestFederation)
	set(&s.EnableNotificationPreview, p.EnableNotificationPreview)
	set(&s.EnableOpenAccessOption, p.EnableOpenAccessOption)
	set(&s.EnableRestrictedGlobalFederation, p.EnableRestrictedGlobalFederation)
	set(&s.FilesEnabled, p.FilesEnabled)
	set(&s.ForceDeviceLockout, p.ForceDeviceLockout)
	set(&s.ForceOpenAccess, p.ForceOpenAccess)
	set(&s.ForceReadReceipts, p.ForceReadReceipts)
	set(&s.GlobalFederation, p.GlobalFederation)
	set(&s.IsAtoEnabled, p.IsAtoEnabled)
	set(&s.IsLinkPreviewEnabled, p.IsLinkPreviewEnabled)
	set(&s.LocationAllowMaps, p.LocationAllowMaps)
	set(&s.LocationEnabled, p.LocationEnabled)
	set(&s.MaxAutoDownloadSize, p.MaxAutoDownloadSize)
	set(&s.MaxBor, p.MaxBor)
	set(&s.MaxTTL, p.MaxTTL)
	set(&s.MessageForwardingEnabled, p.MessageForwardingEnabled)
	if pw := p.PasswordRequirements; pw != nil {
		set(&s.PasswordRequirements.MinLength, pw.MinLength)
		set(&s.PasswordRequirements.Lowercase, pw.Lowercase)
		set(&s.PasswordRequirements.Uppercase, pw.Uppercase)
		set(&s.PasswordRequirements.Numbers, pw.Numbers)
		set(&s.PasswordRequirements.Symbols, pw.Symbols)
	}
	set(&s.PresenceEnabled, p.PresenceEnabled)
	setSlice(&s.QuickResponses, p.QuickResponses)
	set(&s.ShowMasterRecoveryKey, p.ShowMasterRecoveryKey)
	if sh := p.Shredder; sh != nil {
		set(&s.Shredder.CanProcessManually, sh.CanProcessManually)
		set(&s.Shredder.Intensity, sh.Intensity)
	}
	set(&s.SSOMaxIdleMinutes, p.SSOMaxIdleMinutes)
	set(&s.MaxNonSSOSessionMinutes, p.MaxNonSSOSessionMinutes)
	set(&s.FederationMode, p.FederationMode)
	set(&s.LockoutThreshold, p.LockoutThreshold)
	setSlice(&s.PermittedNetworks, p.PermittedNetworks)
	setSlice(&s.PermittedWickrAWSNetworks, p.PermittedWickrAWSNetworks)
	setSlice(&s.PermittedWickrEnterpriseNetworks, p.PermittedWickrEnterpriseNetworks)
	return s
}
