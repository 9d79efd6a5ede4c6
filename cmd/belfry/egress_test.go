package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
)

// TestCustomerEndpointsCannotReachInternalAddresses: a bot's outgoing events endpoint and an SSO
// issuer are whatever a tenant administrator typed. By default neither makes the server reach its own
// machine (nor, the same check, the cloud's metadata address or a private network): the endpoint
// challenge and the discovery are refused and the internal server gets nothing. BELFRY_OUTBOUND_ALLOW
// lets the operator name ranges that may be reached.
func TestCustomerEndpointsCannotReachInternalAddresses(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	internal := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		var in struct{ Challenge string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		_ = json.NewEncoder(w).Encode(in)
	}))
	defer internal.Close()
	var opHits atomic.Int32
	var op *httptest.Server
	op = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		opHits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": op.URL, "authorization_endpoint": op.URL + "/authorize",
			"token_endpoint": op.URL + "/token", "jwks_uri": op.URL + "/keys", "scopes_supported": []string{"openid", "email"}})
	}))
	defer op.Close()

	dnsSrv := startDNS(t)
	b := startBelfryWith(t, func(m *Main) { m.cfg.DNSResolver = dnsSrv.addr })
	ctx := context.Background()
	a, _ := b.client.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Egress Inc")})
	b.claimDomain(t, dnsSrv, aws.ToString(a.Account.AccountId), "egress.example.com")
	bot, err := b.client.CreateBot(ctx, &chime.CreateBotInput{AccountId: a.Account.AccountId, DisplayName: aws.String("probe"), Domain: aws.String("egress.example.com")})
	if err != nil {
		t.Fatal(err)
	}
	for _, endpoint := range []string{internal.URL, strings.Replace(internal.URL, "127.0.0.1", "localhost", 1) + "/x?token=s3cret"} {
		_, err = b.client.PutEventsConfiguration(ctx, &chime.PutEventsConfigurationInput{AccountId: a.Account.AccountId, BotId: bot.Bot.BotId,
			OutboundEventsHTTPSEndpoint: aws.String(endpoint)})
		apiErr(t, err, "BadRequestException", 400)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the internal server got %d requests through a bot's endpoint", n)
	}

	st, out := b.wickrAdmin(t, "POST", "/networks", `{"networkName":"Egress","accessLevel":"PREMIUM"}`)
	if st != 200 {
		t.Fatalf("CreateNetwork: %d %v", st, out)
	}
	nid := str(out["networkId"])
	test := `{"issuer":"` + op.URL + `","scopes":"openid email"}`
	if st, out := b.wickrAdmin(t, "POST", "/networks/"+nid+"/oidc/test", test); st != 422 || opHits.Load() != 0 {
		t.Errorf("RegisterOidcConfigTest at a loopback issuer: %d %v, the provider got %d requests", st, out, opHits.Load())
	}

	allowed := startBelfryWith(t, func(m *Main) { m.cfg.OutboundAllow = "127.0.0.1" })
	st, out = allowed.wickrAdmin(t, "POST", "/networks", `{"networkName":"Egress","accessLevel":"PREMIUM"}`)
	if st != 200 {
		t.Fatalf("CreateNetwork: %d %v", st, out)
	}
	nid = str(out["networkId"])
	if st, out := allowed.wickrAdmin(t, "POST", "/networks/"+nid+"/oidc/test", test); st != 200 || opHits.Load() == 0 {
		t.Errorf("RegisterOidcConfigTest at an issuer BELFRY_OUTBOUND_ALLOW allows: %d %v", st, out)
	}
}

// TestOutboundAllowConfigValidated: a BELFRY_OUTBOUND_ALLOW that is not a list of addresses and CIDRs
// is refused at start, naming the variable.
func TestOutboundAllowConfigValidated(t *testing.T) {
	t.Parallel()
	cfg := Config{DatabaseURL: "postgres://x", EventLogAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Region: "us-east-1", OutboundAllow: "10.0.0.0/8, intranet"}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "BELFRY_OUTBOUND_ALLOW") {
		t.Fatalf("want an error naming BELFRY_OUTBOUND_ALLOW, got %v", err)
	}
	cfg.OutboundAllow = "10.0.0.0/8, 127.0.0.1, ::1"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}
