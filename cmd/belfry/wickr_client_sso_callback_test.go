package main

import (
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestWickrSSOCallbackIsBoundToItsSignIn: the OIDC callback takes only what a sign-in Belfry started
// sent back. A provider's error reflects nothing of the request (anyone can craft a link to the
// callback with an error_description of their choosing, and start a sign-in for a state): for the
// state of a started sign-in of that network it names a registered error code, never the
// description, and ends that sign-in (its state is spent). A callback for another network spends the state
// too, and a callback replayed (its code exchanged already) signs nothing in.
func TestWickrSSOCallbackIsBoundToItsSignIn(t *testing.T) {
	t.Parallel()
	b, nid, issuer := ssoNetwork(t, "UE1-Callback_sso", func(h http.Handler) http.Handler { return h })
	start := func() string {
		st, out := b.wickrClient(t, "POST", "/client/v1/wickr/sso/authorizations", "", `{"CompanyId":"UE1-Callback_sso","AppId":"pc","DeviceType":"Windows"}`)
		if st != 201 {
			t.Fatalf("start SSO: %d %v", st, out)
		}
		return str(out["AuthorizationUrl"])
	}
	get := func(q url.Values, network string) (int, map[string]any) {
		return b.wickrClient(t, "GET", "/wickr/networks/"+network+"/oidc/callback?"+q.Encode(), "", "")
	}
	const phish = "Your account is locked. Call +1 555 0100 to unlock it"
	if st, out := get(url.Values{"error": {"access_denied"}, "error_description": {phish}}, nid); st != 403 || strings.Contains(str(out["Message"]), "555") {
		t.Fatalf("a provider error without a started sign-in's state: %d %v", st, out)
	}
	auth, _ := url.Parse(start())
	state := auth.Query().Get("state")
	if st, out := get(url.Values{"error": {"access_denied"}, "error_description": {phish}, "state": {state}}, nid); st != 403 ||
		!strings.Contains(str(out["Message"]), "access_denied") || strings.Contains(str(out["Message"]), "555") {
		t.Fatalf("a provider error for a started sign-in: %d %v", st, out)
	}
	if st, out := get(url.Values{"code": {"whatever"}, "state": {state}}, nid); st != 403 {
		t.Fatalf("a callback after the provider's error ended the sign-in: %d %v", st, out)
	}
	// A real code, sent to another network's callback, then to its own: both refused.
	code := ssoCode(t, start(), issuer, b.url)
	if st, out := get(code, "12345678"); st != 403 {
		t.Fatalf("a callback for another network: %d %v", st, out)
	}
	if st, out := get(code, nid); st != 403 {
		t.Fatalf("the state a callback for another network spent: %d %v", st, out)
	}
	// A callback replayed: the first signs in, the second nothing.
	code = ssoCode(t, start(), issuer, b.url)
	if st, out := get(code, nid); st != 201 || str(out["SessionToken"]) == "" {
		t.Fatalf("the callback: %d %v", st, out)
	}
	if st, out := get(code, nid); st != 403 || out["SessionToken"] != nil {
		t.Fatalf("the callback replayed: %d %v", st, out)
	}
}

// ssoCode signs in at the example OP as a browser would and returns the code and state it sends
// to Belfry's callback, without following that last redirect.
func ssoCode(t *testing.T, authURL, issuer, belfry string) url.Values {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	var got url.Values
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(r.URL.String(), belfry) {
			got = r.URL.Query()
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := resp.Request.URL.Query().Get("authRequestID")
	resp, err = c.PostForm(issuer+"login/username", url.Values{"username": {"test-user@127.0.0.1"}, "password": {"verysecure"}, "id": {id}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got.Get("code") == "" || got.Get("state") == "" {
		t.Fatalf("the provider sent no code to the callback (%s)", resp.Request.URL)
	}
	return url.Values{"code": {got.Get("code")}, "state": {got.Get("state")}}
}

// TestWickrSSORefusesAnUnverifiedEmail: a provider that says it has not verified the e-mail address
// (email_verified false) does not sign anyone in by it: anyone could have typed it there.
func TestWickrSSORefusesAnUnverifiedEmail(t *testing.T) {
	t.Parallel()
	b, nid, issuer := ssoNetwork(t, "UE1-Unverified_sso", unverifiedEmails)
	callback := "/wickr/networks/" + nid + "/oidc/callback"
	st, out := b.wickrClient(t, "POST", "/client/v1/wickr/sso/authorizations", "", `{"CompanyId":"UE1-Unverified_sso","AppId":"pc","DeviceType":"Windows"}`)
	if st != 201 {
		t.Fatalf("start SSO: %d %v", st, out)
	}
	code := ssoCode(t, str(out["AuthorizationUrl"]), issuer, b.url)
	st, out = b.wickrClient(t, "GET", callback+"?"+code.Encode(), "", "")
	if st != 403 || out["SessionToken"] != nil || !strings.Contains(str(out["Message"]), "not verified") {
		t.Fatalf("a sign-in by an unverified address: %d %v", st, out)
	}
}

// ssoNetwork starts Belfry (loopback providers allowed) with a network whose user is the example
// OP's test user, and the example OP (its handler wrapped by wrap), registered as the network's SSO
// configuration under companyID; it returns Belfry, the network and the OP's issuer.
func ssoNetwork(t *testing.T, companyID string, wrap func(http.Handler) http.Handler) (*running, string, string) {
	t.Helper()
	b := startBelfryWith(t, func(m *Main) { m.cfg.MailDir = t.TempDir(); allowLoopbackProviders(t, m) })
	nid, _, _ := wickrClientNetwork(t, b, "test-user@zitadel.ch")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String() + "/"
	callback := b.url + "/wickr/networks/" + nid + "/oidc/callback"
	op := &httptest.Server{Listener: ln, Config: &http.Server{Handler: wrap(exampleOP(issuer, "belfry-"+nid, callback))}}
	op.Start()
	t.Cleanup(op.Close)
	if st, out := b.wickrAdmin(t, "POST", "/networks/"+nid+"/oidc/save", `{"companyId":"`+companyID+`","issuer":"`+issuer+`",
		"scopes":"openid email profile","userId":"belfry-`+nid+`","secret":"secret"}`); st != 200 {
		t.Fatalf("RegisterOidcConfig: %d %v", st, out)
	}
	return b, nid, issuer
}
