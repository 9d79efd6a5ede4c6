package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/aws/aws-sdk-go-v2/service/chime/types"
)

// clientCSV GETs a CSV export of the client API and returns its status, Content-Disposition and rows.
func (r *running) clientCSV(t *testing.T, path, bearer string) (int, string, [][]string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, r.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, "", nil
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Fatalf("Content-Type %q", ct)
	}
	rows, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v\n%s", err, raw)
	}
	return resp.StatusCode, resp.Header.Get("Content-Disposition"), rows
}

// TestPersonalContactsAndTheirExport: guide §1.2.3 — a user adds Chime users to its contacts by
// e-mail or id (at most 100), lists and removes them, and exports name, e-mail and Business Calling
// number as CSV; a deleted contact drops out; sessions are required and hostile input is refused.
func TestPersonalContactsAndTheirExport(t *testing.T) {
	t.Parallel()
	outbox := t.TempDir()
	b := startBelfryWith(t, func(m *Main) { m.cfg.MailDir = outbox })
	ctx := context.Background()
	c := b.client
	a, _ := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Contact Co")})
	acct := aws.ToString(a.Account.AccountId)
	alice, aliceTok := b.registeredUser(t, outbox, acct, "alice@contacts.example")
	bob, bobTok := b.registeredUser(t, outbox, acct, "bob@contacts.example")
	carol, _ := b.registeredUser(t, outbox, acct, "carol@contacts.example")

	found, _ := c.SearchAvailablePhoneNumbers(ctx, &chime.SearchAvailablePhoneNumbersInput{AreaCode: aws.String("206"), MaxResults: aws.Int32(1)})
	order, _ := c.CreatePhoneNumberOrder(ctx, &chime.CreatePhoneNumberOrderInput{ProductType: types.PhoneNumberProductTypeBusinessCalling, E164PhoneNumbers: found.E164PhoneNumbers})
	waitOrder(t, c, order.PhoneNumberOrder.PhoneNumberOrderId)
	bobNumber := found.E164PhoneNumbers[0]
	if _, err := c.AssociatePhoneNumberWithUser(ctx, &chime.AssociatePhoneNumberWithUserInput{AccountId: &acct, UserId: &bob, E164PhoneNumber: &bobNumber}); err != nil {
		t.Fatal(err)
	}

	if st, out := b.clientCall(t, "POST", "/client/v1/contacts", aliceTok, map[string]string{"Email": "Bob@Contacts.example"}); st != 200 || len(out["Contacts"].([]any)) != 1 {
		t.Fatalf("add by e-mail: %d %v", st, out)
	}
	st, out := b.clientCall(t, "POST", "/client/v1/contacts", aliceTok, map[string]string{"UserId": carol})
	if st != 200 || len(out["Contacts"].([]any)) != 2 {
		t.Fatalf("add by id: %d %v", st, out)
	}
	if st, out := b.clientCall(t, "POST", "/client/v1/contacts", aliceTok, map[string]string{"UserId": carol}); st != 200 || len(out["Contacts"].([]any)) != 2 {
		t.Fatalf("adding a contact twice lists it once: %d %v", st, out)
	}
	first := out["Contacts"].([]any)[0].(map[string]any)
	if first["UserId"] != bob || first["Email"] != "bob@contacts.example" || first["PhoneNumber"] != bobNumber || first["Name"] == "" {
		t.Fatalf("the contact as listed: %v", first)
	}

	st, disp, rows := b.clientCSV(t, "/client/v1/contacts.csv", aliceTok)
	if st != 200 || !strings.HasPrefix(disp, "attachment; filename=contacts.csv") || len(rows) != 3 {
		t.Fatalf("export: %d %q %v", st, disp, rows)
	}
	if strings.Join(rows[0], ",") != "Name,Email,Phone Number" || rows[1][1] != "bob@contacts.example" || rows[1][2] != bobNumber ||
		rows[2][1] != "carol@contacts.example" || rows[2][2] != "" {
		t.Fatalf("export rows: %v", rows)
	}
	// Bob's list is his own.
	if _, out := b.clientCall(t, "GET", "/client/v1/contacts", bobTok, nil); len(out["Contacts"].([]any)) != 0 {
		t.Fatalf("bob's contacts: %v", out)
	}

	// A removed user (suspending a Team account's user removes it) drops out of the list and
	// the export; it can still be taken off the list, once.
	if _, err := c.BatchSuspendUser(ctx, &chime.BatchSuspendUserInput{AccountId: &acct, UserIdList: []string{carol}}); err != nil {
		t.Fatal(err)
	}
	if _, out := b.clientCall(t, "GET", "/client/v1/contacts", aliceTok, nil); len(out["Contacts"].([]any)) != 1 {
		t.Fatalf("a removed contact is still listed: %v", out)
	}
	if _, _, rows := b.clientCSV(t, "/client/v1/contacts.csv", aliceTok); len(rows) != 2 {
		t.Fatalf("a removed contact is still exported: %v", rows)
	}
	if st, _ := b.clientCall(t, "DELETE", "/client/v1/contacts/"+carol, aliceTok, nil); st != 204 {
		t.Fatalf("remove: %d", st)
	}
	if st, out := b.clientCall(t, "DELETE", "/client/v1/contacts/"+carol, aliceTok, nil); st != 404 {
		t.Fatalf("removing an absent contact: %d %v", st, out)
	}

	// Errors: unknown user, self, neither or both fields, oversized e-mail, no session, NUL.
	for _, tc := range []struct {
		body any
		want int
	}{
		{map[string]string{"Email": "nobody@contacts.example"}, 404},
		{map[string]string{"UserId": alice}, 400},
		{map[string]string{}, 400},
		{map[string]string{"UserId": bob, "Email": "bob@contacts.example"}, 400},
		{map[string]string{"Email": strings.Repeat("x", 300) + "@contacts.example"}, 400},
		{map[string]string{"Email": "bob\x00@contacts.example"}, 400},
	} {
		if st, out := b.clientCall(t, "POST", "/client/v1/contacts", aliceTok, tc.body); st != tc.want {
			t.Fatalf("add %v: %d %v (want %d)", tc.body, st, out, tc.want)
		}
	}
	if st, _ := b.clientCall(t, "GET", "/client/v1/contacts", "", nil); st != 401 {
		t.Fatalf("no session: %d", st)
	}
	if st, _, _ := b.clientCSV(t, "/client/v1/contacts.csv", "forged"); st != 401 {
		t.Fatalf("export with a forged session: %d", st)
	}
}

// TestContactListLimit: the 101st contact is refused with the guide's limit named.
func TestContactListLimit(t *testing.T) {
	t.Parallel()
	outbox := t.TempDir()
	b := startBelfryWith(t, func(m *Main) { m.cfg.MailDir = outbox })
	ctx := context.Background()
	c := b.client
	a, _ := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Popular")})
	acct := aws.ToString(a.Account.AccountId)
	_, tok := b.registeredUser(t, outbox, acct, "me@popular.example")
	for i := range 101 {
		u, err := c.CreateUser(ctx, &chime.CreateUserInput{AccountId: &acct, Email: aws.String(fmt.Sprintf("friend%03d@popular.example", i))})
		if err != nil {
			t.Fatal(err)
		}
		st, out := b.clientCall(t, "POST", "/client/v1/contacts", tok, map[string]string{"UserId": aws.ToString(u.User.UserId)})
		if i < 100 && st != 200 {
			t.Fatalf("contact %d: %d %v", i+1, st, out)
		}
		if i == 100 && (st != 400 && st != 429 || !strings.Contains(fmt.Sprint(out["Message"]), "100")) {
			t.Fatalf("the 101st contact: %d %v", st, out)
		}
	}
}

// TestRoomMemberListExport: guide §1.2.2 — a room administrator exports the members' name, e-mail
// address and role as CSV named after the room; a member who is not an administrator, and a user who
// is not a member, cannot.
func TestRoomMemberListExport(t *testing.T) {
	t.Parallel()
	outbox := t.TempDir()
	dnsSrv := startDNS(t)
	b := startBelfryWith(t, func(m *Main) { m.cfg.MailDir = outbox; m.cfg.DNSResolver = dnsSrv.addr })
	ctx := context.Background()
	c := b.client
	a, _ := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Roomy")})
	acct := aws.ToString(a.Account.AccountId)
	alice, aliceTok := b.registeredUser(t, outbox, acct, "alice@roomy.example")
	bob, bobTok := b.registeredUser(t, outbox, acct, "bob@roomy.example")
	_, carolTok := b.registeredUser(t, outbox, acct, "carol@roomy.example")
	b.claimDomain(t, dnsSrv, acct, "roomy.example")
	r, err := c.CreateRoom(ctx, &chime.CreateRoomInput{AccountId: &acct, Name: aws.String("Équipe Ops")})
	if err != nil {
		t.Fatal(err)
	}
	room := aws.ToString(r.Room.RoomId)
	for id, role := range map[string]types.RoomMembershipRole{alice: types.RoomMembershipRoleAdministrator, bob: types.RoomMembershipRoleMember} {
		if _, err := c.CreateRoomMembership(ctx, &chime.CreateRoomMembershipInput{AccountId: &acct, RoomId: &room, MemberId: aws.String(id), Role: role}); err != nil {
			t.Fatal(err)
		}
	}
	path := "/client/v1/rooms/" + room + "/members.csv"
	st, disp, rows := b.clientCSV(t, path, aliceTok)
	if st != 200 || !strings.Contains(disp, "filename*=UTF-8''%C3%89quipe%20Ops%20members.csv") || !strings.Contains(disp, `filename="_quipe Ops members.csv"`) {
		t.Fatalf("export: %d %q", st, disp)
	}
	got := map[string]string{}
	for _, row := range rows[1:] {
		got[row[1]] = row[2]
	}
	if strings.Join(rows[0], ",") != "Name,Email,Role" || len(rows) != 3 || got["alice@roomy.example"] != "Administrator" || got["bob@roomy.example"] != "Member" {
		t.Fatalf("rows: %v", rows)
	}
	if st, _, _ := b.clientCSV(t, path, bobTok); st != 403 {
		t.Fatalf("a member who is not an administrator: %d", st)
	}
	if st, _, _ := b.clientCSV(t, path, carolTok); st != 403 {
		t.Fatalf("a user who is not a member: %d", st)
	}
	if st, _, _ := b.clientCSV(t, "/client/v1/rooms/no-such-room/members.csv", aliceTok); st != 404 {
		t.Fatalf("an unknown room: %d", st)
	}
}
