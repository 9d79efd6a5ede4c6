package main

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry/domain/wickr/roster"
)

// wickrResetTokens returns the password-reset tokens mailed to email, oldest first, waiting up to
// 10 s for want.
func wickrResetTokens(t *testing.T, outbox, email string, want int) []string {
	t.Helper()
	out := wickrMailedTokens(t, outbox, email, "Reset your AWS Wickr password", want)
	if len(out) != want {
		t.Fatalf("%d password reset mails for %s, want %d", len(out), email, want)
	}
	return out
}

// TestWickrPasswordReset drives the password reset (guide §21.6) through the client API of a running
// Belfry: the request answers alike for every address and mails a link to an active user only; a
// weak password is refused naming Password; the reset ends every session, replaces the password,
// takes the user out of its rooms (not its direct messages; a room it alone moderated gets the next
// member as moderator, who invites it back), unlocks a locked-out user; a link
// resets once, only the newest one does, and it expires after 24 hours (injected clock); requests
// are throttled alike for every address; no token or password is in an event, a queued side effect
// or an audit record.
func TestWickrPasswordReset(t *testing.T) {
	t.Parallel()
	outbox := t.TempDir()
	clk := &clock{t: time.Now()}
	b := startBelfryWith(t, func(m *Main) { m.cfg.MailDir = outbox; m.Now = clk.Now; m.SweepEvery = 50 * time.Millisecond })
	const alice, bob, carol, nobody = "alice@corp.example", "bob@corp.example", "carol@corp.example", "nobody@corp.example"
	const oldPW, newPW, thirdPW = "Correct-Horse-42", "Battery-Staple-77", "Third-Horse-99"
	nid, _, ids := wickrClientNetwork(t, b, alice, bob, carol) // carol stays pending
	laptop := wickrRegister(t, b, outbox, alice, "laptop")
	phone := wickrSignIn(t, b, alice, "phone")
	bobS := wickrRegister(t, b, outbox, bob, "pc")
	rooms := wickrResetRooms(t, b, nid, ids[alice], ids[bob], laptop, bobS)
	clk.Add(time.Minute)

	request := func(email string) (int, map[string]any) {
		return b.wickrClient(t, "POST", "/client/v1/wickr/password-resets", "", `{"Email":"`+email+`"}`)
	}
	confirm := func(tok, pw string) (int, map[string]any) {
		return b.wickrClient(t, "POST", "/client/v1/wickr/password-resets/confirm", "", `{"Token":"`+tok+`","Password":"`+pw+`"}`)
	}
	signIn := func(pw string) (int, map[string]any) {
		return b.wickrClient(t, "POST", "/client/v1/wickr/sessions", "", `{"Email":"`+alice+`","Password":"`+pw+`","AppId":"laptop","DeviceType":"MacOSX"}`)
	}

	// The same 202 for an active user, an unknown address and a pending user; one mail, to the active user.
	stA, outA := request(alice)
	stN, outN := request(nobody)
	stC, outC := request(carol)
	if stA != 202 || stN != 202 || stC != 202 || !reflect.DeepEqual(outA, outN) || !reflect.DeepEqual(outA, outC) {
		t.Fatalf("the answers differ: %d %v / %d %v / %d %v", stA, outA, stN, outN, stC, outC)
	}
	tok := wickrResetTokens(t, outbox, alice, 1)[0]
	time.Sleep(300 * time.Millisecond)
	wickrResetTokens(t, outbox, alice, 1)
	wickrResetTokens(t, outbox, nobody, 0)
	wickrResetTokens(t, outbox, carol, 0)
	if n := wickrEventCount(t, b, roster.TypePasswordResetRequested); n != 1 {
		t.Fatalf("%d reset requests recorded, want alice's only", n)
	}

	// A weak password is refused naming Password; a good one resets.
	if st, out := confirm(tok, "weakpass"); st != 400 || str(out["Field"]) != "Password" {
		t.Fatalf("a weak password: %d %v", st, out)
	}
	if st, out := confirm(tok, newPW); st != 200 || str(out["UserId"]) != ids[alice] || str(out["NetworkId"]) != nid {
		t.Fatalf("reset: %d %v", st, out)
	}
	if wickrMe(t, b, laptop) != 401 || wickrMe(t, b, phone) != 401 || wickrMe(t, b, bobS) != 200 {
		t.Fatal("the reset must end every session of the user, and only its")
	}
	if st, _ := signIn(oldPW); st != 403 {
		t.Fatalf("the old password signs in: %d", st)
	}
	st, out := signIn(newPW)
	if st != 201 {
		t.Fatalf("the new password: %d %v", st, out)
	}
	aliceS := str(out["SessionToken"])
	waitFor(t, func() bool { return wickrRoomsLeft(t, b, aliceS, bobS, ids[alice], rooms) })
	wickrReinvite(t, b, nid, ids[alice], ids[bob], bobS, rooms["alice's room"])
	if st, out := confirm(tok, thirdPW); st != 403 || !strings.Contains(str(out["Message"]), "not valid") {
		t.Fatalf("a used link: %d %v", st, out)
	}

	// A locked-out user resets and is unlocked.
	for range 3 { // the group's lockoutThreshold
		signIn("Wrong-Horse-42")
	}
	if st, out := signIn(newPW); st != 403 || !strings.Contains(str(out["Message"]), "locked") {
		t.Fatalf("locked out: %d %v", st, out)
	}
	request(alice)
	if st, out := confirm(wickrResetTokens(t, outbox, alice, 2)[1], thirdPW); st != 200 {
		t.Fatalf("reset while locked out: %d %v", st, out)
	}
	if st, out := signIn(thirdPW); st != 201 {
		t.Fatalf("the reset unlocks: %d %v", st, out)
	}

	// Only the newest link resets; a link expires after 24 hours.
	request(alice)
	older := wickrResetTokens(t, outbox, alice, 3)[2]
	clk.Add(time.Second)
	request(alice)
	newest := wickrResetTokens(t, outbox, alice, 4)[3]
	if st, out := confirm(older, newPW); st != 403 || !strings.Contains(str(out["Message"]), "not valid") {
		t.Fatalf("a replaced link: %d %v", st, out)
	}
	request(alice)
	expired := wickrResetTokens(t, outbox, alice, 5)[4]
	clk.Add(roster.PasswordResetTTL + time.Minute)
	if st, out := confirm(expired, newPW); st != 403 || !strings.Contains(str(out["Message"]), "not valid") {
		t.Fatalf("an expired link: %d %v", st, out)
	}
	wickrResetThrottle(t, request, alice, nobody)
	wickrResetNoSecrets(t, b, tok, older, newest, expired, oldPW, newPW, thirdPW, "weakpass")
}

// wickrResetRooms makes a room of bob's with alice, a room of alice's with bob and their direct
// message, and answers them by name.
func wickrResetRooms(t *testing.T, b *running, nid, aliceID, bobID, alice, bob string) map[string]string {
	t.Helper()
	conv := func(session, body string) string {
		st, out := b.wickrClient(t, "POST", "/client/v1/wickr/conversations", session, body)
		if st != 201 {
			t.Fatalf("create %s: %d %v", body, st, out)
		}
		return str(out["Conversation"].(map[string]any)["ConversationId"])
	}
	a, o := `{"NetworkId":"`+nid+`","UserId":"`+aliceID+`"}`, `{"NetworkId":"`+nid+`","UserId":"`+bobID+`"}`
	return map[string]string{"bob's room": conv(bob, `{"Kind":"ROOM","Title":"Ops","Members":[`+a+`]}`),
		"alice's room": conv(alice, `{"Kind":"ROOM","Title":"Mine","Members":[`+o+`]}`), "dm": conv(alice, `{"Kind":"DM","Members":[`+o+`]}`)}
}

// wickrReinvite: alice's room, left by its creator and only moderator at her reset, is moderated by
// bob now, who invites her back (the guide's "the user must be re-invited to rooms").
func wickrReinvite(t *testing.T, b *running, nid, aliceID, bobID, bob, room string) {
	t.Helper()
	st, out := b.wickrClient(t, "GET", "/client/v1/wickr/conversations/"+room, bob, "")
	if st != 200 {
		t.Fatalf("bob reads alice's room: %d %v", st, out)
	}
	mods, _ := out["Conversation"].(map[string]any)["Moderators"].([]any)
	if len(mods) != 1 || str(mods[0].(map[string]any)["UserId"]) != bobID {
		t.Fatalf("the room's moderators after its creator's reset: %v, want bob", mods)
	}
	body := `{"Members":[{"NetworkId":"` + nid + `","UserId":"` + aliceID + `"}]}`
	if st, out := b.wickrClient(t, "POST", "/client/v1/wickr/conversations/"+room+"/members", bob, body); st != 200 {
		t.Fatalf("bob re-invites alice: %d %v", st, out)
	}
}

// wickrRoomsLeft reports whether alice is in none of the rooms (as she and bob see them) and still
// in the direct message.
func wickrRoomsLeft(t *testing.T, b *running, alice, bob, aliceID string, rooms map[string]string) bool {
	t.Helper()
	st, out := b.wickrClient(t, "GET", "/client/v1/wickr/conversations", alice, "")
	if st != 200 {
		t.Fatalf("list: %d %v", st, out)
	}
	var mine []string
	for _, c := range out["Conversations"].([]any) {
		mine = append(mine, str(c.(map[string]any)["ConversationId"]))
	}
	if len(mine) != 1 || mine[0] != rooms["dm"] {
		return false
	}
	for _, name := range []string{"bob's room", "alice's room"} {
		st, out := b.wickrClient(t, "GET", "/client/v1/wickr/conversations/"+rooms[name], bob, "")
		if st != 200 {
			t.Fatalf("bob reads %s: %d %v", name, st, out)
		}
		for _, m := range out["Conversation"].(map[string]any)["Members"].([]any) {
			if str(m.(map[string]any)["UserId"]) == aliceID {
				return false
			}
		}
	}
	return true
}

// wickrResetThrottle: past the limit, requests for an address are refused with Retry-After, for an
// active user's address and an unknown one alike.
func wickrResetThrottle(t *testing.T, request func(string) (int, map[string]any), emails ...string) {
	t.Helper()
	for _, email := range emails {
		accepted := 0
		for range 10 {
			st, out := request(email)
			if st == 429 {
				break
			}
			if st != 202 {
				t.Fatalf("request for %s: %d %v", email, st, out)
			}
			accepted++
		}
		if accepted != 5 {
			t.Fatalf("%s: %d requests taken before 429, want 5 (the sign-in limit per address)", email, accepted)
		}
	}
}

// wickrResetNoSecrets fails when a secret is in a stored event (data or metadata), a queued side
// effect of a reset, or an audit record.
func wickrResetNoSecrets(t *testing.T, b *running, secrets ...string) {
	t.Helper()
	ctx := context.Background()
	pool := dbPool(t, b)
	for _, s := range secrets {
		parts := []string{s}
		if i := strings.LastIndexByte(s, '.'); i > 0 {
			parts = append(parts, s[i+1:]) // a token's mac alone
		}
		for _, p := range parts {
			for _, q := range []string{
				`SELECT count(*) FROM eventlog.events WHERE position($1::bytea IN data) > 0 OR position($1::bytea IN metadata) > 0`,
				`SELECT count(*) FROM watermill_wickr_password_reset_mails WHERE strpos(payload::text, convert_from($1::bytea, 'UTF8')) > 0`,
				`SELECT count(*) FROM watermill_wickr_password_resets WHERE strpos(payload::text, convert_from($1::bytea, 'UTF8')) > 0`,
				`SELECT count(*) FROM rm.audit_records WHERE strpos(record::text, convert_from($1::bytea, 'UTF8')) > 0`,
			} {
				var n int
				if err := pool.QueryRow(ctx, q, []byte(p)).Scan(&n); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
				if n != 0 {
					t.Fatalf("a secret (%.12s…) is stored: %s", p, q)
				}
			}
		}
	}
}

// wickrEventCount counts the stored events of a type.
func wickrEventCount(t *testing.T, b *running, eventType string) int {
	t.Helper()
	var n int
	if err := pgxQueryRow(t, b, `SELECT count(*) FROM eventlog.events WHERE event_type = '`+eventType+`'`, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestWickrPasswordResetOutlivesNoOldPassword: sign-ins with the old password sent while the owner
// resets (an intruder who knows it, signing in again and again) get no session that outlives the
// reset, even those whose password check began before the reset and whose sign-in was decided after
// (those count as failed sign-ins: they may lock the account, which a new reset unlocks).
func TestWickrPasswordResetOutlivesNoOldPassword(t *testing.T) {
	t.Parallel()
	outbox := t.TempDir()
	b := startBelfryWith(t, func(m *Main) { m.cfg.MailDir = outbox })
	const alice, oldPW, newPW = "alice@corp.example", "Correct-Horse-42", "Battery-Staple-77"
	wickrClientNetwork(t, b, alice)
	wickrRegister(t, b, outbox, alice, "laptop")
	if st, out := b.wickrClient(t, "POST", "/client/v1/wickr/password-resets", "", `{"Email":"`+alice+`"}`); st != 202 {
		t.Fatalf("request: %d %v", st, out)
	}
	tok := wickrResetTokens(t, outbox, alice, 1)[0]

	post := func(path, body string) (int, map[string]any, error) {
		resp, err := http.Post(b.url+path, "application/json", strings.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out, nil
	}
	var mu sync.Mutex
	var intruder []string // the sessions the old password opened
	var wg sync.WaitGroup
	done := make(chan struct{})
	go func() {
		defer close(done)
		if st, out, err := post("/client/v1/wickr/password-resets/confirm", `{"Token":"`+tok+`","Password":"`+newPW+`"}`); err != nil || st != 200 {
			t.Errorf("reset: %d %v %v", st, out, err)
		}
	}()
	for running := true; running; {
		select {
		case <-done:
			running = false
		case <-time.After(15 * time.Millisecond):
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, out, err := post("/client/v1/wickr/sessions", `{"Email":"`+alice+`","Password":"`+oldPW+`","AppId":"stolen","DeviceType":"Linux"}`)
				if err == nil && st == 201 {
					mu.Lock()
					intruder = append(intruder, str(out["SessionToken"]))
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	for i, s := range intruder {
		if st := wickrMe(t, b, s); st != 401 {
			t.Fatalf("session %d of %d opened with the old password is still open after the reset: %d", i+1, len(intruder), st)
		}
	}
}
