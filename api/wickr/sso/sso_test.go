package sso

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/network"
	"github.com/belfry/belfry/infra/egress"
)

// TestDiscoveryBoundsTheProvidersAnswer: the issuer is whatever an administrator typed, and
// discovery reads its answer. A provider that answers an endless document, or an error page of
// megabytes, must neither be read to the end (memory, and ten seconds of the call) nor be repeated in
// the API's error message (and so in the audit record).
func TestDiscoveryBoundsTheProvidersAnswer(t *testing.T) {
	var written atomic.Int64
	endless := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		chunk := []byte(`{"issuer":"` + strings.Repeat("x", 64<<10))
		for r.Context().Err() == nil {
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	defer endless.Close()
	s := New(Deps{HTTP: loopbackClient()})
	start := time.Now()
	_, err := s.Discover(context.Background(), endless.URL, "")
	if err == nil {
		t.Fatal("an endless discovery document was accepted")
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("discovery read an endless document for %v", took)
	}
	if n := written.Load(); n > 16<<20 {
		t.Errorf("discovery read %d MiB of an endless document", n>>20)
	}

	huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(strings.Repeat("y", 4<<20)))
	}))
	defer huge.Close()
	_, err = s.Discover(context.Background(), huge.URL, "")
	if err == nil {
		t.Fatal("a 500 was accepted")
	}
	if n := len(err.Error()); n > 4<<10 {
		t.Errorf("the error message is %d bytes (the provider's whole error page)", n)
	}
}

// TestIdentityProviderClientIsBounded: the client of a sign-in's calls to the provider reads at most
// MaxDiscoveryDocument bytes of an answer and follows no redirect.
func TestIdentityProviderClientIsBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "http://example.invalid/token", http.StatusTemporaryRedirect)
			return
		}
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for i := 0; i < 1<<12; i++ { // 256 MiB unless the client stops reading
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	c := IdentityProviderClient(loopbackClient())
	resp, err := c.Get(srv.URL + "/token")
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil || n > MaxDiscoveryDocument {
		t.Fatalf("read %d bytes (%v), want at most %d and an error", n, err, MaxDiscoveryDocument)
	}
	resp, err = c.Post(srv.URL+"/moved", "application/x-www-form-urlencoded", strings.NewReader("code=secret"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("a redirect was followed: %d", resp.StatusCode)
	}
}

// openKeys opens every sealed secret as its ciphertext (the secret of the test).
type openKeys struct{ Keys }

func (openKeys) OpenSealed(_ context.Context, s domain.Sealed) ([]byte, error) {
	return s.Data, nil
}

// TestSavedSecretGoesOnlyToTheSavedProvider: GetOidcInfo's exchange sends the network's saved client
// secret only to the saved issuer, for the saved client id. A caller who may only read the SSO
// configuration, naming the saved client id and an issuer of its own, would otherwise receive the
// secret at that issuer's token endpoint.
func TestSavedSecretGoesOnlyToTheSavedProvider(t *testing.T) {
	s := New(Deps{Keys: openKeys{}})
	saved := &network.OIDCConfig{Issuer: "https://idp.example.com", ClientID: "wickr", RedirectURL: "https://app.example.com/cb",
		Secret: domain.Sealed{KeyID: "k", Data: []byte("the-saved-secret")}}
	ctx := context.Background()
	conf, _, err := s.tokenClient(ctx, saved, TokenRequest{Code: "c"})
	if err != nil || conf.ClientSecret != "the-saved-secret" {
		t.Fatalf("the saved provider and client: secret %q, %v", conf.ClientSecret, err)
	}
	for name, req := range map[string]TokenRequest{
		"another issuer":      {Code: "c", URL: "https://attacker.example"},
		"another client":      {Code: "c", ClientID: "other"},
		"a secret of its own": {Code: "c", URL: "https://attacker.example", ClientSecret: "mine"},
	} {
		conf, _, err := s.tokenClient(ctx, saved, req)
		if err != nil || conf.ClientSecret == "the-saved-secret" {
			t.Errorf("%s: the saved secret would be sent (%v)", name, err)
		}
	}
}

// TestClientsRefuseInternalProviders: an issuer (and the endpoints its discovery names) is whatever a
// tenant administrator typed. The slice's default clients reach no provider at all, and over the
// guarded client the server wires (infra/egress) neither discovery nor a sign-in's calls reach the
// server's own machine (nor, the same check, the cloud's metadata address or a private network).
func TestClientsRefuseInternalProviders(t *testing.T) {
	var hits atomic.Int32
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	defer internal.Close()
	guarded := egress.Policy{}.Client(DiscoveryTimeout)
	for name, s := range map[string]*Service{"default": New(Deps{}), "guarded": New(Deps{HTTP: guarded})} {
		for _, cert := range []string{"", testCA(t)} {
			if _, err := s.Discover(context.Background(), internal.URL, cert); !errors.Is(err, wickr.ErrValidation) {
				t.Errorf("%s discovery at a loopback issuer: %v, want a ValidationError", name, err)
			}
		}
	}
	for name, c := range map[string]*http.Client{"default": IdentityProviderClient(nil), "guarded": IdentityProviderClient(guarded)} {
		if resp, err := c.Get(internal.URL + "/token"); err == nil {
			resp.Body.Close()
			t.Errorf("the %s identity provider client reached a loopback endpoint", name)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the internal server got %d requests, want 0", n)
	}
}

// testCA is a PEM CA certificate (an httptest server's), for a discovery given a certificate.
func testCA(t *testing.T) string {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
}

// loopbackClient is the tests' discovery client: their providers are httptest servers on loopback,
// which the default client refuses (the operator's BELFRY_OUTBOUND_ALLOW in the server).
func loopbackClient() *http.Client {
	return egress.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}.Client(DiscoveryTimeout)
}

// TestDiscoveryFollowsNoRedirectToPlainHTTP: an https issuer's discovery that redirects to plain http
// is refused, and the http server is never asked: the document (its token endpoint, its keys) would
// travel where anyone on the path can change it.
func TestDiscoveryFollowsNoRedirectToPlainHTTP(t *testing.T) {
	var asked atomic.Int64
	var secure *httptest.Server
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"issuer":"` + secure.URL + `","authorization_endpoint":"` + secure.URL + `/auth","token_endpoint":"http://attacker.example/token"}`))
	}))
	defer plain.Close()
	secure = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+r.URL.Path, http.StatusFound)
	}))
	defer secure.Close()
	cert := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: secure.Certificate().Raw}))
	s := New(Deps{HTTP: loopbackClient()})
	if _, err := s.Discover(context.Background(), secure.URL, cert); err == nil {
		t.Fatal("discovery followed a redirect from https to http")
	}
	if n := asked.Load(); n != 0 {
		t.Fatalf("the plain http server was asked %d times", n)
	}
}
