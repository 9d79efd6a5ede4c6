package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry/domain/wickr/roster"
)

// TestWickrClientSSO: a network with an OIDC configuration signs its users in through a real OpenID
// provider (zitadel/oidc's example OP, started here) with the authorization code and PKCE; the
// session is renewed with the refresh token, and once the provider is down it lasts the network's
// token-refresh grace period (30 minutes, on an injected clock) and no longer. Passwords are refused.
func TestWickrClientSSO(t *testing.T) {
	t.Parallel()
	outbox := t.TempDir()
	clk := &clock{t: time.Now()}
	b := startBelfryWith(t, func(m *Main) { m.cfg.MailDir = outbox; m.Now = clk.Now; allowLoopbackProviders(t, m) })
	const email = "test-user@zitadel.ch" // the example OP's user "test-user@127.0.0.1", password "verysecure"
	nid, _, ids := wickrClientNetwork(t, b, email)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String() + "/"
	redirect := b.url + "/wickr/networks/" + nid + "/oidc/callback"
	op := &httptest.Server{Listener: ln, Config: &http.Server{Handler: exampleOP(issuer, "belfry-"+nid, redirect)}}
	op.Start()
	t.Cleanup(op.Close)

	st, out := b.wickrAdmin(t, "POST", "/networks/"+nid+"/oidc/save", `{"companyId":"UE1-Clients_sso","issuer":"`+issuer+`",
		"scopes":"openid email profile offline_access","userId":"belfry-`+nid+`","secret":"secret","tokenRefreshGraceMinutes":30}`)
	if st != 200 || str(out["redirectUrl"]) != redirect {
		t.Fatalf("RegisterOidcConfig: %d %v (redirect %s)", st, out, redirect)
	}
	if st, out := b.wickrClient(t, "POST", "/client/v1/wickr/sessions", "", `{"Email":"`+email+`","Password":"Correct-Horse-42","AppId":"pc","DeviceType":"Windows"}`); st != 403 {
		t.Fatalf("a password sign-in in an SSO network: %d %v", st, out)
	}
	if st, out := b.wickrClient(t, "POST", "/client/v1/wickr/sso/authorizations", "", `{"CompanyId":"nope","AppId":"pc","DeviceType":"Windows"}`); st != 404 {
		t.Fatalf("an unknown company id: %d %v", st, out)
	}
	st, out = b.wickrClient(t, "POST", "/client/v1/wickr/sso/authorizations", "", `{"CompanyId":"ue1-clients_SSO","AppId":"pc","DeviceType":"Windows"}`)
	if st != 201 {
		t.Fatalf("start SSO: %d %v", st, out)
	}
	auth, _ := url.Parse(str(out["AuthorizationUrl"]))
	if q := auth.Query(); q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("redirect_uri") != redirect || q.Get("nonce") == "" {
		t.Fatalf("authorization URL without PKCE, nonce or the redirect URI: %s", auth)
	}
	session := ssoLogin(t, auth.String(), issuer)
	me := func() (int, map[string]any) { return b.wickrClient(t, "GET", "/client/v1/wickr/me", session, "") }
	if st, out := me(); st != 200 || out["User"].(map[string]any)["SSO"] != true || str(out["User"].(map[string]any)["UserId"]) != ids[email] {
		t.Fatalf("me: %d %v", st, out)
	}
	if st, out := b.wickrAdmin(t, "GET", "/networks/"+nid+"/users/"+ids[email], ""); st != 200 || out["status"] != float64(roster.StatusActive) {
		t.Fatalf("the pending user registered at its first SSO sign-in: %d %v", st, out)
	}
	// Past the tokens' expiry the session is renewed at the provider.
	clk.Add(2 * time.Hour)
	if st, out := me(); st != 200 {
		t.Fatalf("renewed: %d %v", st, out)
	}
	// The provider is down: the grace period runs from the first failed refresh.
	op.Close()
	clk.Add(2 * time.Hour)
	if st, out := me(); st != 200 {
		t.Fatalf("first failed refresh, within the grace period: %d %v", st, out)
	}
	clk.Add(29 * time.Minute)
	if st, out := me(); st != 200 {
		t.Fatalf("29 minutes into the grace period: %d %v", st, out)
	}
	clk.Add(2 * time.Minute)
	if st, out := me(); st != 401 || !strings.Contains(str(out["Message"]), "grace period") {
		t.Fatalf("after the grace period: %d %v", st, out)
	}
}

// ssoLogin goes through the example OP's login page as a browser would and returns the session
// Belfry's callback answers with.
func ssoLogin(t *testing.T, authURL, issuer string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := resp.Request.URL.Query().Get("authRequestID")
	if id == "" {
		t.Fatalf("no login page: %s", resp.Request.URL)
	}
	resp, err = c.PostForm(issuer+"login/username", url.Values{"username": {"test-user@127.0.0.1"}, "password": {"verysecure"}, "id": {id}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]string
	if err := json.Unmarshal(raw, &out); err != nil || resp.StatusCode != 201 || out["SessionToken"] == "" {
		t.Fatalf("callback: %d %s", resp.StatusCode, raw)
	}
	return out["SessionToken"]
}
