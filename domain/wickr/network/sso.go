package network

import (
	"net"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
)

// OIDC and OpenTDF bounds.
const (
	MaxCompanyID = 128
	// OpenTDFProvider is the only OpenTDF provider the model supports.
	OpenTDFProvider = "Virtru"
)

// GraceMinutes are the token-refresh grace periods of guide §4.3 (0, the default, logs a user out at
// the first failed refresh).
var GraceMinutes = []int{0, 30, 60}

var (
	// A company id is letters, digits and underscores (guide §4.1), optionally after a region prefix
	// such as "UE1-" (guide §21.9's example UE1-DemoNetworkW_drqtva).
	companyID = regexp.MustCompile(`^([A-Z0-9]{2,4}-)?[A-Za-z0-9_]+$`)
	claimName = regexp.MustCompile(`^[A-Za-z0-9_.:-]+$`)
	hostname  = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$`)
)

// OIDCConfig is the network's SSO configuration (RegisterOidcConfig, guide §4.1). ClientID is the
// model's userId ("also referred to as clientID"); ApplicationID (1–10) is assigned here.
type OIDCConfig struct {
	CompanyID                string        `json:"companyId"`
	Issuer                   string        `json:"issuer"`
	Scopes                   string        `json:"scopes"`
	ClientID                 string        `json:"clientId"`
	Secret                   domain.Sealed `json:"secret,omitzero"`
	CustomUsername           string        `json:"customUsername,omitempty"`
	ExtraAuthParams          string        `json:"extraAuthParams,omitempty"`
	RedirectURL              string        `json:"redirectUrl,omitempty"`
	SSOTokenBufferMinutes    int           `json:"ssoTokenBufferMinutes"`
	TokenRefreshGraceMinutes int           `json:"tokenRefreshGraceMinutes"`
	ApplicationID            int           `json:"applicationId"`
}

// OpenTDFConfig is the network's OpenTDF configuration (RegisterOpentdfConfig).
type OpenTDFConfig struct {
	ClientID     string        `json:"clientId"`
	ClientSecret domain.Sealed `json:"clientSecret"`
	Domain       string        `json:"domain"`
	Provider     string        `json:"provider"`
}

// RegisterOIDC saves the SSO configuration; the first one turns SSO on, which signs active users out
// (guide §4.2). Company ids are unique across networks: the caller claims the id first (package
// directory, CompanyIDStream), at the configuration's generation it read (State.OIDCGeneration).
type RegisterOIDC struct {
	NetworkID string
	Config    OIDCConfig
}

// RegisterOpenTDF saves the OpenTDF configuration; with DryRun it only validates it.
type RegisterOpenTDF struct {
	NetworkID string
	Config    OpenTDFConfig
	DryRun    bool
}

func (c RegisterOIDC) target() string    { return c.NetworkID }
func (c RegisterOpenTDF) target() string { return c.NetworkID }

// ValidIssuer checks an OIDC issuer: an absolute https URL (http only on a loopback host, for a
// provider on the same machine).
func ValidIssuer(field, issuer string) error {
	u, err := url.Parse(issuer)
	if issuer == "" {
		return wickr.Invalid(field, "is required")
	}
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && loopback(u.Hostname()))) {
		return wickr.Invalid(field, "must be an https URL such as https://login.example.com, got %q", issuer)
	}
	return nil
}

func loopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

// ValidScopes checks OIDC scopes: space-separated, with openid among them.
func ValidScopes(field, scopes string) error {
	if !slices.Contains(strings.Fields(scopes), "openid") {
		return wickr.Invalid(field, "must be space-separated scopes including openid, got %q", scopes)
	}
	return nil
}

func validOIDC(networkID string, c OIDCConfig) error {
	switch {
	case c.CompanyID == "":
		return wickr.Invalid("companyId", "is required")
	case len(c.CompanyID) > MaxCompanyID || !companyID.MatchString(c.CompanyID):
		return wickr.Invalid("companyId", "must be letters, digits and underscores (at most %d), got %q", MaxCompanyID, c.CompanyID)
	case c.ClientID == "":
		return wickr.Invalid("userId", "the client id is required (guide §4.1)")
	case c.CustomUsername != "" && !claimName.MatchString(c.CustomUsername):
		return wickr.Invalid("customUsername", "must be the name of a token claim such as upn, got %q", c.CustomUsername)
	case c.SSOTokenBufferMinutes < 0:
		return wickr.Invalid("ssoTokenBufferMinutes", "must not be negative, got %d", c.SSOTokenBufferMinutes)
	case !slices.Contains(GraceMinutes, c.TokenRefreshGraceMinutes):
		return wickr.Invalid("tokenRefreshGraceMinutes", "must be 0, 30 or 60, got %d", c.TokenRefreshGraceMinutes)
	}
	if _, err := url.ParseQuery(c.ExtraAuthParams); err != nil {
		return wickr.Invalid("extraAuthParams", "must be a query string such as prompt=login, got %q", c.ExtraAuthParams)
	}
	if u, err := url.Parse(c.RedirectURL); c.RedirectURL != "" && (err != nil || !u.IsAbs()) {
		return wickr.Invalid("redirectUrl", "must be an absolute URL, got %q", c.RedirectURL)
	}
	if err := ValidIssuer("issuer", c.Issuer); err != nil {
		return err
	}
	if err := ValidScopes("scopes", c.Scopes); err != nil {
		return err
	}
	if !c.Secret.IsZero() {
		return wickr.CheckSealed(networkID, wickr.SubjectOIDC, "secret", c.Secret)
	}
	return nil
}

func validOpenTDF(networkID string, c OpenTDFConfig) error {
	switch {
	case strings.TrimSpace(c.ClientID) == "":
		return wickr.Invalid("clientId", "is required")
	case !hostname.MatchString(c.Domain):
		return wickr.Invalid("domain", "must be the host name of the OpenTDF server, got %q", c.Domain)
	case c.Provider != OpenTDFProvider:
		return wickr.Invalid("provider", "only %s is supported, got %q", OpenTDFProvider, c.Provider)
	}
	return wickr.CheckSealed(networkID, wickr.SubjectOpenTDF, "clientSecret", c.ClientSecret)
}

func decideSSO(s State, c Command, now time.Time) ([]Event, bool, error) {
	switch c := c.(type) {
	case RegisterOIDC:
		if err := validOIDC(s.ID, c.Config); err != nil {
			return nil, true, err
		}
		cfg := c.Config
		cfg.ApplicationID = 1
		if s.OIDC != nil {
			cfg.ApplicationID = s.OIDC.ApplicationID
			if reflect.DeepEqual(*s.OIDC, cfg) {
				return nil, true, nil
			}
		}
		return []Event{OIDCRegistered{Config: cfg, First: s.OIDC == nil, At: now}}, true, nil
	case RegisterOpenTDF:
		if err := validOpenTDF(s.ID, c.Config); err != nil {
			return nil, true, err
		}
		if c.DryRun || s.OpenTDF != nil && reflect.DeepEqual(*s.OpenTDF, c.Config) {
			return nil, true, nil
		}
		return []Event{OpenTDFRegistered{Config: c.Config, At: now}}, true, nil
	}
	return nil, false, nil
}

func evolveSSO(s *State, e Event) bool {
	switch e := e.(type) {
	case OIDCRegistered:
		cfg := e.Config
		s.OIDC = &cfg
		s.OIDCGeneration++
	case OpenTDFRegistered:
		cfg := e.Config
		s.OpenTDF = &cfg
	default:
		return false
	}
	return true
}
