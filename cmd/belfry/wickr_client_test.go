package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry/domain/wickr/roster"
)

// wickrAdmin calls the Wickr Admin API signed with SigV4 (service wickr) and decodes the answer.
func (r *running) wickrAdmin(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	resp := r.signedRaw(t, method, path, body, "wickr")
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// wickrClient calls the Wickr client API with an optional bearer session.
func (r *running) wickrClient(t *testing.T, method, path, bearer, body string) (int, map[string]any) {
	t.Helper()
	return r.clientRaw(t, method, path, bearer, []byte(body))
}

var wickrTokenLine = regexp.MustCompile(`(?m)^  ([0-9]{8}\.[0-9]+\.[0-9]+\.[0-9a-f]{64})\r?$`)

// wickrInviteTokens returns the tokens mailed to email, oldest first, waiting up to 10 s for want.
func wickrInviteTokens(t *testing.T, outbox, email string, want int) []string {
	t.Helper()
	return wickrMailedTokens(t, outbox, email, "AWS Wickr invitation", want)
}

// wickrMailedTokens returns the tokens of the mails to email whose text holds subject, oldest first,
// once there are at least want of them (at most 10 s: then fewer fail the test).
func wickrMailedTokens(t *testing.T, outbox, email, subject string, want int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(outbox, "*.eml"))
		sort.Strings(files)
		var out []string
		for _, f := range files {
			msg, _ := os.ReadFile(f)
			if bytes.Contains(msg, []byte("To: "+email+"\r\n")) && bytes.Contains(msg, []byte(subject)) {
				out = append(out, string(wickrTokenLine.FindSubmatch(msg)[1]))
			}
		}
		if len(out) >= want || time.Now().After(deadline) {
			if len(out) < want {
				t.Fatalf("%d mails %q for %s, want %d", len(out), subject, email, want)
			}
			return out
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func str(v any) string { s, _ := v.(string); return s }

// wickrClientNetwork creates a network with a group "Strict" (passwords of 10+ characters with an
// uppercase letter, a digit and a symbol; lockout after 3 failures) and invites emails into it.
func wickrClientNetwork(t *testing.T, b *running, emails ...string) (networkID, groupID string, userIDs map[string]string) {
	t.Helper()
	st, out := b.wickrAdmin(t, "POST", "/networks", `{"networkName":"Clients","accessLevel":"PREMIUM"}`)
	if st != 200 {
		t.Fatalf("CreateNetwork: %d %v", st, out)
	}
	networkID = str(out["networkId"])
	st, out = b.wickrAdmin(t, "POST", "/networks/"+networkID+"/security-groups", `{"name":"Strict","securityGroupSettings":{"lockoutThreshold":3,
		"passwordRequirements":{"minLength":10,"uppercase":1,"numbers":1,"symbols":1}}}`)
	if st != 200 {
		t.Fatalf("CreateSecurityGroup: %d %v", st, out)
	}
	groupID = str(out["securityGroup"].(map[string]any)["id"])
	var items []string
	for _, e := range emails {
		items = append(items, `{"username":"`+e+`","securityGroupIds":["`+groupID+`"]}`)
	}
	st, out = b.wickrAdmin(t, "POST", "/networks/"+networkID+"/users", `{"users":[`+strings.Join(items, ",")+`]}`)
	if st != 200 || len(out["successful"].([]any)) != len(emails) {
		t.Fatalf("BatchCreateUser: %d %v", st, out)
	}
	userIDs = map[string]string{}
	for _, u := range out["successful"].([]any) {
		m := u.(map[string]any)
		userIDs[str(m["username"])] = str(m["userId"])
	}
	return networkID, groupID, userIDs
}

// TestWickrClientRegistrationSignInAndSessions drives the Wickr client API of a running Belfry as an
// end user would, and the Admin API as the administrator: registration through the mailed invitation
// with the group's password rules, sign-in from devices the admin then lists and resets, the lockout
// and its end 24 hours later (injected clock), the group's non-SSO timeout, suspension.
func TestWickrClientRegistrationSignInAndSessions(t *testing.T) {
	t.Parallel()
	outbox := t.TempDir()
	clk := &clock{t: time.Now()}
	b := startBelfryWith(t, func(m *Main) { m.cfg.MailDir = outbox; m.Now = clk.Now; m.SweepEvery = 50 * time.Millisecond })
	const alice, bob = "alice@corp.example", "bob@corp.example"
	nid, gid, ids := wickrClientNetwork(t, b, alice, bob)
	tok := wickrInviteTokens(t, outbox, alice, 1)[0]
	reg := func(token, pw, app string) (int, map[string]any) {
		return b.wickrClient(t, "POST", "/client/v1/wickr/registrations", "", `{"Token":"`+token+`","Password":"`+pw+`","AppId":"`+app+`","DeviceType":"MacOSX"}`)
	}
	signIn := func(email, pw, app string) (int, map[string]any) {
		return b.wickrClient(t, "POST", "/client/v1/wickr/sessions", "", `{"Email":"`+email+`","Password":"`+pw+`","AppId":"`+app+`","DeviceType":"iOS"}`)
	}
	me := func(session string) int {
		st, _ := b.wickrClient(t, "GET", "/client/v1/wickr/me", session, "")
		return st
	}

	// The group's password rules, each named.
	for pw, rule := range map[string]string{"Sh0rt!": "at least 10 characters", "longenough1!": "uppercase", "Longenough!!": "digits", "Longenough12": "special"} {
		if st, out := reg(tok, pw, "laptop"); st != 400 || str(out["Field"]) != "Password" || !strings.Contains(str(out["Message"]), rule) {
			t.Fatalf("password %q: %d %v, want 400 naming %q", pw, st, out, rule)
		}
	}
	if st, out := reg(forgeMAC(tok), "Correct-Horse-42", "laptop"); st != 403 {
		t.Fatalf("a forged token: %d %v", st, out)
	}
	st, out := reg(tok, "Correct-Horse-42", "laptop")
	if st != 201 || str(out["UserId"]) != ids[alice] || str(out["NetworkId"]) != nid {
		t.Fatalf("register: %d %v", st, out)
	}
	laptop := str(out["SessionToken"])
	if st, out := reg(tok, "Correct-Horse-42", "laptop"); st != 400 || !strings.Contains(str(out["Message"]), "already registered") {
		t.Fatalf("an invitation registers once: %d %v", st, out)
	}
	if st, u := b.wickrClient(t, "GET", "/client/v1/wickr/me", laptop, ""); st != 200 || str(u["User"].(map[string]any)["Username"]) != alice {
		t.Fatalf("me: %d %v", st, u)
	}
	// Sign-in from a phone: the device is registered; wrong and unknown addresses get the same answer.
	st, out = signIn(alice, "Correct-Horse-42", "phone")
	if st != 201 {
		t.Fatalf("sign in: %d %v", st, out)
	}
	phone := str(out["SessionToken"])
	_, wrong := signIn(alice, "Wrong-Horse-42", "phone")
	_, unknown := signIn("nobody@corp.example", "Wrong-Horse-42", "phone")
	if str(wrong["Message"]) != str(unknown["Message"]) || str(wrong["Code"]) != "Forbidden" {
		t.Fatalf("wrong password %v, unknown address %v", wrong, unknown)
	}
	devPath := "/networks/" + nid + "/users/" + ids[alice] + "/devices"
	st, out = b.wickrAdmin(t, "GET", devPath+"?sortFields=created&sortDirection=ASC", "")
	if st != 200 || len(out["devices"].([]any)) != 2 {
		t.Fatalf("ListDevicesForUser: %d %v", st, out)
	}
	// The admin resets the phone: its session ends; signing in again from it opens a new one.
	if st, out := b.wickrAdmin(t, "PATCH", devPath, `{"appIds":["phone"]}`); st != 200 {
		t.Fatalf("BatchResetDevicesForUser: %d %v", st, out)
	}
	if me(phone) != 401 || me(laptop) != 200 {
		t.Fatal("a reset device's session must end, and only its")
	}
	if st, out = signIn(alice, "Correct-Horse-42", "phone"); st != 201 || me(str(out["SessionToken"])) != 200 || me(phone) != 401 {
		t.Fatalf("signing in again from the reset device: %d %v", st, out)
	}
	// Lockout: lockoutThreshold (3) failures in a row (a success clears the count).
	for range 3 {
		signIn(alice, "Wrong-Horse-42", "phone")
	}
	if st, out = signIn(alice, "Correct-Horse-42", "phone"); st != 403 || !strings.Contains(str(out["Message"]), "locked") {
		t.Fatalf("locked out: %d %v", st, out)
	}
	if me(laptop) != 401 {
		t.Fatal("a lockout ends the sessions")
	}
	// Meanwhile the Admin API shows the user suspended (guide §21.3), and no longer once it ends.
	suspended := func() bool {
		st, out := b.wickrAdmin(t, "GET", "/networks/"+nid+"/users/"+ids[alice], "")
		return st == 200 && out["suspended"] == true
	}
	waitFor(t, suspended)
	clk.Add(24*time.Hour + time.Minute)
	if suspended() {
		t.Fatal("the user is shown suspended after its lockout ended")
	}
	if st, out = signIn(alice, "Correct-Horse-42", "laptop"); st != 201 {
		t.Fatalf("unlocked after 24 hours: %d %v", st, out)
	}
	laptop = str(out["SessionToken"])
	// The group's non-SSO session timeout.
	if st, out := b.wickrAdmin(t, "PATCH", "/networks/"+nid+"/security-groups/"+gid, `{"securityGroupSettings":{"maxNonSsoSessionMinutes":60}}`); st != 200 {
		t.Fatalf("UpdateSecurityGroup: %d %v", st, out)
	}
	clk.Add(59 * time.Minute)
	if me(laptop) != 200 {
		t.Fatal("within the timeout")
	}
	clk.Add(2 * time.Minute)
	if st, out := b.wickrClient(t, "GET", "/client/v1/wickr/me", laptop, ""); st != 401 || !strings.Contains(str(out["Message"]), "timed out") {
		t.Fatalf("after the timeout: %d %v", st, out)
	}
	// Suspension logs out at once; unsuspending does not revive the session.
	_, out = signIn(alice, "Correct-Horse-42", "laptop")
	laptop = str(out["SessionToken"])
	suspend := func(on bool) {
		body := `{"userIds":["` + ids[alice] + `"]}`
		q := map[bool]string{true: "true", false: "false"}[on]
		if st, out := b.wickrAdmin(t, "PATCH", "/networks/"+nid+"/users/toggleSuspend?suspend="+q, body); st != 200 || len(out["successful"].([]any)) != 1 {
			t.Fatalf("toggle suspend %v: %d %v", on, st, out)
		}
	}
	suspend(true)
	if me(laptop) != 401 {
		t.Fatal("a suspended user's session must end at once")
	}
	if st, out = signIn(alice, "Correct-Horse-42", "laptop"); st != 403 || !strings.Contains(str(out["Message"]), "suspended") {
		t.Fatalf("a suspended user signs in: %d %v", st, out)
	}
	suspend(false)
	if me(laptop) != 401 {
		t.Fatal("unsuspending does not revive an ended session")
	}
	if st, _ = signIn(alice, "Correct-Horse-42", "laptop"); st != 201 {
		t.Fatal("an unsuspended user signs in")
	}
	// A re-invite voids the older token.
	if st, out := b.wickrAdmin(t, "PATCH", "/networks/"+nid+"/users/re-invite", `{"userIds":["`+ids[bob]+`"]}`); st != 200 {
		t.Fatalf("BatchReinviteUser: %d %v", st, out)
	}
	toks := wickrInviteTokens(t, outbox, bob, 2)
	if st, out := reg(toks[0], "Correct-Horse-42", "pc"); st != 403 || !strings.Contains(str(out["Message"]), "renewed") {
		t.Fatalf("the older invitation: %d %v", st, out)
	}
	if st, out := reg(toks[1], "Correct-Horse-42", "pc"); st != 201 {
		t.Fatalf("the newest invitation: %d %v", st, out)
	}
}

// TestWickrClientRefusesBadInput: NUL, invalid UTF-8 and oversized members are 400 naming the member.
func TestWickrClientRefusesBadInput(t *testing.T) {
	t.Parallel()
	b := startBelfry(t)
	long := strings.Repeat("a", 300)
	for _, c := range []struct{ path, body, field string }{
		{"/client/v1/wickr/sessions", `{"Email":"a\u0000@x.example","Password":"p","AppId":"a","DeviceType":"iOS"}`, "Email"},
		{"/client/v1/wickr/sessions", `{"Email":"a@x.example","Password":"\ud800","AppId":"a","DeviceType":"iOS"}`, "Password"},
		{"/client/v1/wickr/sessions", `{"Email":"a@x.example","Password":"p","AppId":"` + long + `","DeviceType":"iOS"}`, "AppId"},
		{"/client/v1/wickr/sessions", `{"Email":"a@x.example","Password":"p","AppId":"a","DeviceType":"Palm"}`, "DeviceType"},
		{"/client/v1/wickr/registrations", `{"Token":"` + strings.Repeat("1", 600) + `","Password":"p","AppId":"a","DeviceType":"iOS"}`, "Token"},
		{"/client/v1/wickr/registrations", `{"Token":"t","Password":"` + strings.Repeat("P", 300) + `","AppId":"a","DeviceType":"iOS"}`, "Password"},
		{"/client/v1/wickr/sso/authorizations", `{"CompanyId":"","AppId":"a","DeviceType":"iOS"}`, "CompanyId"},
		{"/client/v1/wickr/password-resets", `{"Email":"a\u0000@x.example"}`, "Email"},
		{"/client/v1/wickr/password-resets", `{"Email":"` + strings.Repeat("e", 400) + `@x.example"}`, "Email"},
		{"/client/v1/wickr/password-resets", `{"Email":""}`, "Email"},
		{"/client/v1/wickr/password-resets", `{"Email":"a@x.example","NetworkId":"12"}`, "NetworkId"},
		{"/client/v1/wickr/password-resets/confirm", `{"Token":"` + strings.Repeat("1", 600) + `","Password":"p"}`, "Token"},
		{"/client/v1/wickr/password-resets/confirm", `{"Token":"t","Password":"\ud800"}`, "Password"},
		{"/client/v1/wickr/password-resets/confirm", `{"Token":"t","Password":"` + strings.Repeat("P", 300) + `"}`, "Password"},
	} {
		st, out := b.wickrClient(t, "POST", c.path, "", c.body)
		if st != 400 || (str(out["Field"]) != c.field && !strings.Contains(str(out["Message"]), c.field)) {
			t.Errorf("%s %.60s: %d %v, want 400 naming %s", c.path, c.body, st, out, c.field)
		}
	}
}

// TestWickrGroupReactorMovesMissedUsers: users whose security group was deleted without them being
// moved (here: invited into it by a decision made before the deletion, as a BatchCreateUser racing
// DeleteSecurityGroup would) are moved to the default group by the sweep's reactor, as UserMoved
// events the Admin API shows.
func TestWickrGroupReactorMovesMissedUsers(t *testing.T) {
	t.Parallel()
	b := startBelfryWith(t, func(m *Main) { m.SweepEvery = 50 * time.Millisecond })
	nid, gid, ids := wickrClientNetwork(t, b, "carol@corp.example")
	policy, def := wickrPolicy(t, b, nid) // still holds the group about to be deleted
	if st, out := b.wickrAdmin(t, "DELETE", "/networks/"+nid+"/security-groups/"+gid, ""); st != 200 {
		t.Fatalf("DeleteSecurityGroup: %d %v", st, out)
	}
	late := roster.NewUser{UserID: "4242000001", Username: "dave@corp.example", SecurityGroupIDs: []string{gid}}
	rosterDo(t, b, nid, late.UserID, roster.CreateUsers{NetworkID: nid, Items: []roster.NewUser{late}, Policy: policy})
	deadline := time.Now().Add(15 * time.Second)
	for _, uid := range []string{ids["carol@corp.example"], late.UserID} {
		for {
			st, out := b.wickrAdmin(t, "GET", "/networks/"+nid+"/users/"+uid, "")
			if groups, _ := out["securityGroupIds"].([]any); st == 200 && len(groups) == 1 && groups[0] == def {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("user %s still not in the default group: %d %v", uid, st, out)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// forgeMAC changes the last hex digit of a token's MAC (replacing it with a fixed "0" left the token
// unchanged 1 time in 16).
func forgeMAC(s string) string {
	if s[len(s)-1] == '0' {
		return s[:len(s)-1] + "1"
	}
	return s[:len(s)-1] + "0"
}
