package client

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	chimeusecase "github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/directory"
	"github.com/belfry/belfry/domain/wickr/network"
	"github.com/belfry/belfry/domain/wickr/roster"
)

// SSO bounds: how long a started sign-in waits for the provider's callback, and how many may wait.
const (
	SSOPendingTTL = 10 * time.Minute
	MaxSSOPending = 10_000
)

// Errors of the SSO sign-in.
var (
	ErrSSO         = &domain.Error{Kind: domain.KindForbidden, Msg: "the SSO sign-in failed"}
	ErrSSONotFound = &domain.Error{Kind: domain.KindNotFound, Msg: "no network has this company id"}
	ErrSSOBusy     = &domain.Error{Kind: domain.KindThrottled, Msg: "too many SSO sign-ins in progress"}
)

// ssoStart is a started SSO sign-in, waiting for the provider's callback (keyed by its state).
type ssoStart struct {
	networkID, verifier, nonce string
	dev                        Device
	expires                    time.Time
}

// pendingSSO holds the started sign-ins, at most MaxSSOPending, each for SSOPendingTTL; a state is
// used once.
type pendingSSO struct {
	mu sync.Mutex
	m  map[string]ssoStart
}

func newPendingSSO() *pendingSSO { return &pendingSSO{m: map[string]ssoStart{}} }

func (p *pendingSSO) put(state string, s ssoStart, now time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, v := range p.m {
		if !now.Before(v.expires) {
			delete(p.m, k)
		}
	}
	if len(p.m) >= MaxSSOPending {
		return domain.Wrapf(ErrSSOBusy, "too many SSO sign-ins are waiting for their provider; try again in a few minutes")
	}
	p.m[state] = s
	return nil
}

func (p *pendingSSO) take(state string, now time.Time) (ssoStart, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.m[state]
	delete(p.m, state)
	return s, ok && now.Before(s.expires)
}

// companyNetwork is the network that claimed a company id.
func (s *Service) companyNetwork(ctx context.Context, companyID string) (string, error) {
	name := strings.ToLower(companyID)
	var owner string
	_, err := s.d.Companies.Repo.ExecuteFunc(ctx, directory.CompanyIDStream(name), func(st directory.State, _ time.Time) ([]directory.Event, error) {
		owner = st.Owners[name]
		return nil, nil
	})
	if err == nil && owner == "" {
		err = domain.Wrapf(ErrSSONotFound, "no network has the company id %q: check it, with its region prefix", companyID)
	}
	return owner, err
}

// oauth is the network's OAuth client at its provider (discovered from the issuer).
func (s *Service) oauth(ctx context.Context, networkID string, cfg *network.OIDCConfig) (*oidc.Provider, oauth2.Config, error) {
	ctx = oidc.ClientContext(ctx, s.d.IdP)
	if cfg == nil {
		return nil, oauth2.Config{}, domain.Wrapf(roster.ErrSSOOnly, "network %s has no SSO configuration: sign in with the password", networkID)
	}
	p, err := oidc.NewProvider(ctx, cfg.Issuer)
	if err != nil {
		return nil, oauth2.Config{}, domain.Wrapf(ErrSSO, "the identity provider %s cannot be reached: %s", cfg.Issuer, domain.NetReason(err))
	}
	c := oauth2.Config{ClientID: cfg.ClientID, Endpoint: p.Endpoint(), RedirectURL: cfg.RedirectURL, Scopes: strings.Fields(cfg.Scopes)}
	if !cfg.Secret.IsZero() {
		secret, err := s.d.Keys.OpenSealed(ctx, cfg.Secret)
		if err != nil {
			return nil, oauth2.Config{}, err
		}
		c.ClientSecret = string(secret)
	}
	return p, c, nil
}

// StartSSO starts an SSO sign-in from a device with the network's company id: the provider's
// authorization URL (code flow with PKCE, S256) to open, whose callback FinishSSO takes.
func (s *Service) StartSSO(ctx context.Context, companyID string, dev Device) (authURL, state string, err error) {
	networkID, err := s.companyNetwork(ctx, companyID)
	if err != nil {
		return "", "", err
	}
	p, err := s.policy(ctx, networkID)
	if err != nil {
		return "", "", err
	}
	_, conf, err := s.oauth(ctx, networkID, p.OIDC)
	if err != nil {
		return "", "", err
	}
	state, nonce, verifier := chimeusecase.RandomToken(), chimeusecase.RandomToken(), oauth2.GenerateVerifier()
	if err := s.sso.put(state, ssoStart{networkID: networkID, verifier: verifier, nonce: nonce, dev: dev, expires: s.d.Now().Add(SSOPendingTTL)}, s.d.Now()); err != nil {
		return "", "", err
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)}
	extra, _ := url.ParseQuery(p.OIDC.ExtraAuthParams) // checked at RegisterOidcConfig
	for k, vs := range extra {
		for _, v := range vs {
			opts = append(opts, oauth2.SetAuthURLParam(k, v))
		}
	}
	return conf.AuthCodeURL(state, opts...), state, nil
}

// FinishSSO completes an SSO sign-in at the provider's callback: it exchanges the code with the
// PKCE verifier, verifies the ID token (issuer, audience, expiry on Belfry's clock, nonce), finds
// the network's user by the token's e-mail (or the configured custom username claim), signs it in
// (a pending user registers) and opens an SSO session that keeps the refresh token, sealed.
func (s *Service) FinishSSO(ctx context.Context, networkID, code, state string) (SignedIn, error) {
	st, ok := s.sso.take(state, s.d.Now())
	if !ok || st.networkID != networkID {
		return SignedIn{}, domain.Wrapf(ErrSSO, "the SSO sign-in is unknown or expired: start it again")
	}
	p, err := s.policy(ctx, networkID)
	if err != nil {
		return SignedIn{}, err
	}
	prov, conf, err := s.oauth(ctx, networkID, p.OIDC)
	if err != nil {
		return SignedIn{}, err
	}
	ctx = oidc.ClientContext(ctx, s.d.IdP) // the exchange and the key set, as discovery
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(st.verifier))
	if err != nil {
		return SignedIn{}, domain.Wrapf(ErrSSO, "the identity provider refused the code: %s", exchangeRefusal(err))
	}
	username, subject, err := s.identity(ctx, prov, p.OIDC, tok, st.nonce)
	if err != nil {
		return SignedIn{}, err
	}
	users, err := s.d.Users.ByUsername(ctx, username, networkID)
	if err != nil {
		return SignedIn{}, err
	}
	if len(users) == 0 {
		return SignedIn{}, domain.Wrapf(ErrSSO, "User not found: %s is not a user of the network; ask the administrator to add it", username)
	}
	sess := Session{Session: roster.Session{SSO: true}, ExpiresAt: expiry(s.d.Now(), tok)}
	if rt := tok.RefreshToken; rt != "" {
		if sess.Refresh, err = s.d.Keys.SealFor(ctx, networkID, wickr.UserSubject(users[0].UserID), []byte(rt)); err != nil {
			return SignedIn{}, err
		}
	}
	cmd := roster.SignIn{NetworkID: networkID, UserID: users[0].UserID, AppID: st.dev.AppID, DeviceType: st.dev.Type, SSO: true, Subject: subject}
	return s.signIn(ctx, cmd, sess)
}

// providerErrors are the error codes of an authorization response (RFC 6749 §4.1.2.1, OpenID
// Connect Core §3.1.2.6) that a refused sign-in names.
var providerErrors = []string{"invalid_request", "unauthorized_client", "access_denied", "unsupported_response_type",
	"invalid_scope", "server_error", "temporarily_unavailable", "interaction_required", "login_required",
	"account_selection_required", "consent_required", "invalid_request_uri", "invalid_request_object",
	"request_not_supported", "request_uri_not_supported", "registration_not_supported"}

// ProviderRefused ends the sign-in of state, which the provider refused with an OAuth error code
// (RFC 6749 §4.1.2.1), and answers why. Anyone can send a browser to the callback with an error of
// their wording (and start a sign-in to have a state), so the answer names the code only when it
// is a registered one, for a sign-in of networkID that Belfry started and still waits for (its
// state is then spent), and never repeats the error's description.
func (s *Service) ProviderRefused(networkID, state, code string) error {
	st, ok := s.sso.take(state, s.d.Now())
	if state == "" || !ok || st.networkID != networkID {
		return domain.Wrapf(ErrSSO, "the SSO sign-in is unknown or expired: start it again")
	}
	if !slices.Contains(providerErrors, code) {
		return wickr.FieldErr(ErrSSO, "error", "the identity provider refused the sign-in")
	}
	return wickr.FieldErr(ErrSSO, "error", "the identity provider refused the sign-in: %s", code)
}

// identity verifies the ID token of a token response and returns the username and subject it names.
func (s *Service) identity(ctx context.Context, prov *oidc.Provider, cfg *network.OIDCConfig, tok *oauth2.Token, nonce string) (string, string, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return "", "", domain.Wrapf(ErrSSO, "the identity provider answered no ID token (is openid among the scopes?)")
	}
	idt, err := prov.Verifier(&oidc.Config{ClientID: cfg.ClientID, Now: s.d.Now}).Verify(ctx, raw)
	if err != nil {
		return "", "", domain.Wrapf(ErrSSO, "the ID token is not valid: %s", domain.NetReason(err))
	}
	if idt.Nonce != nonce {
		return "", "", domain.Wrapf(ErrSSO, "the ID token's nonce does not match this sign-in")
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return "", "", domain.Wrapf(ErrSSO, "the ID token's claims: %v", err)
	}
	claim := "email"
	if cfg.CustomUsername != "" {
		claim = cfg.CustomUsername
	}
	name, _ := claims[claim].(string)
	if name == "" { // not in the ID token: the provider's userinfo, for the same subject
		info, err := prov.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return "", "", domain.Wrapf(ErrSSO, "the ID token has no %s claim and the userinfo endpoint failed: %s", claim, domain.NetReason(err))
		}
		if err := info.Claims(&claims); err != nil || info.Subject != idt.Subject {
			return "", "", domain.Wrapf(ErrSSO, "the userinfo does not describe the ID token's subject")
		}
		name, _ = claims[claim].(string)
	}
	if claim == "email" && unverified(claims["email_verified"]) {
		return "", "", domain.Wrapf(ErrSSO, "the identity provider has not verified the e-mail address %q: it names no user until it has", name)
	}
	username, err := wickr.NormalizeUsername(claim, name)
	if err != nil {
		return "", "", domain.Wrapf(ErrSSO, "the ID token's %s claim is not a username: %v", claim, err)
	}
	return username, idt.Subject, nil
}

// exchangeRefusal says why a code exchange failed: the OAuth error code the provider answered
// (RFC 6749 §5.2), or that it answered none. The provider's description and body are not repeated:
// they are the provider's words, of any length, shown at Belfry's callback.
func exchangeRefusal(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.ErrorCode != "" && len(re.ErrorCode) <= 64 && strings.Trim(re.ErrorCode, "abcdefghijklmnopqrstuvwxyz_") == "" {
		return re.ErrorCode
	}
	if errors.As(err, &re) && re.Response != nil {
		return fmt.Sprintf("its token endpoint answered %d", re.Response.StatusCode)
	}
	return "its token endpoint could not be reached"
}

// unverified reports an email_verified claim that says the address is not verified (false, or the
// string "false" some providers send). A provider that sends no such claim vouches for its addresses
// (many enterprise providers only hold verified ones and never send it); one that says it has not
// verified an address does not name a user by it: anyone may have typed it there.
func unverified(v any) bool {
	switch v := v.(type) {
	case bool:
		return !v
	case string:
		return strings.EqualFold(v, "false")
	}
	return false
}

// expiry is when the provider's tokens expire on Belfry's clock, which reads now (the oauth2 package
// dates them on the machine's clock).
func expiry(now time.Time, tok *oauth2.Token) time.Time {
	if tok.Expiry.IsZero() {
		return time.Time{}
	}
	return now.Add(time.Until(tok.Expiry))
}

// renew refreshes an SSO session whose provider tokens are due (ssoTokenBufferMinutes before they
// expire). A failed refresh keeps the session for the network's grace period from the first failure
// (guide §4.3: none by default, 30 or 60 minutes), then ends it.
func (s *Service) renew(ctx context.Context, hash string, sess Session, cfg *network.OIDCConfig) error {
	now := s.d.Now()
	if cfg == nil || sess.ExpiresAt.IsZero() || now.Before(sess.ExpiresAt.Add(-time.Duration(cfg.SSOTokenBufferMinutes)*time.Minute)) {
		return nil
	}
	tok, err := s.refresh(ctx, sess, cfg)
	if err == nil {
		refresh := sess.Refresh
		if tok.RefreshToken != "" {
			if refresh, err = s.d.Keys.SealFor(ctx, sess.NetworkID, wickr.UserSubject(sess.UserID), []byte(tok.RefreshToken)); err != nil {
				return err
			}
		}
		return s.d.Sessions.Refreshed(ctx, hash, expiry(s.d.Now(), tok), refresh)
	}
	first, ferr := s.d.Sessions.RefreshFailed(ctx, hash, now)
	if ferr != nil {
		return ferr
	}
	grace := time.Duration(cfg.TokenRefreshGraceMinutes) * time.Minute
	if now.Before(first.Add(grace)) {
		return nil
	}
	_ = s.d.Sessions.Close(ctx, hash)
	return domain.Wrapf(roster.ErrSessionEnded, "the identity provider could not renew the session (%s) and the grace period of %d minutes is over: sign in again",
		domain.NetReason(err), cfg.TokenRefreshGraceMinutes)
}

func (s *Service) refresh(ctx context.Context, sess Session, cfg *network.OIDCConfig) (*oauth2.Token, error) {
	if sess.Refresh.IsZero() {
		return nil, fmt.Errorf("the provider gave no refresh token (is offline_access among the scopes?)")
	}
	rt, err := s.d.Keys.OpenSealed(ctx, sess.Refresh)
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, s.d.IdP), 5*time.Second)
	defer cancel()
	_, conf, err := s.oauth(rctx, sess.NetworkID, cfg)
	if err != nil {
		return nil, err
	}
	return conf.TokenSource(rctx, &oauth2.Token{RefreshToken: string(rt), Expiry: time.Now().Add(-time.Minute)}).Token()
}
