package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
)

// The SSO boto3 file runs against a real OpenID provider: zitadel/oidc's example OP (pkg/op over
// its in-memory example storage), started in the test process on a loopback port.
func init() {
	boto3Setups["test_sso"] = oidcProviderSetup
}

// oidcProviderSetup starts the OP and passes its issuer as OIDC_ISSUER (http on a loopback host,
// which the issuer rule admits for a provider on the same machine). Its client "web" (secret
// "secret") accepts the redirect URI OIDC_REDIRECT_URI.
func oidcProviderSetup(t *testing.T, _ *running) map[string]string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String() + "/"
	redirect := "http://127.0.0.1:1/callback"
	storage.RegisterClients(storage.WebClient("web", "secret", redirect))
	router := exampleop.SetupServer(issuer, storage.NewStorage(storage.NewUserStore(issuer)), nil, false)
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: router}}
	srv.Start()
	t.Cleanup(srv.Close)
	return map[string]string{"OIDC_ISSUER": issuer, "OIDC_REDIRECT_URI": redirect}
}
