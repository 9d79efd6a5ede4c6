package securitygroup_test

import (
	"reflect"
	"testing"

	"github.com/belfry/belfry/domain/wickr"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
)

func ptr[T any](v T) *T { return &v }

var (
	premium  = sg.Context{Region: "eu-west-2", Premium: true}
	standard = sg.Context{Region: "eu-west-2"}
	virginia = sg.Context{Region: "us-east-1", Premium: true}
	trial    = sg.Context{Region: "eu-west-2", Premium: true, Trial: true}
	withSSO  = sg.Context{Region: "eu-west-2", SSO: true}
)

func TestDefaultsAreValid(t *testing.T) {
	t.Parallel()
	d := sg.Defaults()
	if err := sg.Validate(d, standard); err != nil {
		t.Fatal(err)
	}
	if !d.EnableFileDownload || d.MaxAutoDownloadSize != sg.DownloadHighQuality || d.PasswordRequirements.MinLength != 8 {
		t.Fatal("file download is on by default, best quality, passwords of 8 or more")
	}
}

// TestRules: given the defaults, when a patch is applied in a context, then these fields are refused.
func TestRules(t *testing.T) {
	t.Parallel()
	restricted := sg.Patch{GlobalFederation: ptr(true), EnableRestrictedGlobalFederation: ptr(true)}
	cases := []struct {
		name   string
		ctx    sg.Context
		patch  sg.Patch
		fields []string
	}{
		{"video needs audio", premium, sg.Patch{Calling: &sg.CallingPatch{CanStart11Call: ptr(false), CanVideoCall: ptr(true)}}, []string{"calling.canVideoCall"}},
		{"force open access needs the option", premium, sg.Patch{ForceOpenAccess: ptr(true)}, []string{"forceOpenAccess"}},
		{"maps need location", premium, sg.Patch{LocationEnabled: ptr(false), LocationAllowMaps: ptr(true)}, []string{"locationAllowMaps"}},
		{"a download size needs downloads", premium, sg.Patch{EnableFileDownload: ptr(false), MaxAutoDownloadSize: ptr(sg.DownloadLowQuality)}, []string{"maxAutoDownloadSize"}},
		{"only the two download sizes", premium, sg.Patch{MaxAutoDownloadSize: ptr(int64(1000))}, []string{"maxAutoDownloadSize"}},
		{"downloads off is Premium", standard, sg.Patch{EnableFileDownload: ptr(false)}, []string{"enableFileDownload"}},
		{"ATAK packages need ATAK", premium, sg.Patch{AtakPackageValues: &[]string{sg.AtakCivilian}}, []string{"atakPackageValues"}},
		{"only the two ATAK packages", premium, sg.Patch{EnableAtak: ptr(true), AtakPackageValues: &[]string{"com.example"}}, []string{"atakPackageValues[0]"}},
		{"shredder intensities", premium, sg.Patch{Shredder: &sg.ShredderPatch{Intensity: ptr(30)}}, []string{"shredder.intensity"}},
		{"empty quick response", premium, sg.Patch{QuickResponses: &[]string{"OK", " "}}, []string{"quickResponses[1]"}},
		{"negative timers", premium, sg.Patch{MaxBor: ptr(-1), MaxTTL: ptr(int64(-1))}, []string{"maxBor", "maxTtl"}},
		{"device lockout below lockout", premium, sg.Patch{LockoutThreshold: ptr(5), ForceDeviceLockout: ptr(5)}, []string{"forceDeviceLockout"}},
		{"negative lockout", premium, sg.Patch{LockoutThreshold: ptr(-1)}, []string{"lockoutThreshold"}},
		{"passwords of 8 or more", premium, sg.Patch{PasswordRequirements: &sg.PasswordPatch{MinLength: ptr(7), Symbols: ptr(-1)}}, []string{"passwordRequirements.symbols", "passwordRequirements.minLength"}},
		{"federation modes", premium, sg.Patch{FederationMode: ptr(3)}, []string{"federationMode"}},
		{"permitted networks need restricted mode", premium, sg.Patch{FederationMode: ptr(1), PermittedNetworks: &[]string{"12345678"}}, []string{"permittedNetworks"}},
		{"permitted networks are network ids", premium, sg.Patch{FederationMode: ptr(2), PermittedNetworks: &[]string{"1234"}}, []string{"permittedNetworks[0]"}},
		{"restricted global needs global", premium, sg.Patch{EnableRestrictedGlobalFederation: ptr(true)}, []string{"enableRestrictedGlobalFederation"}},
		{"permitted AWS networks need restricted global", premium, sg.Patch{GlobalFederation: ptr(true), PermittedWickrAWSNetworks: &[]sg.AWSNetwork{{Region: "eu-west-2", NetworkID: "12345678"}}}, []string{"enableRestrictedGlobalFederation"}},
		{"permitted AWS networks are checked", premium, func() sg.Patch {
			p := restricted
			p.PermittedWickrAWSNetworks = &[]sg.AWSNetwork{{Region: "mars-1", NetworkID: "x"}}
			return p
		}(), []string{"permittedWickrAwsNetworks[0].region", "permittedWickrAwsNetworks[0].networkId"}},
		{"permitted Enterprise networks are checked", premium, func() sg.Patch {
			p := restricted
			p.PermittedWickrEnterpriseNetworks = &[]sg.EnterpriseNetwork{{Domain: "", NetworkID: "12345678"}}
			return p
		}(), []string{"permittedWickrEnterpriseNetworks[0].domain"}},
		{"no guests on the trial", trial, sg.Patch{GlobalFederation: ptr(true), EnableGuestFederation: ptr(true)}, []string{"enableGuestFederation"}},
		{"guests need global federation outside us-east-1", premium, sg.Patch{FederationMode: ptr(1), EnableGuestFederation: ptr(true)}, []string{"enableGuestFederation"}},
		{"guests need local federation in us-east-1", virginia, sg.Patch{GlobalFederation: ptr(true), EnableGuestFederation: ptr(true)}, []string{"enableGuestFederation"}},
		{"master recovery key needs SSO", premium, sg.Patch{ShowMasterRecoveryKey: ptr(true)}, []string{"showMasterRecoveryKey"}},
		{"SSO idle timeout needs SSO", premium, sg.Patch{SSOMaxIdleMinutes: ptr(30)}, []string{"ssoMaxIdleMinutes"}},
		{"guests with global federation outside us-east-1", premium, sg.Patch{GlobalFederation: ptr(true), EnableGuestFederation: ptr(true)}, nil},
		{"guests with local federation in us-east-1", virginia, sg.Patch{FederationMode: ptr(1), EnableGuestFederation: ptr(true)}, nil},
		{"SSO settings with SSO", withSSO, sg.Patch{ShowMasterRecoveryKey: ptr(true), SSOMaxIdleMinutes: ptr(60)}, nil},
		{"restricted global federation", premium, func() sg.Patch {
			p := restricted
			p.PermittedWickrAWSNetworks = &[]sg.AWSNetwork{{Region: "ca-central-1", NetworkID: "87654321"}}
			p.PermittedWickrEnterpriseNetworks = &[]sg.EnterpriseNetwork{{Domain: "wickr.example.com", NetworkID: "11112222"}}
			return p
		}(), nil},
		{"everything else", premium, sg.Patch{EnableAtak: ptr(true), AtakPackageValues: &[]string{sg.AtakMilitary}, Shredder: &sg.ShredderPatch{Intensity: ptr(100)},
			MaxAutoDownloadSize: ptr(sg.DownloadLowQuality), LockoutThreshold: ptr(6), ForceDeviceLockout: ptr(5), EnableFileDownload: ptr(true),
			EnableOpenAccessOption: ptr(true), ForceOpenAccess: ptr(true), MaxNonSSOSessionMinutes: ptr(480)}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sg.Apply(sg.Defaults(), tc.patch, tc.ctx)
			var fields []string
			for _, r := range wickr.Reasons(err) {
				fields = append(fields, r.Field)
			}
			if !reflect.DeepEqual(fields, tc.fields) {
				t.Fatalf("want fields %v, got %v (%v)", tc.fields, fields, err)
			}
			if err != nil && !reflect.DeepEqual(got, sg.Defaults()) {
				t.Fatal("a refused patch changes nothing")
			}
		})
	}
}

// TestCascade: turning a switch off turns off what depends on it.
func TestCascade(t *testing.T) {
	t.Parallel()
	on, err := sg.Apply(sg.Defaults(), sg.Patch{EnableAtak: ptr(true), AtakPackageValues: &[]string{sg.AtakCivilian}, EnableOpenAccessOption: ptr(true), ForceOpenAccess: ptr(true),
		GlobalFederation: ptr(true), EnableRestrictedGlobalFederation: ptr(true), PermittedWickrAWSNetworks: &[]sg.AWSNetwork{{Region: "eu-west-2", NetworkID: "12345678"}},
		EnableGuestFederation: ptr(true), FederationMode: ptr(2), PermittedNetworks: &[]string{"12345678"}}, premium)
	if err != nil {
		t.Fatal(err)
	}
	off, err := sg.Apply(on, sg.Patch{Calling: &sg.CallingPatch{CanStart11Call: ptr(false)}, EnableOpenAccessOption: ptr(false), LocationEnabled: ptr(false),
		EnableFileDownload: ptr(false), EnableAtak: ptr(false), GlobalFederation: ptr(false), FederationMode: ptr(0)}, premium)
	if err != nil {
		t.Fatal(err)
	}
	if off.Calling.CanVideoCall || off.ForceOpenAccess || off.LocationAllowMaps || off.MaxAutoDownloadSize != 0 || off.AtakPackageValues != nil ||
		off.EnableRestrictedGlobalFederation || off.PermittedWickrAWSNetworks != nil || off.EnableGuestFederation || off.PermittedNetworks != nil {
		t.Fatalf("dependents stay on: %+v", off)
	}
	back, err := sg.Apply(off, sg.Patch{EnableFileDownload: ptr(true)}, premium)
	if err != nil || back.MaxAutoDownloadSize != sg.DownloadHighQuality {
		t.Fatalf("downloads back on take best quality: %v %d", err, back.MaxAutoDownloadSize)
	}
}
