package securitygroup

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/belfry/belfry/domain/wickr"
)

// Apply returns s updated by p under the rules of the package documentation; the error joins one
// wickr.FieldError per broken rule, with fields relative to the settings ("calling.canVideoCall").
func Apply(s Settings, p Patch, ctx Context) (Settings, error) {
	m := cascade(p.merge(s), p, ctx)
	errs := []error{Validate(m, ctx)}
	if p.EnableFileDownload != nil && !*p.EnableFileDownload && s.EnableFileDownload && !ctx.Premium {
		errs = append(errs, wickr.Invalid("enableFileDownload", "turning file download off is a Premium feature (guide §12); the network is on the Standard plan"))
	}
	if p.ShowMasterRecoveryKey != nil && *p.ShowMasterRecoveryKey && !s.ShowMasterRecoveryKey && !ctx.SSO {
		errs = append(errs, wickr.Invalid("showMasterRecoveryKey", "is available in SSO-enabled networks only; register an OIDC configuration first"))
	}
	if p.SSOMaxIdleMinutes != nil && *p.SSOMaxIdleMinutes > 0 && *p.SSOMaxIdleMinutes != s.SSOMaxIdleMinutes && !ctx.SSO {
		errs = append(errs, wickr.Invalid("ssoMaxIdleMinutes", "is available in SSO-enabled networks only; register an OIDC configuration first"))
	}
	if err := errors.Join(errs...); err != nil {
		return s, err
	}
	return m, nil
}

// guestSwitchOn reports whether the federation that carries the guest switch is on: local federation
// in us-east-1, global federation elsewhere (guide §15.2).
func guestSwitchOn(s Settings, region string) bool {
	if region == "us-east-1" {
		return s.FederationMode != FederationNone
	}
	return s.GlobalFederation
}

// cascade turns off what depends on a switch that is off, unless the patch sets the dependent itself.
func cascade(s Settings, p Patch, ctx Context) Settings {
	calling := p.Calling
	if calling == nil {
		calling = &CallingPatch{}
	}
	if !s.Calling.CanStart11Call && calling.CanVideoCall == nil {
		s.Calling.CanVideoCall = false
	}
	if !s.EnableOpenAccessOption && p.ForceOpenAccess == nil {
		s.ForceOpenAccess = false
	}
	if !s.LocationEnabled && p.LocationAllowMaps == nil {
		s.LocationAllowMaps = false
	}
	if p.MaxAutoDownloadSize == nil {
		switch {
		case !s.EnableFileDownload:
			s.MaxAutoDownloadSize = 0
		case s.MaxAutoDownloadSize == 0:
			s.MaxAutoDownloadSize = DownloadHighQuality
		}
	}
	if !s.EnableAtak && p.AtakPackageValues == nil {
		s.AtakPackageValues = nil
	}
	if !s.GlobalFederation && p.EnableRestrictedGlobalFederation == nil {
		s.EnableRestrictedGlobalFederation = false
	}
	if !s.EnableRestrictedGlobalFederation {
		if p.PermittedWickrAWSNetworks == nil {
			s.PermittedWickrAWSNetworks = nil
		}
		if p.PermittedWickrEnterpriseNetworks == nil {
			s.PermittedWickrEnterpriseNetworks = nil
		}
	}
	if s.FederationMode != FederationRestricted && p.PermittedNetworks == nil {
		s.PermittedNetworks = nil
	}
	if !guestSwitchOn(s, ctx.Region) && p.EnableGuestFederation == nil {
		s.EnableGuestFederation = false
	}
	return s
}

// Validate checks complete settings against every rule that involves only the settings and the
// network's region and plan.
func Validate(s Settings, ctx Context) error {
	var errs []error
	bad := func(field, format string, a ...any) { errs = append(errs, wickr.Invalid(field, format, a...)) }
	if s.Calling.CanVideoCall && !s.Calling.CanStart11Call {
		bad("calling.canVideoCall", "video calling and screen sharing need audio calling (calling.canStart11Call)")
	}
	if s.ForceOpenAccess && !s.EnableOpenAccessOption {
		bad("forceOpenAccess", "forcing Wickr Open Access needs enableOpenAccessOption")
	}
	if s.LocationAllowMaps && !s.LocationEnabled {
		bad("locationAllowMaps", "maps in location sharing need locationEnabled")
	}
	switch {
	case s.MaxAutoDownloadSize != 0 && !s.EnableFileDownload:
		bad("maxAutoDownloadSize", "is allowed only when enableFileDownload is on")
	case s.EnableFileDownload && s.MaxAutoDownloadSize != DownloadLowQuality && s.MaxAutoDownloadSize != DownloadHighQuality:
		bad("maxAutoDownloadSize", "must be %d (low bandwidth) or %d (best quality), got %d", DownloadLowQuality, DownloadHighQuality, s.MaxAutoDownloadSize)
	}
	if len(s.AtakPackageValues) > 0 && !s.EnableAtak {
		bad("atakPackageValues", "ATAK packages need enableAtak")
	}
	for i, v := range s.AtakPackageValues {
		if v != AtakCivilian && v != AtakMilitary {
			bad(index("atakPackageValues", i), "must be %s or %s, got %q", AtakCivilian, AtakMilitary, v)
		}
	}
	if !slices.Contains(ShredderIntensities, s.Shredder.Intensity) {
		bad("shredder.intensity", "must be one of 0, 20, 60, 100, got %d", s.Shredder.Intensity)
	}
	for i, q := range s.QuickResponses {
		if strings.TrimSpace(q) == "" {
			bad(index("quickResponses", i), "must not be empty")
		}
	}
	errs = append(errs, validateNumbers(s), validateFederation(s, ctx))
	return errors.Join(errs...)
}

func validateNumbers(s Settings) error {
	var errs []error
	nonNegative := func(field string, v int64) {
		if v < 0 {
			errs = append(errs, wickr.Invalid(field, "must not be negative, got %d", v))
		}
	}
	nonNegative("maxBor", int64(s.MaxBor))
	nonNegative("maxTtl", s.MaxTTL)
	nonNegative("ssoMaxIdleMinutes", int64(s.SSOMaxIdleMinutes))
	nonNegative("maxNonSsoSessionMinutes", int64(s.MaxNonSSOSessionMinutes))
	nonNegative("lockoutThreshold", int64(s.LockoutThreshold))
	nonNegative("forceDeviceLockout", int64(s.ForceDeviceLockout))
	pw := s.PasswordRequirements
	nonNegative("passwordRequirements.lowercase", int64(pw.Lowercase))
	nonNegative("passwordRequirements.uppercase", int64(pw.Uppercase))
	nonNegative("passwordRequirements.numbers", int64(pw.Numbers))
	nonNegative("passwordRequirements.symbols", int64(pw.Symbols))
	if pw.MinLength < MinPasswordLength {
		errs = append(errs, wickr.Invalid("passwordRequirements.minLength", "must be at least %d, got %d", MinPasswordLength, pw.MinLength))
	}
	if s.ForceDeviceLockout > 0 && s.LockoutThreshold > 0 && s.ForceDeviceLockout >= s.LockoutThreshold {
		errs = append(errs, wickr.Invalid("forceDeviceLockout", "must be less than lockoutThreshold (%d), got %d", s.LockoutThreshold, s.ForceDeviceLockout))
	}
	return errors.Join(errs...)
}

func validateFederation(s Settings, ctx Context) error {
	var errs []error
	bad := func(field, format string, a ...any) { errs = append(errs, wickr.Invalid(field, format, a...)) }
	if s.FederationMode < FederationNone || s.FederationMode > FederationRestricted {
		bad("federationMode", "must be 0 (none), 1 (federated) or 2 (restricted), got %d", s.FederationMode)
	}
	if len(s.PermittedNetworks) > 0 && s.FederationMode != FederationRestricted {
		bad("permittedNetworks", "permitted networks need federationMode 2 (restricted)")
	}
	for i, id := range s.PermittedNetworks {
		if err := wickr.ValidNetworkID(index("permittedNetworks", i), id); err != nil {
			errs = append(errs, err)
		}
	}
	if s.EnableRestrictedGlobalFederation && !s.GlobalFederation {
		bad("enableRestrictedGlobalFederation", "restricted global federation needs globalFederation")
	}
	if n := len(s.PermittedWickrAWSNetworks) + len(s.PermittedWickrEnterpriseNetworks); n > 0 && !s.EnableRestrictedGlobalFederation {
		bad("enableRestrictedGlobalFederation", "permitted AWS and Enterprise networks need enableRestrictedGlobalFederation")
	}
	for i, n := range s.PermittedWickrAWSNetworks {
		f := index("permittedWickrAwsNetworks", i)
		errs = append(errs, wickr.ValidRegion(f+".region", n.Region), wickr.ValidNetworkID(f+".networkId", n.NetworkID))
	}
	for i, n := range s.PermittedWickrEnterpriseNetworks {
		f := index("permittedWickrEnterpriseNetworks", i)
		if strings.TrimSpace(n.Domain) == "" {
			bad(f+".domain", "is required")
		}
		errs = append(errs, wickr.ValidNetworkID(f+".networkId", n.NetworkID))
	}
	if s.EnableGuestFederation {
		switch {
		case ctx.Trial:
			bad("enableGuestFederation", "guest users are not available on the Premium free trial")
		case !guestSwitchOn(s, ctx.Region) && ctx.Region == "us-east-1":
			bad("enableGuestFederation", "in us-east-1 guest users are enabled with local federation (federationMode 1 or 2)")
		case !guestSwitchOn(s, ctx.Region):
			bad("enableGuestFederation", "outside us-east-1 guest users are enabled with global federation (globalFederation)")
		}
	}
	return errors.Join(errs...)
}

func index(field string, i int) string { return field + "[" + strconv.Itoa(i) + "]" }
