package main

import (
	"testing"
)

// TestWickrClientLockoutIsNoPasswordOracle: while an account is locked after failed sign-ins, a
// guess answers the same whether the password is right or wrong, or guessing goes on through the
// lockout (throttled only per address) and the different answer tells the right password.
func TestWickrClientLockoutIsNoPasswordOracle(t *testing.T) {
	t.Parallel()
	outbox := t.TempDir()
	b := startBelfryWith(t, func(m *Main) { m.cfg.MailDir = outbox })
	const alice = "alice@corp.example"
	wickrClientNetwork(t, b, alice)
	tok := wickrInviteTokens(t, outbox, alice, 1)[0]
	if st, out := b.wickrClient(t, "POST", "/client/v1/wickr/registrations", "", `{"Token":"`+tok+`","Password":"Correct-Horse-42","AppId":"laptop","DeviceType":"MacOSX"}`); st != 201 {
		t.Fatalf("register: %d %v", st, out)
	}
	signIn := func(pw string) (int, map[string]any) {
		return b.wickrClient(t, "POST", "/client/v1/wickr/sessions", "", `{"Email":"`+alice+`","Password":"`+pw+`","AppId":"phone","DeviceType":"iOS"}`)
	}
	for range 3 { // the group's lockoutThreshold
		signIn("Wrong-Horse-42")
	}
	stWrong, wrong := signIn("Wrong-Horse-43")
	stRight, right := signIn("Correct-Horse-42")
	if stWrong != stRight || str(wrong["Message"]) != str(right["Message"]) || stRight != 403 {
		t.Fatalf("locked: a wrong password answers %d %v, the right one %d %v", stWrong, wrong, stRight, right)
	}
}
