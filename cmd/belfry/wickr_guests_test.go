package main

import (
	"context"
	"testing"
	"time"

	"github.com/belfry/belfry/domain/wickr"
)

// The guests-seen suite (api/wickr/testdata/boto3/test_guests_seen.py): guests sign up and sign in
// through the client API, talk with a network's users in two billing periods (the injected clock),
// and the Admin API's ListGuestUsers and GetGuestUserHistoryCount, read through boto3, report
// exactly what messaging recorded; after the Python file blocks a guest, the check sees the block
// enforced on the client API.

// guestsSeen is what the setup leaves for the check.
var guestsSeen struct {
	clk                *clock
	alice, gus, gwen   string // sessions
	dm, gwenDM, nid    string
	aliceID, carolID   string
	carolSess, gusHash string
}

func init() {
	boto3Options["test_guests_seen"] = func(t *testing.T, m *Main) {
		guestsSeen.clk = &clock{t: time.Now().UTC().AddDate(0, -1, 0)} // last month: the first period
		m.cfg.MailDir, m.Now, m.SweepEvery = t.TempDir(), guestsSeen.clk.Now, 50*time.Millisecond
	}
	boto3Setups["test_guests_seen"] = setupGuestsSeen
	boto3Checks["test_guests_seen"] = checkGuestsSeen
}

// guestSignUp registers a guest through the client API and returns its session and username hash.
func (r *running) guestSignUp(t *testing.T, email, password string) (string, string) {
	t.Helper()
	st, out := r.wickrClient(t, "POST", "/client/v1/wickr/guests/registrations", "", `{"Email":"`+email+`","Password":"`+password+`","AppId":"g","DeviceType":"iOS"}`)
	if st != 201 || str(out["GuestHash"]) != wickr.UsernameHash(email) || str(out["NetworkId"]) != "" {
		t.Fatalf("guest registration of %s: %d %v", email, st, out)
	}
	return str(out["SessionToken"]), str(out["GuestHash"])
}

func setupGuestsSeen(t *testing.T, b *running) map[string]string {
	g := &guestsSeen
	const alice, carol = "alice@seen.example", "carol@seen.example"
	nid, gid, s := wickrMsgUsers(t, b, b.m.cfg.MailDir, alice, carol)
	g.nid, g.alice, g.carolSess = nid, s[alice], s[carol]
	userOf := func(session string) string {
		_, out := b.wickrClient(t, "GET", "/client/v1/wickr/me", session, "")
		return str(out["User"].(map[string]any)["UserId"])
	}
	g.aliceID, g.carolID = userOf(s[alice]), userOf(s[carol])
	call := func(method, path, session, body string) (int, map[string]any) {
		return b.wickrClient(t, method, "/client/v1/wickr/conversations"+path, session, body)
	}

	// Sign-up and sign-in of a guest, with the refusals a client sees.
	for body, want := range map[string]int{
		`{"Email":"gus@guest.example","Password":"short","AppId":"g","DeviceType":"iOS"}`:       400, // below the default group's minimum
		`{"Email":"not-an-email","Password":"Long-enough-1","AppId":"g","DeviceType":"iOS"}`:    400,
		`{"Email":"gus@guest.example","Password":"Long-enough-1","AppId":"g","DeviceType":"X"}`: 400,
	} {
		if st, out := b.wickrClient(t, "POST", "/client/v1/wickr/guests/registrations", "", body); st != want || str(out["Field"]) == "" {
			t.Fatalf("registration %s: %d %v", body, st, out)
		}
	}
	_, g.gusHash = b.guestSignUp(t, "gus@guest.example", "Guest-pass-1")
	if st, _ := b.wickrClient(t, "POST", "/client/v1/wickr/guests/registrations", "", `{"Email":"GUS@guest.example","Password":"Guest-pass-2","AppId":"g","DeviceType":"iOS"}`); st != 409 {
		t.Fatalf("a second guest account for one address: %d", st)
	}
	if st, _ := b.wickrClient(t, "POST", "/client/v1/wickr/guests/sessions", "", `{"Email":"gus@guest.example","Password":"wrong-pass-1","AppId":"g","DeviceType":"iOS"}`); st != 403 {
		t.Fatalf("a wrong password: %d", st)
	}
	st, out := b.wickrClient(t, "POST", "/client/v1/wickr/guests/sessions", "", `{"Email":"Gus@Guest.example","Password":"Guest-pass-1","AppId":"g2","DeviceType":"Android"}`)
	if st != 201 {
		t.Fatalf("guest sign-in: %d %v", st, out)
	}
	g.gus = str(out["SessionToken"])
	if st, out := b.wickrClient(t, "GET", "/client/v1/wickr/me", g.gus, ""); st != 200 || str(out["Guest"].(map[string]any)["Username"]) != "gus@guest.example" {
		t.Fatalf("a guest's me: %d %v", st, out)
	}

	// The network does not allow guests yet: a guest cannot reach its users.
	dmBody := `{"Kind":"DM","Members":[{"NetworkId":"` + nid + `","UserId":"` + g.aliceID + `"}]}`
	if st, out := call("POST", "", g.gus, dmBody); st != 403 {
		t.Fatalf("a guest to a group without guest federation: %d %v", st, out)
	}
	b.wickrGroup(t, nid, gid, `{"federationMode":1,"enableGuestFederation":true}`)
	st, out = call("POST", "", g.gus, dmBody)
	if st != 201 {
		t.Fatalf("a guest's DM: %d %v", st, out)
	}
	g.dm = str(out["Conversation"].(map[string]any)["ConversationId"])
	aliceWS := b.dialWickrStream(t, g.alice, "")
	aliceWS.expect("Ready")
	if st, out := call("POST", "/"+g.dm+"/messages", g.gus, `{"Content":"hello from a guest"}`); st != 201 {
		t.Fatalf("a guest's post: %d %v", st, out)
	}
	if f := aliceWS.expect("MessagePosted"); f.Message.Content != "hello from a guest" || f.Actor["GuestHash"] != g.gusHash {
		t.Fatalf("alice's live frame of the guest's post: %+v", f)
	}
	if messagesOf(t, b, g.alice, g.dm)["hello from a guest"] == nil || messagesOf(t, b, g.gus, g.dm)["hello from a guest"] == nil {
		t.Fatal("the guest's message is not read back")
	}

	// This month: alice answers gus, and a second guest talks with carol.
	lastPeriod := g.clk.Now().Format("2006-01")
	g.clk.mu.Lock()
	g.clk.t = time.Now().UTC()
	g.clk.mu.Unlock()
	thisPeriod := g.clk.Now().Format("2006-01")
	if st, out := call("POST", "/"+g.dm+"/messages", g.alice, `{"Content":"hello guest"}`); st != 201 {
		t.Fatalf("alice to the guest: %d %v", st, out)
	}
	g.gwen, _ = b.guestSignUp(t, "gwen@guest.example", "Guest-pass-3")
	st, out = call("POST", "", g.carolSess, `{"Kind":"DM","Members":[{"GuestUsername":"gwen@guest.example"}]}`)
	if st != 201 {
		t.Fatalf("carol's DM with gwen: %d %v", st, out)
	}
	g.gwenDM = str(out["Conversation"].(map[string]any)["ConversationId"])
	if st, out := call("POST", "/"+g.gwenDM+"/messages", g.gwen, `{"Content":"hi carol"}`); st != 201 {
		t.Fatalf("gwen to carol: %d %v", st, out)
	}
	// A guest who signs up and talks to no one is seen by no network.
	b.guestSignUp(t, "silent@guest.example", "Guest-pass-4")
	// The guests read model has applied gwen's post (it follows the conversations too).
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := b.m.wickr.guestsRM.WaitFor(ctx, b.m.wickr.conversationsRM.Position()); err != nil {
		t.Fatal(err)
	}
	return map[string]string{"WICKR_NETWORK": nid, "WICKR_THIS_PERIOD": thisPeriod, "WICKR_LAST_PERIOD": lastPeriod, "WICKR_GUS_HASH": g.gusHash}
}

// checkGuestsSeen: the Python file blocked gus; the block is enforced at once on the client API.
func checkGuestsSeen(t *testing.T, b *running) {
	g := &guestsSeen
	call := func(method, path, session, body string) (int, map[string]any) {
		return b.wickrClient(t, method, "/client/v1/wickr/conversations"+path, session, body)
	}
	if st, out := call("POST", "/"+g.dm+"/messages", g.gus, `{"Content":"still there?"}`); st != 403 {
		t.Fatalf("a blocked guest's post: %d %v", st, out)
	}
	if st, out := call("POST", "/"+g.dm+"/messages", g.alice, `{"Content":"to a blocked guest"}`); st != 403 {
		t.Fatalf("a post to a blocked guest: %d %v", st, out)
	}
	if st, out := call("POST", "", g.gus, `{"Kind":"DM","Members":[{"NetworkId":"`+g.nid+`","UserId":"`+g.carolID+`"}]}`); st != 403 {
		t.Fatalf("a blocked guest reaching another user of the network: %d %v", st, out)
	}
	if st, out := call("POST", "/"+g.gwenDM+"/messages", g.gwen, `{"Content":"not blocked"}`); st != 201 {
		t.Fatalf("another guest: %d %v", st, out)
	}
}
