package sso

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/network"
)

// GrantAuthorizationCode is the one grant GetOidcInfo exchanges (its grantType's default).
const GrantAuthorizationCode = "authorization_code"

// TokenRequest is GetOidcInfo's token members (all optional in the model). A request with any of
// them asks for tokens: the authorization code is exchanged at the provider's token endpoint (found
// by discovery at url), with the PKCE verifier when one is given. url, clientId, the client secret
// and redirectUri default to the network's configuration (the saved secret only for the saved
// client id at the saved issuer); certificate is a CA the provider's TLS certificate may chain to, as in discovery.
type TokenRequest struct {
	ClientID, Code, GrantType, RedirectURI, URL, ClientSecret, CodeVerifier, Certificate string
}

// Asked reports whether the request has a token member.
func (r TokenRequest) Asked() bool { return r != TokenRequest{} }

// TokenInfo is the model's OidcTokenInfo: the provider's tokens, and the PKCE verifier of the
// exchange with its S256 challenge.
type TokenInfo struct {
	CodeVerifier  string `json:"codeVerifier,omitempty"`
	CodeChallenge string `json:"codeChallenge,omitempty"`
	AccessToken   string `json:"accessToken,omitempty"`
	IDToken       string `json:"idToken,omitempty"`
	RefreshToken  string `json:"refreshToken,omitempty"`
	TokenType     string `json:"tokenType,omitempty"`
	ExpiresIn     int64  `json:"expiresIn,omitempty"`
}

// OIDCInfo is GetOidcInfo: the network's SSO configuration and, when req asks for tokens, the
// exchange's. Without token members a network with no configuration is ResourceNotFoundError; with
// them the configuration is nil when there is none (a configuration being tried before it is saved).
func (s *Service) OIDCInfo(ctx context.Context, awsAccountID, region, networkID string, req TokenRequest) (*network.OIDCConfig, *TokenInfo, error) {
	if !req.Asked() {
		cfg, err := s.Info(ctx, awsAccountID, region, networkID)
		if err != nil {
			return nil, nil, err
		}
		return &cfg, nil, nil
	}
	if err := wickr.ValidNetworkID("networkId", networkID); err != nil {
		return nil, nil, err
	}
	st, err := s.state(ctx, awsAccountID, region, networkID)
	if err != nil {
		return nil, nil, err
	}
	tok, err := s.exchange(ctx, st.OIDC, req)
	if err != nil {
		return nil, nil, err
	}
	return st.OIDC, &tok, nil
}

// exchange exchanges the request's authorization code at the provider.
func (s *Service) exchange(ctx context.Context, cfg *network.OIDCConfig, req TokenRequest) (TokenInfo, error) {
	conf, issuer, err := s.tokenClient(ctx, cfg, req)
	if err != nil {
		return TokenInfo{}, err
	}
	d, err := s.discover(ctx, "url", issuer, req.Certificate)
	if err != nil {
		return TokenInfo{}, err
	}
	conf.Endpoint = oauth2.Endpoint{AuthURL: d.AuthorizationEndpoint, TokenURL: d.TokenEndpoint}
	hc, err := s.client(req.Certificate)
	if err != nil {
		return TokenInfo{}, err
	}
	// The code and the secret go to the token endpoint only: a redirect is a failed exchange.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	var opts []oauth2.AuthCodeOption
	if req.CodeVerifier != "" {
		opts = append(opts, oauth2.VerifierOption(req.CodeVerifier))
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, hc), DiscoveryTimeout)
	defer cancel()
	tok, err := conf.Exchange(ctx, req.Code, opts...)
	if err != nil {
		return TokenInfo{}, exchangeError(err, d.TokenEndpoint)
	}
	out := TokenInfo{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, TokenType: tok.TokenType, ExpiresIn: tok.ExpiresIn}
	out.IDToken, _ = tok.Extra("id_token").(string)
	if req.CodeVerifier != "" {
		out.CodeVerifier, out.CodeChallenge = req.CodeVerifier, oauth2.S256ChallengeFromVerifier(req.CodeVerifier)
	}
	return out, nil
}

// tokenClient is the OAuth client of an exchange (its endpoint left to discovery) and the provider's
// issuer: the request's members over the network's configuration, each checked.
func (s *Service) tokenClient(ctx context.Context, cfg *network.OIDCConfig, req TokenRequest) (oauth2.Config, string, error) {
	saved := cfg
	if saved == nil {
		saved = &network.OIDCConfig{}
	}
	conf := oauth2.Config{ClientID: cmp.Or(req.ClientID, saved.ClientID), ClientSecret: req.ClientSecret,
		RedirectURL: cmp.Or(req.RedirectURI, saved.RedirectURL)}
	issuer := cmp.Or(req.URL, saved.Issuer)
	var errs []error
	if g := req.GrantType; g != "" && g != GrantAuthorizationCode {
		errs = append(errs, wickr.Invalid("grantType", "must be %s (the grant GetOidcInfo exchanges), got %q", GrantAuthorizationCode, g))
	}
	if req.Code == "" {
		errs = append(errs, wickr.Invalid("code", "is required to retrieve tokens"))
	}
	if issuer == "" {
		errs = append(errs, wickr.Invalid("url", "is required: the network has no SSO configuration to take the provider from"))
	}
	if conf.ClientID == "" {
		errs = append(errs, wickr.Invalid("clientId", "is required: the network has no SSO configuration to take the client from"))
	}
	if u, err := url.Parse(conf.RedirectURL); conf.RedirectURL == "" || err != nil || !u.IsAbs() {
		errs = append(errs, wickr.Invalid("redirectUri", "must be the absolute redirect URI the code was issued for, got %q", conf.RedirectURL))
	}
	if err := errors.Join(errs...); err != nil {
		return oauth2.Config{}, "", err
	}
	// The saved secret goes only to the saved provider, for the saved client: with a url of the
	// request's own it would be sent to whatever token endpoint that url's discovery names.
	if conf.ClientSecret == "" && cfg != nil && conf.ClientID == cfg.ClientID && issuer == cfg.Issuer && !cfg.Secret.IsZero() {
		secret, err := s.d.Keys.OpenSealed(ctx, cfg.Secret)
		if err != nil {
			return oauth2.Config{}, "", err
		}
		conf.ClientSecret = string(secret)
	}
	return conf, issuer, nil
}

// exchangeError names the member behind a failed exchange: the client's credentials when the
// provider refused them, the code when it refused the grant, the provider when it could not answer.
func exchangeError(err error, tokenEndpoint string) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return wickr.Invalid("url", "the provider's token endpoint %s could not be reached: %s", tokenEndpoint, shortError(domain.QuietNet(err)))
	}
	reason := re.ErrorCode
	if re.ErrorDescription != "" {
		reason += ": " + re.ErrorDescription
	}
	if re.ErrorCode == "" {
		reason = err.Error()
	}
	reason = shortError(errors.New(reason)) // the provider's words, bounded
	switch re.ErrorCode {
	case "invalid_client", "unauthorized_client":
		return wickr.Invalid("clientSecret", "the provider refused the client's credentials (%s)", reason)
	}
	return wickr.Invalid("code", "the provider refused the authorization code (%s)", reason)
}
