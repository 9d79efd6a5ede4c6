package main

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
)

// The SSO boto3 file runs against a real OpenID provider: zitadel/oidc's example OP (pkg/op over
// its in-memory example storage), started in the test process on a loopback port.
// The OP is on loopback, which the server reaches for a tenant only where the operator allows it
// (BELFRY_OUTBOUND_ALLOW, allowLoopbackProviders).
func init() {
	boto3Setups["test_sso"] = oidcProviderSetup
	boto3Options["test_sso"] = allowLoopbackProviders
	boto3Options["test_secrets"] = allowLoopbackProviders
}

// allowLoopbackProviders sets the operator's BELFRY_OUTBOUND_ALLOW to 127.0.0.1: the tests' identity
// providers listen there, and by default a tenant's endpoints may not be on the server's machine.
func allowLoopbackProviders(_ *testing.T, m *Main) { m.cfg.OutboundAllow = "127.0.0.1" }

// oidcProviderSetup starts the OP and passes its issuer as OIDC_ISSUER (http on a loopback host,
// which the issuer rule admits for a provider on the same machine; see allowLoopbackProviders). Its client "web" (secret
// "secret") accepts the redirect URI OIDC_REDIRECT_URI.
func oidcProviderSetup(t *testing.T, _ *running) map[string]string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String() + "/"
	redirect := "http://127.0.0.1:1/callback"
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: exampleOP(issuer, "web", redirect)}}
	srv.Start()
	t.Cleanup(srv.Close)
	return map[string]string{"OIDC_ISSUER": issuer, "OIDC_REDIRECT_URI": redirect}
}

// exampleOP is the example OP at issuer with one web client, clientID (secret "secret"), that
// accepts redirect. Each OP has its clients of its own: the example's RegisterClients writes a map
// shared by every OP in the process, which parallel tests would race on.
func exampleOP(issuer, clientID, redirect string) http.Handler {
	return exampleOPOf(issuer, clientID, redirect, storage.NewUserStore(issuer))
}

// exampleOPOf is exampleOP with the users of users.
func exampleOPOf(issuer, clientID, redirect string, users storage.UserStore) http.Handler {
	clients := map[string]*storage.Client{clientID: storage.WebClient(clientID, "secret", redirect)}
	return exampleop.SetupServer(issuer, storage.NewStorageWithClients(users, clients), nil, false)
}

// unverifiedEmails has the OP's userinfo answers say that it has not verified the e-mail address
// (the example OP leaves email_verified out when it is false).
func unverifiedEmails(op http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/userinfo" {
			op.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		op.ServeHTTP(rec, r)
		var info map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &info); err != nil || rec.Code != 200 {
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
			return
		}
		info["email_verified"] = false
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(info)
	})
}
