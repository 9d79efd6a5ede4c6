// Package sso is the slice of a Wickr network's single sign-on (guide §4): RegisterOidcConfigTest
// (OpenID Connect discovery against the issuer, reporting what it found), RegisterOidcConfig and
// GetOidcInfo (with the model's token members, it also exchanges an authorization code at the
// provider and answers the tokens, tokenInfo). The configuration is decided on the network stream
// (package domain/wickr/network); company ids are claimed across networks on the directory
// (directory.CompanyIDStream).
//
// Invariants:
//   - The client secret is sealed under the network's OIDC key (wickr.SubjectOIDC) before it reaches
//     an event, and no answer carries it in clear: RegisterOidcConfig and GetOidcInfo show "****"
//     when one is set. A registration without a secret keeps the one set before.
//   - A company id belongs to one network at a time (case-insensitive); changing it releases the old
//     one once the new configuration is recorded. A registration claims its company id at the
//     generation of the configuration it read and records its configuration only if the network is
//     still at that generation; a release leaves a claim made at the generation the network left the
//     id or later (package directory): a registration of the same network that claimed the id again
//     meanwhile keeps it.
//   - Discovery follows OpenID Connect Discovery 1.0: GET <issuer>/.well-known/openid-configuration,
//     whose issuer must equal the one given; a failure names the member at fault (issuer, scopes,
//     certificate) and changes nothing.
//   - An issuer, and the endpoints its discovery names, are whatever a tenant administrator typed:
//     the slice reaches them only through the clients it is given (cmd wires infra/egress's, which
//     reach public addresses only unless the operator allows a range). Without one it reaches no
//     provider at all rather than any address.
//   - GetOidcInfo answers from the network stream: the configuration is read rarely and must reflect
//     the last registration at once. Its code exchange stores nothing; the code, the verifier, the
//     secrets and the tokens stay out of the audit record (awsproto's sensitive members).
package sso

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/directory"
	"github.com/belfry/belfry/domain/wickr/network"
)

// Masked stands for a secret in an answer.
const Masked = "****"

// DiscoveryTimeout bounds one discovery request.
const DiscoveryTimeout = 10 * time.Second

// MaxDiscoveryDocument bounds the provider's answer that discovery reads (real documents are a few
// KiB); maxDiscoveryError bounds what of the provider's failure an error message repeats.
const (
	MaxDiscoveryDocument = 256 << 10
	maxDiscoveryError    = 512
)

// Keys seals a secret under a subject's key and opens a sealed one (infra/datakeys implements it).
type Keys interface {
	SealFor(ctx context.Context, tenant, subject string, plaintext []byte) (domain.Sealed, error)
	OpenSealed(ctx context.Context, sealed domain.Sealed) ([]byte, error)
}

// Claims runs the company-id claims on the directory's streams (the directory repository).
type Claims interface {
	Execute(ctx context.Context, stream string, cmd directory.Command) (usecase.Decided[directory.State, directory.Event], error)
}

// Deps are the slice's collaborators. HTTP is the client of discovery and code exchange; it decides
// which addresses a provider may have (nil: a client that reaches no provider).
type Deps struct {
	Networks usecase.Networks
	Claims   Claims
	Keys     Keys
	HTTP     *http.Client
}

// Service runs the SSO use cases.
type Service struct{ d Deps }

// New returns the slice.
func New(d Deps) *Service {
	if d.HTTP == nil {
		d.HTTP = unwired()
	}
	return &Service{d: d}
}

// TestInput is RegisterOidcConfigTest's request.
type TestInput struct {
	Issuer, Scopes, ExtraAuthParams, Certificate string
}

// Discovery is what discovery found (RegisterOidcConfigTestResponse).
type Discovery struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	UserinfoEndpoint                  string   `json:"userinfo_endpoint"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	RevocationEndpoint                string   `json:"revocation_endpoint"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	// MicrosoftMultiRefreshToken: Microsoft Entra ID issues a refresh token per resource.
	MicrosoftMultiRefreshToken bool `json:"-"`
}

// client is the HTTP client of a discovery: Deps.HTTP, trusting certificate's CAs besides the
// system's when one is given, whose answers are cut at MaxDiscoveryDocument bytes and whose redirects
// never leave https (discoveryRedirect).
func (s *Service) client(certificate string) (*http.Client, error) {
	c := *s.d.HTTP
	if strings.TrimSpace(certificate) != "" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM([]byte(certificate)) {
			return nil, wickr.Invalid("certificate", "must be one or more PEM-encoded X.509 CA certificates")
		}
		base, ok := c.Transport.(*http.Transport)
		if c.Transport == nil {
			base, ok = http.DefaultTransport.(*http.Transport), true
		}
		if !ok { // a transport of its own (unwired: none) keeps its rules; it has no roots to add to
			return &http.Client{Timeout: c.Timeout, Transport: boundedTransport{next: c.Transport}, CheckRedirect: discoveryRedirect}, nil
		}
		t := base.Clone() // its dialer, and so its address rules, included
		if t.TLSClientConfig == nil {
			t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		t.TLSClientConfig.RootCAs = pool
		c.Transport = t
	}
	c.Transport = boundedTransport{next: c.Transport}
	c.CheckRedirect = discoveryRedirect
	return &c, nil
}

// maxDiscoveryRedirects bounds the redirects a discovery follows.
const maxDiscoveryRedirects = 5

// discoveryRedirect follows a discovery's redirects (a provider may move its document), at most
// maxDiscoveryRedirects, and never from https to plain http: the document names the token endpoint
// and the keys, and would travel where anyone on the path can change it.
func discoveryRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxDiscoveryRedirects {
		return fmt.Errorf("stopped after %d redirects", maxDiscoveryRedirects)
	}
	if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
		return fmt.Errorf("a redirect from https to %s is not followed", req.URL.Scheme)
	}
	return nil
}

// IdentityProviderClient is the HTTP client for an identity provider's endpoints outside discovery
// (a sign-in's discovery, code exchange, key set and token refresh): base (nil: a client that reaches
// no provider; base decides which addresses a provider may have) whose answers are cut at MaxDiscoveryDocument bytes and whose redirects
// are not followed (a provider's endpoints answer where they are; a redirect would carry the code or
// the client secret elsewhere).
func IdentityProviderClient(base *http.Client) *http.Client {
	if base == nil {
		base = unwired()
	}
	c := *base
	c.Transport = boundedTransport{next: c.Transport}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// errUnwired fails every request of a client nobody wired (Deps.HTTP, IdentityProviderClient's base).
var errUnwired = errors.New("no HTTP client is configured for identity providers")

// unwired is the default client: it reaches no provider (the address rules are the wiring's).
func unwired() *http.Client {
	return &http.Client{Timeout: DiscoveryTimeout, Transport: refuseAll{}}
}

type refuseAll struct{}

func (refuseAll) RoundTrip(*http.Request) (*http.Response, error) { return nil, errUnwired }

// errDocumentTooLarge ends the reading of an answer past MaxDiscoveryDocument bytes.
var errDocumentTooLarge = fmt.Errorf("the provider's answer is larger than %d bytes", MaxDiscoveryDocument)

// boundedTransport cuts every answer's body at MaxDiscoveryDocument bytes: the discovery library
// reads a body to its end, and the issuer is whatever an administrator typed.
type boundedTransport struct{ next http.RoundTripper }

func (b boundedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	next := b.next
	if next == nil {
		next = http.DefaultTransport
	}
	resp, err := next.RoundTrip(r)
	if err == nil {
		resp.Body = &boundedBody{ReadCloser: resp.Body, left: MaxDiscoveryDocument}
	}
	return resp, err
}

type boundedBody struct {
	io.ReadCloser
	left int64
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errDocumentTooLarge
	}
	if int64(len(p)) > b.left {
		p = p[:b.left+1] // one byte more tells a body of exactly the bound from a longer one
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n + int(b.left), errDocumentTooLarge
	}
	return n, err
}

// shortError is err's text cut at maxDiscoveryError bytes (the provider's error page may follow).
func shortError(err error) string {
	msg := err.Error()
	if len(msg) > maxDiscoveryError {
		msg = strings.ToValidUTF8(msg[:maxDiscoveryError], "") + "…"
	}
	return msg
}

// Discover runs OpenID Connect discovery against issuer.
func (s *Service) Discover(ctx context.Context, issuer, certificate string) (Discovery, error) {
	return s.discover(ctx, "issuer", issuer, certificate)
}

// discover runs OpenID Connect discovery against issuer, the request's member field.
func (s *Service) discover(ctx context.Context, field, issuer, certificate string) (Discovery, error) {
	if err := network.ValidIssuer(field, issuer); err != nil {
		return Discovery{}, err
	}
	hc, err := s.client(certificate)
	if err != nil {
		return Discovery{}, err
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, hc), DiscoveryTimeout)
	defer cancel()
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return Discovery{}, wickr.Invalid(field, "OpenID Connect discovery at %s failed: %s", strings.TrimSuffix(issuer, "/")+"/.well-known/openid-configuration", shortError(domain.QuietNet(err)))
	}
	var d Discovery
	if err := p.Claims(&d); err != nil {
		return Discovery{}, wickr.Invalid(field, "the provider's discovery document is not valid: %v", err)
	}
	if u, err := url.Parse(d.Issuer); err == nil && strings.EqualFold(u.Hostname(), "login.microsoftonline.com") {
		d.MicrosoftMultiRefreshToken = true
	}
	return d, nil
}

// TestConfig is RegisterOidcConfigTest: discovery against the issuer, checked against the request.
func (s *Service) TestConfig(ctx context.Context, awsAccountID, region, networkID string, in TestInput) (Discovery, error) {
	if err := usecase.OwnNetwork(ctx, s.d.Networks.Repo, awsAccountID, region, networkID); err != nil {
		return Discovery{}, err
	}
	if err := network.ValidScopes("scopes", in.Scopes); err != nil {
		return Discovery{}, err
	}
	if _, err := url.ParseQuery(in.ExtraAuthParams); err != nil {
		return Discovery{}, wickr.Invalid("extraAuthParams", "must be a query string such as prompt=login, got %q", in.ExtraAuthParams)
	}
	d, err := s.Discover(ctx, in.Issuer, in.Certificate)
	if err != nil {
		return Discovery{}, err
	}
	if len(d.ScopesSupported) > 0 {
		var missing []string
		for _, sc := range strings.Fields(in.Scopes) {
			if !slices.Contains(d.ScopesSupported, sc) {
				missing = append(missing, sc)
			}
		}
		if len(missing) > 0 {
			return Discovery{}, wickr.Invalid("scopes", "the provider does not support %s (it supports %s)", strings.Join(missing, " "), strings.Join(d.ScopesSupported, " "))
		}
	}
	return d, nil
}

// RegisterInput is RegisterOidcConfig's request. TokenRefreshGraceMinutes (guide §4.3: 0, 30 or 60)
// is Belfry's member; the model has none. RedirectURL is the network's redirect URI, made by the API.
type RegisterInput struct {
	CompanyID, Issuer, Scopes, CustomUsername, ExtraAuthParams, UserID, RedirectURL string
	Secret                                                                          *string
	SSOTokenBufferMinutes, TokenRefreshGraceMinutes                                 int
}

// errReconfigured refuses a registration whose network recorded another SSO configuration since the
// registration read it (and claimed its company id at that configuration's generation).
var errReconfigured = &domain.Error{Kind: domain.KindConflict, Msg: "the SSO configuration changed meanwhile; retry"}

// registerAttempts bounds Register's attempts when other registrations of the network run meanwhile.
const registerAttempts = 8

// Register records the network's SSO configuration and answers it (the secret masked). An attempt
// that another registration of the network overtook is made again, on the configuration it recorded.
func (s *Service) Register(ctx context.Context, awsAccountID, region, networkID string, in RegisterInput) (network.OIDCConfig, error) {
	for range registerAttempts {
		out, err := s.registerOnce(ctx, awsAccountID, region, networkID, in)
		if !errors.Is(err, errReconfigured) {
			return out, err
		}
	}
	return network.OIDCConfig{}, domain.Wrapf(errReconfigured, "the SSO configuration of network %s kept changing during the registration; retry", networkID)
}

// registerOnce is one attempt of Register: the company id is claimed at the generation of the
// configuration read (directory), and the configuration is recorded only if the network is still at
// that generation (errReconfigured otherwise); the company id it replaces is then released, unless a
// registration made since claimed it again.
func (s *Service) registerOnce(ctx context.Context, awsAccountID, region, networkID string, in RegisterInput) (network.OIDCConfig, error) {
	st, err := s.state(ctx, awsAccountID, region, networkID)
	if err != nil {
		return network.OIDCConfig{}, err
	}
	cfg := network.OIDCConfig{CompanyID: in.CompanyID, Issuer: in.Issuer, Scopes: in.Scopes, ClientID: in.UserID, CustomUsername: in.CustomUsername,
		ExtraAuthParams: in.ExtraAuthParams, RedirectURL: in.RedirectURL, SSOTokenBufferMinutes: in.SSOTokenBufferMinutes,
		TokenRefreshGraceMinutes: in.TokenRefreshGraceMinutes}
	if st.OIDC != nil {
		cfg.Secret = st.OIDC.Secret // kept unless the request sets one
	}
	if in.Secret != nil && *in.Secret == "" {
		cfg.Secret = domain.Sealed{}
	}
	check := cfg
	if in.Secret != nil && *in.Secret != "" {
		check.Secret = domain.Sealed{KeyID: domain.SubjectKeyID(networkID, wickr.SubjectOIDC), Data: []byte{0}}
	}
	// Every rule first, on the current state: nothing is claimed or sealed for a refused request.
	if _, err := network.Decide(st, network.RegisterOIDC{NetworkID: networkID, Config: check}, st.UpdatedAt); err != nil {
		return network.OIDCConfig{}, err
	}
	gen := st.OIDCGeneration
	if err := s.claim(ctx, networkID, in.CompanyID, gen); err != nil {
		return network.OIDCConfig{}, err
	}
	if in.Secret != nil && *in.Secret != "" {
		if cfg.Secret, err = s.d.Keys.SealFor(ctx, networkID, wickr.SubjectOIDC, []byte(*in.Secret)); err != nil {
			return network.OIDCConfig{}, err
		}
	}
	// The secret kept and the company id given back are those of the configuration this decision
	// replaces, which is the one read above (of generation gen).
	var prev string
	var left int
	cmd := s.d.Networks.Decision(network.StreamName(networkID), func(cur network.State, now time.Time) ([]network.Event, error) {
		if cur.OIDCGeneration != gen {
			return nil, errReconfigured
		}
		c := cfg
		prev = ""
		if cur.OIDC != nil {
			prev = cur.OIDC.CompanyID
		}
		if in.Secret == nil {
			c.Secret = domain.Sealed{}
			if cur.OIDC != nil {
				c.Secret = cur.OIDC.Secret
			}
		}
		return network.Decide(cur, network.RegisterOIDC{NetworkID: networkID, Config: c}, now)
	}).After(usecase.Owner(s.d.Networks.Repo, awsAccountID, region, networkID))
	out, err := usecase.Run(ctx, cmd, nil, func(d usecase.Decided[network.State, network.Event]) (network.OIDCConfig, error) {
		left = d.State.OIDCGeneration
		return *d.State.OIDC, nil
	})
	if err != nil {
		return network.OIDCConfig{}, err
	}
	if prev != "" && !strings.EqualFold(prev, in.CompanyID) {
		if err := s.release(ctx, networkID, prev, left); err != nil {
			return network.OIDCConfig{}, fmt.Errorf("sso: release company id %s: %w", prev, err)
		}
	}
	return out, nil
}

// release gives back a company id the network left at generation left of its configuration, unless a
// claim of that generation or later holds it (a registration that read the network since, and may
// record the id again): decided on the claim's stream alone.
func (s *Service) release(ctx context.Context, networkID, companyID string, left int) error {
	name := strings.ToLower(companyID)
	_, err := s.d.Claims.Execute(ctx, directory.CompanyIDStream(name), directory.ReleaseNames{
		Claims: []directory.Claim{{Name: name, Owner: networkID}}, Before: left})
	return err
}

// claim claims a company id for the network at generation gen of its configuration (again for the
// same network: no change, unless gen is newer than the claim's).
func (s *Service) claim(ctx context.Context, networkID, companyID string, gen int) error {
	name := strings.ToLower(companyID)
	_, err := s.d.Claims.Execute(ctx, directory.CompanyIDStream(name), directory.ClaimNames{
		Claims: []directory.Claim{{Name: name, Owner: networkID}}, Fields: []string{"companyId"}, Generation: gen})
	if errors.Is(err, directory.ErrTaken) {
		return wickr.FieldErr(directory.ErrTaken, "companyId", "company id %s is already used by another network", companyID)
	}
	return err
}

// state is a network of the caller as its stream holds it now.
func (s *Service) state(ctx context.Context, awsAccountID, region, networkID string) (network.State, error) {
	if err := usecase.OwnNetwork(ctx, s.d.Networks.Repo, awsAccountID, region, networkID); err != nil {
		return network.State{}, err
	}
	st, _, err := s.d.Networks.Repo.Load(ctx, network.StreamName(networkID))
	if err == nil && !st.Live() {
		err = domain.Wrapf(network.ErrNotFound, "Network %s not found", networkID)
	}
	return st, err
}

// ErrNotConfigured is a network without an SSO configuration.
var ErrNotConfigured = &domain.Error{Kind: domain.KindNotFound, Msg: "SSO is not configured"}

// Info returns the network's SSO configuration (GetOidcInfo).
func (s *Service) Info(ctx context.Context, awsAccountID, region, networkID string) (network.OIDCConfig, error) {
	if err := wickr.ValidNetworkID("networkId", networkID); err != nil {
		return network.OIDCConfig{}, err
	}
	st, err := s.state(ctx, awsAccountID, region, networkID)
	if err != nil {
		return network.OIDCConfig{}, err
	}
	if st.OIDC == nil {
		return network.OIDCConfig{}, domain.Wrapf(ErrNotConfigured, "network %s has no SSO configuration (RegisterOidcConfig)", networkID)
	}
	return *st.OIDC, nil
}
