package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/aws/aws-sdk-go-v2/service/chime/types"
)

func fetch(t *testing.T, u string) (int, []byte, http.Header) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// readyExport polls RetrieveDataExport until the newest export is Ready and returns it.
func (r *running) readyExport(t *testing.T, acct string) map[string]any {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		st, typ, out := r.consoleJSON(t, "GET", "/console/accounts/"+acct+"/data-exports", "")
		if st != 200 {
			t.Fatalf("RetrieveDataExport: %d %s %v", st, typ, out)
		}
		if list := out["DataExports"].([]any); len(list) > 0 && list[0].(map[string]any)["Status"] == "Ready" {
			return list[0].(map[string]any)
		}
	}
	t.Fatal("the export never became Ready")
	return nil
}

// TestAttachmentExport follows guide §5.6 as an administrator would: request the export, get the
// file of pre-signed URLs, download every attachment and compare the bytes; an altered or expired
// URL is refused; a redacted or purged attachment's URL answers 404; what retention hides is left
// out; Team accounts and a second request within 7 days are refused.
func TestAttachmentExport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dataDir, outbox := t.TempDir(), t.TempDir()
	dnsSrv := startDNS(t)
	clk := &clock{t: time.Now().UTC()}
	cfg := Config{PasswordCost: testPasswordCost, DataDir: dataDir, EventLogAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Region: "us-east-1", MailDir: outbox,
		DNSResolver: dnsSrv.addr, Retention: RetentionConfig{PurgeEvery: "off"}}
	b := startOn(t, cfg, clk, nil)
	defer func() { _ = b.m.Close() }()
	c := b.client
	team, _ := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Small Team")})
	teamID := aws.ToString(team.Account.AccountId)
	if st, typ, out := b.consoleJSON(t, "POST", "/console/accounts/"+teamID+"/data-exports", ""); st != 400 || typ != "BadRequestException" ||
		!strings.Contains(out["Message"].(string), "Enterprise") {
		t.Fatalf("a Team account's request: %d %s %v", st, typ, out)
	}
	a, _ := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Export Corp")})
	acct := aws.ToString(a.Account.AccountId)
	alice, _ := b.registeredUser(t, outbox, acct, "alice@export.example")
	bob, _ := b.registeredUser(t, outbox, acct, "bob@export.example")
	carol, _ := b.registeredUser(t, outbox, teamID, "carol@team.example")
	b.claimDomain(t, dnsSrv, acct, "export.example")
	// Room and conversation retention of 1 day, set long enough ago that the 30-day grace is over.
	if _, err := c.PutRetentionSettings(ctx, &chime.PutRetentionSettingsInput{AccountId: &acct,
		RetentionSettings: &types.RetentionSettings{RoomRetentionSettings: &types.RoomRetentionSettings{RetentionDays: aws.Int32(1)},
			ConversationRetentionSettings: &types.ConversationRetentionSettings{RetentionDays: aws.Int32(1)}}}); err != nil {
		t.Fatal(err)
	}
	clk.Add(31 * 24 * time.Hour)
	rm, _ := c.CreateRoom(ctx, &chime.CreateRoomInput{AccountId: &acct, Name: aws.String("files")})
	roomID := aws.ToString(rm.Room.RoomId)
	if _, err := c.CreateRoomMembership(ctx, &chime.CreateRoomMembershipInput{AccountId: &acct, RoomId: &roomID, MemberId: &alice}); err != nil {
		t.Fatal(err)
	}
	aliceTok := b.signIn(t, "alice@export.example")
	b.signIn(t, "bob@export.example")
	b.signIn(t, "carol@team.example")
	_, conv := b.clientCall(t, "POST", "/client/v1/conversations", aliceTok, map[string]any{"MemberIds": []string{bob, carol}, "Name": "mixed"})
	convID := conv["Conversation"].(map[string]any)["ConversationId"].(string)
	byName := map[string][]byte{}
	msgOf := map[string]string{}
	upload := func(tok, where, name string, n int) {
		body := make([]byte, n)
		_, _ = rand.Read(body)
		st, out := b.attach(t, tok, where, name, "application/octet-stream", body)
		if st != 201 {
			t.Fatalf("upload %s: %d %v", name, st, out)
		}
		byName[name], msgOf[name] = body, out["Attachment"].(map[string]any)["MessageId"].(string)
	}
	// A conversation of Export Corp's own users takes its 1 day: this one is hidden by the export.
	_, own := b.clientCall(t, "POST", "/client/v1/conversations", aliceTok, map[string]any{"MemberIds": []string{bob}})
	upload(aliceTok, "conversations/"+own["Conversation"].(map[string]any)["ConversationId"].(string), "internal-old.txt", 10)
	clk.Add(36 * time.Hour)
	aliceTok = b.signIn(t, "alice@export.example")
	bobTok, carolTok := b.signIn(t, "bob@export.example"), b.signIn(t, "carol@team.example")
	upload(aliceTok, "conversations/"+convID, "alice-plan.pdf", 300_000)
	upload(bobTok, "conversations/"+convID, "bob notes.txt", 1234)
	upload(aliceTok, "rooms/"+roomID, "room-minutes.txt", 4000)
	upload(carolTok, "conversations/"+convID, "carol.bin", 99) // another account's user: not Export Corp's

	st, typ, out := b.consoleJSON(t, "POST", "/console/accounts/"+acct+"/data-exports", "{}")
	if st != 202 || out["DataExport"].(map[string]any)["Status"] != "Running" {
		t.Fatalf("StartDataExport: %d %s %v", st, typ, out)
	}
	resp := b.signedRaw(t, "POST", "/console/accounts/"+acct+"/data-exports", "{}", "chime")
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("X-Amzn-ErrorType") != "ThrottledClientException" || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("a second request within 7 days: %d %v", resp.StatusCode, resp.Header)
	}
	e := b.readyExport(t, acct)
	if e["AttachmentCount"].(float64) != 3 {
		t.Fatalf("export: %v", e)
	}
	st, listing, _ := fetch(t, e["ListingUrl"].(string))
	if st != 200 {
		t.Fatalf("the listing: %d %s", st, listing)
	}
	var urls []string
	for sc := bufio.NewScanner(bytes.NewReader(listing)); sc.Scan(); {
		urls = append(urls, sc.Text())
	}
	if len(urls) != 3 {
		t.Fatalf("%d URLs in the listing:\n%s", len(urls), listing)
	}
	urlOf := map[string]string{}
	for _, u := range urls {
		st, got, h := fetch(t, u)
		_, name, _ := strings.Cut(h.Get("Content-Disposition"), "UTF-8''")
		name, _ = url.PathUnescape(name)
		if st != 200 || !bytes.Equal(got, byName[name]) || name == "carol.bin" || name == "internal-old.txt" {
			t.Fatalf("download %s: %d, %q, %d bytes", u, st, name, len(got))
		}
		urlOf[name] = u
	}
	// Altered URLs: another attachment's id, another expiry, a changed signature, no signature.
	good, _ := url.Parse(urlOf["bob notes.txt"])
	other, _ := url.Parse(urlOf["alice-plan.pdf"])
	q := good.Query()
	for _, bad := range []string{
		strings.Replace(good.String(), good.Path, other.Path, 1),
		strings.Replace(good.String(), "Expires="+q.Get("Expires"), "Expires=9999999999", 1),
		strings.Replace(good.String(), "Signature="+q.Get("Signature"), "Signature=A"+q.Get("Signature")[1:], 1),
		strings.Replace(good.String(), "&Signature="+q.Get("Signature"), "", 1),
	} {
		if st, body, _ := fetch(t, bad); st != 403 {
			t.Fatalf("altered URL %s: %d %s", bad, st, body)
		}
	}
	// Redacted: gone at once. Purged (the room's 1-day retention): gone after the purge.
	if _, err := c.RedactConversationMessage(ctx, &chime.RedactConversationMessageInput{AccountId: &acct, ConversationId: &convID,
		MessageId: aws.String(msgOf["bob notes.txt"])}); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := fetch(t, urlOf["bob notes.txt"]); st != 404 {
		t.Fatalf("a redacted attachment's URL: %d", st)
	}
	clk.Add(2 * 24 * time.Hour)
	if rep, err := b.m.purger.Run(ctx, false, nil); err != nil || rep.AttachmentsDeleted != 2 {
		t.Fatalf("purge: %+v %v", rep, err)
	}
	if st, _, _ := fetch(t, urlOf["room-minutes.txt"]); st != 404 {
		t.Fatalf("a purged attachment's URL: %d", st)
	}
	if st, got, _ := fetch(t, urlOf["alice-plan.pdf"]); st != 200 || !bytes.Equal(got, byName["alice-plan.pdf"]) {
		t.Fatalf("a live attachment after the purge: %d", st)
	}
	// After 6 days every URL of the export has expired, the listing's too.
	clk.Add(4*24*time.Hour + time.Second)
	for _, u := range []string{urlOf["alice-plan.pdf"], e["ListingUrl"].(string)} {
		if st, body, _ := fetch(t, u); st != 403 || !strings.Contains(string(body), "expired") {
			t.Fatalf("an expired URL: %d %s", st, body)
		}
	}
	// 7 days after the first request, a new one (one user's) is accepted.
	clk.Add(24 * time.Hour)
	if st, typ, out := b.consoleJSON(t, "POST", "/console/accounts/"+acct+"/data-exports", `{"UserId":"`+alice+`"}`); st != 202 {
		t.Fatalf("a request after 7 days: %d %s %v", st, typ, out)
	}
	if e := b.readyExport(t, acct); e["AttachmentCount"].(float64) != 1 || e["UserId"] != alice {
		t.Fatalf("alice's export: %v", e)
	}
}
