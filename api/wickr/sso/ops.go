package sso

import (
	"errors"
	"net/http"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/wickr/wickrproto"
	"github.com/belfry/belfry/domain/wickr/network"
)

// Operations are the slice's route table.
func (svc *Service) Operations() []awsproto.Operation {
	return []awsproto.Operation{
		{Name: "RegisterOidcConfigTest", Method: http.MethodPost, Path: "/networks/:networkId/oidc/test", ReadOnly: true, Fn: svc.testConfig},
		{Name: "RegisterOidcConfig", Method: http.MethodPost, Path: "/networks/:networkId/oidc/save", Fn: svc.register},
		{Name: "GetOidcInfo", Method: http.MethodGet, Path: "/networks/:networkId/oidc", ReadOnly: true, Fn: svc.info},
	}
}

func (svc *Service) info(k *awsproto.Call) (int, any, error) {
	id := k.Param("networkId")
	req := TokenRequest{ClientID: k.Query("clientId"), Code: k.Query("code"), GrantType: k.Query("grantType"), RedirectURI: k.Query("redirectUri"),
		URL: k.Query("url"), ClientSecret: k.Query("clientSecret"), CodeVerifier: k.Query("codeVerifier"), Certificate: k.Query("certificate")}
	cfg, tok, err := svc.OIDCInfo(k.Ctx, k.AWSAccount(), k.Region, id, req)
	if err != nil {
		return 0, nil, err
	}
	out := map[string]any{}
	if cfg != nil {
		out["openidConnectInfo"] = toWire(id, *cfg)
	}
	if tok != nil {
		out["tokenInfo"] = tok
	}
	return http.StatusOK, out, nil
}

func (svc *Service) testConfig(k *awsproto.Call) (int, any, error) {
	var in struct {
		Issuer          *string `json:"issuer"`
		Scopes          *string `json:"scopes"`
		ExtraAuthParams *string `json:"extraAuthParams"`
		Certificate     *string `json:"certificate"`
	}
	id, err := wickrproto.NetworkID(k)
	if err != nil {
		return 0, nil, err
	}
	if err := wickrproto.Decode(k, &in); err != nil {
		return 0, nil, err
	}
	if err := errors.Join(wickrproto.Required("issuer", in.Issuer), wickrproto.Required("scopes", in.Scopes)); err != nil {
		return 0, nil, err
	}
	d, err := svc.TestConfig(k.Ctx, k.AWSAccount(), k.Region, id, TestInput{Issuer: *in.Issuer, Scopes: *in.Scopes,
		ExtraAuthParams: deref(in.ExtraAuthParams), Certificate: deref(in.Certificate)})
	if err != nil {
		return 0, nil, err
	}
	out := map[string]any{"issuer": d.Issuer, "authorizationEndpoint": d.AuthorizationEndpoint, "tokenEndpoint": d.TokenEndpoint,
		"microsoftMultiRefreshToken": d.MicrosoftMultiRefreshToken}
	for name, v := range map[string]string{"userinfoEndpoint": d.UserinfoEndpoint, "endSessionEndpoint": d.EndSessionEndpoint,
		"logoutEndpoint": d.EndSessionEndpoint, "revocationEndpoint": d.RevocationEndpoint} {
		if v != "" {
			out[name] = v
		}
	}
	for name, v := range map[string][]string{"responseTypesSupported": d.ResponseTypesSupported, "scopesSupported": d.ScopesSupported,
		"grantTypesSupported": d.GrantTypesSupported, "tokenEndpointAuthMethodsSupported": d.TokenEndpointAuthMethodsSupported} {
		if v != nil {
			out[name] = v
		}
	}
	return http.StatusOK, out, nil
}

func (svc *Service) register(k *awsproto.Call) (int, any, error) {
	var in struct {
		CompanyID                *string `json:"companyId"`
		Issuer                   *string `json:"issuer"`
		Scopes                   *string `json:"scopes"`
		CustomUsername           *string `json:"customUsername"`
		ExtraAuthParams          *string `json:"extraAuthParams"`
		Secret                   *string `json:"secret"`
		SSOTokenBufferMinutes    *int    `json:"ssoTokenBufferMinutes"`
		UserID                   *string `json:"userId"`
		TokenRefreshGraceMinutes *int    `json:"tokenRefreshGraceMinutes"`
	}
	id, err := wickrproto.NetworkID(k)
	if err != nil {
		return 0, nil, err
	}
	if err := wickrproto.Decode(k, &in); err != nil {
		return 0, nil, err
	}
	if err := errors.Join(wickrproto.Required("companyId", in.CompanyID), wickrproto.Required("issuer", in.Issuer),
		wickrproto.Required("scopes", in.Scopes)); err != nil {
		return 0, nil, err
	}
	cfg, err := svc.Register(k.Ctx, k.AWSAccount(), k.Region, id, RegisterInput{CompanyID: *in.CompanyID, Issuer: *in.Issuer, Scopes: *in.Scopes,
		CustomUsername: deref(in.CustomUsername), ExtraAuthParams: deref(in.ExtraAuthParams), UserID: deref(in.UserID), Secret: in.Secret,
		SSOTokenBufferMinutes: derefInt(in.SSOTokenBufferMinutes), TokenRefreshGraceMinutes: derefInt(in.TokenRefreshGraceMinutes),
		RedirectURL: RedirectURL(k.Echo.Request(), id)})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toWire(id, cfg), nil
}

// RedirectURL is the network's SSO redirect URI on the Belfry serving the request (the Wickr network
// endpoint the guide's §4.4 registers at the provider).
func RedirectURL(r *http.Request, networkID string) string {
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/wickr/networks/" + networkID + "/oidc/callback"
}

// toWire is the model's OidcConfigInfo (and RegisterOidcConfigResponse); secrets masked.
func toWire(networkID string, c network.OIDCConfig) map[string]any {
	out := map[string]any{"companyId": c.CompanyID, "scopes": c.Scopes, "issuer": c.Issuer, "applicationName": "wickr-" + networkID,
		"applicationId": c.ApplicationID, "ssoTokenBufferMinutes": c.SSOTokenBufferMinutes, "tokenRefreshGraceMinutes": c.TokenRefreshGraceMinutes}
	for name, v := range map[string]string{"clientId": c.ClientID, "userId": c.ClientID, "customUsername": c.CustomUsername,
		"extraAuthParams": c.ExtraAuthParams, "redirectUrl": c.RedirectURL} {
		if v != "" {
			out[name] = v
		}
	}
	if !c.Secret.IsZero() {
		out["secret"], out["clientSecret"] = Masked, Masked
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefInt(n *int) int {
	if n == nil {
		return 0
	}
	return *n
}
