package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/aws/aws-sdk-go-v2/service/chime/types"
)

var tokenLine = regexp.MustCompile(`(?m)^  ([A-Za-z0-9_-]{40,})\r?$`)

// registeredUser invites email into a Team account, registers it from the mailed token and signs it
// in, returning the user id and a session token.
func (r *running) registeredUser(t *testing.T, outbox, acct, email string) (userID, session string) {
	t.Helper()
	ctx := context.Background()
	if _, err := r.client.InviteUsers(ctx, &chime.InviteUsersInput{AccountId: &acct, UserEmailList: []string{email}}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(outbox, "*.eml"))
	var token string
	for _, f := range files {
		msg, _ := os.ReadFile(f)
		if bytes.Contains(msg, []byte("To: "+email)) {
			token = string(tokenLine.FindSubmatch(msg)[1])
		}
	}
	if token == "" {
		t.Fatalf("no invitation mail for %s", email)
	}
	st, reg := r.clientCall(t, "POST", "/client/v1/registrations", "", map[string]string{"Token": token, "Password": "correct horse"})
	if st != 201 {
		t.Fatalf("register %s: %d %v", email, st, reg)
	}
	st, s := r.clientCall(t, "POST", "/client/v1/sessions", "", map[string]string{"Email": email, "Password": "correct horse"})
	if st != 201 {
		t.Fatalf("sign in %s: %d %v", email, st, s)
	}
	return s["UserId"].(string), s["SessionToken"].(string)
}

type wireMeetingResp struct {
	MeetingId, Title, OrganizerId, StartsAt, MeetingPIN, Status, DisabledReason string
	InviteRecipients                                                            []string
}

func (r *running) adminMeetings(t *testing.T, acct string) map[string]wireMeetingResp {
	t.Helper()
	resp := r.signedRaw(t, "GET", "/console/accounts/"+acct+"/meetings", "", "chime")
	raw, _ := io.ReadAll(resp.Body)
	var out struct{ Meetings []wireMeetingResp }
	if resp.StatusCode != 200 || json.Unmarshal(raw, &out) != nil {
		t.Fatalf("ListMeetings: %d %s", resp.StatusCode, raw)
	}
	m := map[string]wireMeetingResp{}
	for _, x := range out.Meetings {
		m[x.MeetingId] = x
	}
	return m
}

func TestScheduledMeetingsAndTheDomainRemovalCascade(t *testing.T) {
	t.Parallel()
	outbox := t.TempDir()
	dnsSrv := startDNS(t)
	b := startBelfryWith(t, func(m *Main) {
		m.cfg.MailDir = outbox
		m.cfg.DNSResolver = dnsSrv.addr
		m.SweepEvery = 50 * time.Millisecond
	})
	ctx := context.Background()
	c := b.client
	a, _ := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Meeting Corp")})
	acct := aws.ToString(a.Account.AccountId)
	alice, aliceTok := b.registeredUser(t, outbox, acct, "alice@corp.example")
	bob, bobTok := b.registeredUser(t, outbox, acct, "bob@elsewhere.example")

	when := time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)
	if st, _ := b.clientCall(t, "POST", "/client/v1/meetings", "", map[string]string{"Title": "x", "StartsAt": when}); st != 401 {
		t.Fatalf("scheduling without a session: %d", st)
	}
	if st, out := b.clientCall(t, "POST", "/client/v1/meetings", aliceTok, map[string]string{"Title": "", "StartsAt": when}); st != 400 || out["Code"] != "BadRequest" {
		t.Fatalf("empty title: %d %v", st, out)
	}
	if st, _ := b.clientCall(t, "POST", "/client/v1/meetings", aliceTok, map[string]string{"Title": "Standup", "StartsAt": "tomorrow"}); st != 400 {
		t.Fatalf("bad StartsAt: %d", st)
	}
	st, out := b.clientCall(t, "POST", "/client/v1/meetings", aliceTok, map[string]string{"Title": "Standup", "StartsAt": when})
	if st != 201 {
		t.Fatalf("schedule: %d %v", st, out)
	}
	m := out["Meeting"].(map[string]any)
	aliceMeeting := m["MeetingId"].(string)
	u, _ := c.GetUser(ctx, &chime.GetUserInput{AccountId: &acct, UserId: &alice})
	pin := aws.ToString(u.User.PersonalPIN)
	if m["Status"] != "Scheduled" || m["MeetingPIN"] != pin || m["OrganizerId"] != alice {
		t.Fatalf("meeting: %v (alice's PIN %s)", m, pin)
	}
	if rc := m["InviteRecipients"].([]any); len(rc) != 2 || rc[0] != "meet@chime.aws" || rc[1] != "pin+"+pin+"@chime.aws" {
		t.Fatalf("invite recipients: %v", rc)
	}

	// A Basic user has no host role; back on Pro, bob schedules his own meeting.
	if _, err := c.UpdateUser(ctx, &chime.UpdateUserInput{AccountId: &acct, UserId: &bob, LicenseType: types.LicenseBasic}); err != nil {
		t.Fatal(err)
	}
	if st, out := b.clientCall(t, "POST", "/client/v1/meetings", bobTok, map[string]string{"Title": "Review", "StartsAt": when}); st != 403 {
		t.Fatalf("a Basic user schedules: %d %v", st, out)
	}
	if _, err := c.UpdateUser(ctx, &chime.UpdateUserInput{AccountId: &acct, UserId: &bob, LicenseType: types.LicensePro}); err != nil {
		t.Fatal(err)
	}
	st, out = b.clientCall(t, "POST", "/client/v1/meetings", bobTok, map[string]string{"Title": "Review", "StartsAt": when})
	if st != 201 {
		t.Fatalf("bob schedules: %d %v", st, out)
	}
	bobMeeting := out["Meeting"].(map[string]any)["MeetingId"].(string)
	if st, _ := b.clientCall(t, "DELETE", "/client/v1/meetings/"+aliceMeeting, bobTok, nil); st != 403 {
		t.Fatalf("bob cancels alice's meeting: %d", st)
	}
	if st, mine := b.clientCall(t, "GET", "/client/v1/meetings", aliceTok, nil); st != 200 || len(mine["Meetings"].([]any)) != 1 {
		t.Fatalf("alice's meetings: %d %v", st, mine)
	}
	if st, one := b.clientCall(t, "GET", "/client/v1/meetings/"+aliceMeeting, bobTok, nil); st != 200 || one["Meeting"].(map[string]any)["Title"] != "Standup" {
		t.Fatalf("bob reads alice's meeting: %d %v", st, one)
	}
	resp := b.signedRaw(t, "GET", "/console/accounts/"+acct+"/meetings?organizer-id="+bob, "", "chime")
	var byBob struct{ Meetings []wireMeetingResp }
	_ = json.NewDecoder(resp.Body).Decode(&byBob)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(byBob.Meetings) != 1 || byBob.Meetings[0].MeetingId != bobMeeting {
		t.Fatalf("ListMeetings organizer-id filter: %d %+v", resp.StatusCode, byBob)
	}

	// Claim and verify alice's domain (the account becomes Enterprise), then remove it.
	b.claimDomain(t, dnsSrv, acct, "corp.example")
	if st, typ, _ := b.console(t, "DELETE", "/console/accounts/"+acct+"/domains/corp.example", ``); st != 204 {
		t.Fatalf("remove: %d %s", st, typ)
	}

	// Guide §1.1.4: meetings scheduled by the domain's users no longer start; others are untouched.
	all := b.adminMeetings(t, acct)
	if got := all[aliceMeeting]; got.Status != "Disabled" || got.DisabledReason != "DomainRemoved" {
		t.Fatalf("alice's meeting after her domain's removal: %+v", got)
	}
	if got := all[bobMeeting]; got.Status != "Scheduled" {
		t.Fatalf("bob's meeting: %+v", got)
	}
	if st, out := b.clientCall(t, "POST", "/client/v1/meetings/"+aliceMeeting+"/start", bobTok, nil); st != 409 || out["Code"] != "Conflict" {
		t.Fatalf("starting a disabled meeting: %d %v", st, out)
	}
	if st, _ := b.clientCall(t, "GET", "/client/v1/meetings", aliceTok, nil); st != 401 {
		t.Fatalf("alice was signed out: %d", st)
	}
	if st, _ := b.clientCall(t, "POST", "/client/v1/meetings/"+bobMeeting+"/start", aliceTok, nil); st != 401 {
		t.Fatalf("alice starts bob's meeting: %d", st)
	}
	st, out = b.clientCall(t, "POST", "/client/v1/meetings/"+bobMeeting+"/start", bobTok, nil)
	if st != 200 || out["Meeting"].(map[string]any)["Status"] != "Started" {
		t.Fatalf("bob starts his meeting: %d %v", st, out)
	}
	if st, _ := b.clientCall(t, "GET", "/client/v1/meetings/no-such-meeting", bobTok, nil); st != 404 {
		t.Fatalf("unknown meeting: %d", st)
	}
	other, _ := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Other tenant account")})
	if resp := b.signedRaw(t, "GET", "/console/accounts/"+aws.ToString(other.Account.AccountId)+"/meetings", "", "chime"); resp.StatusCode != 200 {
		t.Fatalf("ListMeetings of an empty account: %d", resp.StatusCode)
	}
	if resp := b.signedRaw(t, "GET", "/console/accounts/does-not-exist/meetings", "", "chime"); resp.StatusCode != 404 {
		t.Fatalf("ListMeetings of an unknown account: %d", resp.StatusCode)
	}
	// The organiser cancels; a cancelled meeting never starts.
	_, extra := b.clientCall(t, "POST", "/client/v1/meetings", bobTok, map[string]string{"Title": "Dropped", "StartsAt": when})
	extraID := extra["Meeting"].(map[string]any)["MeetingId"].(string)
	if st, _ := b.clientCall(t, "DELETE", "/client/v1/meetings/"+extraID, bobTok, nil); st != 204 {
		t.Fatalf("bob cancels his meeting: %d", st)
	}
	if st, got := b.clientCall(t, "GET", "/client/v1/meetings/"+extraID, bobTok, nil); st != 200 || got["Meeting"].(map[string]any)["Status"] != "Cancelled" {
		t.Fatalf("a cancelled meeting: %d %v", st, got)
	}
	if st, _ := b.clientCall(t, "POST", "/client/v1/meetings/"+extraID+"/start", bobTok, nil); st != 409 {
		t.Fatalf("starting a cancelled meeting: %d", st)
	}
}
