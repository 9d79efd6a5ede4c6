package main

import (
	"context"
	"testing"

	chimeusecase "github.com/belfry/belfry/api/chime/usecase"
	wickrclientapi "github.com/belfry/belfry/api/wickr/client"
)

// wickrSessionRows answers the token hashes of client.wickr_sessions.
func wickrSessionRows(t *testing.T, b *running) map[string]bool {
	t.Helper()
	ctx := context.Background()
	pool := dbPool(t, b)
	rows, err := pool.Query(ctx, `SELECT token_hash FROM client.wickr_sessions`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			t.Fatal(err)
		}
		out[h] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// wickrRegister registers the invited email from a device and answers its session token.
func wickrRegister(t *testing.T, b *running, outbox, email, app string) string {
	t.Helper()
	tok := wickrInviteTokens(t, outbox, email, 1)[0]
	st, out := b.wickrClient(t, "POST", "/client/v1/wickr/registrations", "", `{"Token":"`+tok+`","Password":"Correct-Horse-42","AppId":"`+app+`","DeviceType":"MacOSX"}`)
	if st != 201 {
		t.Fatalf("register %s: %d %v", email, st, out)
	}
	return str(out["SessionToken"])
}

// wickrSignIn signs email in from a device and answers the session token.
func wickrSignIn(t *testing.T, b *running, email, app string) string {
	t.Helper()
	st, out := b.wickrClient(t, "POST", "/client/v1/wickr/sessions", "", `{"Email":"`+email+`","Password":"Correct-Horse-42","AppId":"`+app+`","DeviceType":"iOS"}`)
	if st != 201 {
		t.Fatalf("sign in %s from %s: %d %v", email, app, st, out)
	}
	return str(out["SessionToken"])
}

func wickrMe(t *testing.T, b *running, token string) int {
	t.Helper()
	st, _ := b.wickrClient(t, "GET", "/client/v1/wickr/me", token, "")
	return st
}

// TestWickrClientSessionsAreBoundedPerDevice: signing in again and again from one device keeps its
// newest MaxSessionsPerDevice sessions; the oldest end, the user's other device keeps its own.
func TestWickrClientSessionsAreBoundedPerDevice(t *testing.T) {
	t.Parallel()
	outbox := t.TempDir()
	b := startBelfryWith(t, func(m *Main) { m.cfg.MailDir = outbox })
	const alice = "alice@corp.example"
	wickrClientNetwork(t, b, alice)
	laptop := wickrRegister(t, b, outbox, alice, "laptop")
	var phone []string
	for range wickrclientapi.MaxSessionsPerDevice + 2 {
		phone = append(phone, wickrSignIn(t, b, alice, "phone"))
	}
	rows := wickrSessionRows(t, b)
	if len(rows) != wickrclientapi.MaxSessionsPerDevice+1 {
		t.Fatalf("%d session rows after %d sign-ins from the phone and one from the laptop, want %d", len(rows), len(phone),
			wickrclientapi.MaxSessionsPerDevice+1)
	}
	for i, tok := range phone {
		if kept, want := rows[chimeusecase.HashToken(tok)], i >= 2; kept != want {
			t.Fatalf("the phone's sign-in %d kept: %v, want %v", i, kept, want)
		}
	}
	if wickrMe(t, b, phone[0]) != 401 || wickrMe(t, b, phone[len(phone)-1]) != 200 || wickrMe(t, b, laptop) != 200 {
		t.Fatal("the phone's oldest session must be over, its newest and the laptop's open")
	}
}

// TestWickrSessionSweepDeletesEndedSessions: the sessions that ended without their token being
// presented again (a device reset, a user deleted, a network deleted) are deleted by the sweep; the
// open ones stay and still authenticate.
func TestWickrSessionSweepDeletesEndedSessions(t *testing.T) {
	t.Parallel()
	outbox := t.TempDir()
	b := startBelfryWith(t, func(m *Main) { m.cfg.MailDir = outbox })
	const alice, bob, carol, dave = "alice@corp.example", "bob@corp.example", "carol@corp.example", "dave@gone.example"
	nid, _, ids := wickrClientNetwork(t, b, alice, bob, carol)
	gone, _, _ := wickrClientNetwork(t, b, dave)
	laptop, pc := wickrRegister(t, b, outbox, alice, "laptop"), wickrRegister(t, b, outbox, bob, "pc")
	phone := wickrSignIn(t, b, alice, "phone")
	tablet, davePC := wickrRegister(t, b, outbox, carol, "tablet"), wickrRegister(t, b, outbox, dave, "pc")
	if st, out := b.wickrAdmin(t, "PATCH", "/networks/"+nid+"/users/"+ids[alice]+"/devices", `{"appIds":["phone"]}`); st != 200 {
		t.Fatalf("BatchResetDevicesForUser: %d %v", st, out)
	}
	if st, out := b.wickrAdmin(t, "POST", "/networks/"+nid+"/users/batch-delete", `{"userIds":["`+ids[carol]+`"]}`); st != 200 {
		t.Fatalf("BatchDeleteUser: %d %v", st, out)
	}
	if st, out := b.wickrAdmin(t, "DELETE", "/networks/"+gone, ""); st != 200 {
		t.Fatalf("DeleteNetwork: %d %v", st, out)
	}
	if n := len(wickrSessionRows(t, b)); n != 5 {
		t.Fatalf("%d session rows before the sweep, want 5", n)
	}

	checked, removed, err := b.m.wickr.client.SweepSessions(context.Background())
	rows := wickrSessionRows(t, b)
	for name, tok := range map[string]string{"the reset phone's": phone, "the deleted user's": tablet, "the deleted network's": davePC} {
		if rows[chimeusecase.HashToken(tok)] {
			t.Errorf("%s session is still stored after the sweep", name)
		}
	}
	if !rows[chimeusecase.HashToken(laptop)] || !rows[chimeusecase.HashToken(pc)] || len(rows) != 2 {
		t.Fatalf("the open sessions must stay, and only they: %d rows", len(rows))
	}
	if err != nil || checked != 5 || removed != 3 {
		t.Fatalf("sweep: checked %d, removed %d, %v; want 5, 3", checked, removed, err)
	}
	if wickrMe(t, b, laptop) != 200 || wickrMe(t, b, pc) != 200 {
		t.Fatal("the sessions the sweep kept must still authenticate")
	}
	if checked, removed, err := b.m.wickr.client.SweepSessions(context.Background()); err != nil || checked != 2 || removed != 0 {
		t.Fatalf("a second sweep: checked %d, removed %d, %v; want 2, 0", checked, removed, err)
	}
	sweepWickrSessions(b.m, context.Background()) // the server's hourly run
	if rows := wickrSessionRows(t, b); len(rows) != 2 || wickrMe(t, b, laptop) != 200 {
		t.Fatalf("the server's sweep left %d rows, want the 2 open sessions", len(rows))
	}
}
