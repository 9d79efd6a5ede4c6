package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/aws/aws-sdk-go-v2/service/chime/types"
)

// attach uploads body to a room or conversation ("rooms/<id>", "conversations/<id>").
func (r *running) attach(t *testing.T, token, where, name, ctype string, body []byte) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", r.url+"/client/v1/"+where+"/attachments?name="+url.QueryEscape(name), bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (r *running) download(t *testing.T, token, where, id string) (int, []byte, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", r.url+"/client/v1/"+where+"/attachments/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// TestAttachmentsRoundTripRedactAndPurge: a member uploads files to a conversation and a room and
// downloads them byte for byte; hostile uploads are refused; a redaction and the retention purge —
// rooms and conversations, each under its own retention (a conversation across accounts: 90 days) —
// make their attachments 404 and delete their files; after a restart the sentinel they carried is in
// no file under the data directory.
func TestAttachmentsRoundTripRedactAndPurge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dataDir, outbox := t.TempDir(), t.TempDir()
	dnsSrv := startDNS(t)
	clk := &clock{t: time.Now().UTC()}
	cfg := Config{DataDir: dataDir, EventLogAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Region: "us-east-1", MailDir: outbox, PasswordCost: testPasswordCost,
		DNSResolver: dnsSrv.addr, Retention: RetentionConfig{PurgeEvery: "off"}}
	b := startOn(t, cfg, clk, nil)
	defer func() { _ = b.m.Close() }()
	c := b.client
	a, err := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Files Corp")})
	if err != nil {
		t.Fatal(err)
	}
	acct := aws.ToString(a.Account.AccountId)
	alice, _ := b.registeredUser(t, outbox, acct, "alice@files.example")
	bob, _ := b.registeredUser(t, outbox, acct, "bob@files.example")
	_, _ = b.registeredUser(t, outbox, acct, "eve@files.example")
	b.claimDomain(t, dnsSrv, acct, "files.example")
	rm, err := c.CreateRoom(ctx, &chime.CreateRoomInput{AccountId: &acct, Name: aws.String("files")})
	if err != nil {
		t.Fatal(err)
	}
	roomID := aws.ToString(rm.Room.RoomId)
	if _, err := c.CreateRoomMembership(ctx, &chime.CreateRoomMembershipInput{AccountId: &acct, RoomId: &roomID, MemberId: &alice}); err != nil {
		t.Fatal(err)
	}
	token, eve := b.signIn(t, "alice@files.example"), b.signIn(t, "eve@files.example")
	st, conv := b.clientCall(t, "POST", "/client/v1/conversations", token, map[string]any{"MemberIds": []string{bob}})
	if st != 201 {
		t.Fatalf("conversation: %d %v", st, conv)
	}
	convWhere := "conversations/" + conv["Conversation"].(map[string]any)["ConversationId"].(string)
	sentinel := []byte("sentinel-" + randomHex(t))
	file := func(n int) []byte {
		body := make([]byte, n)
		_, _ = rand.Read(body)
		copy(body[n/3:], sentinel)
		return body
	}
	// Round trip, byte for byte, with the server's SHA-256.
	body := file(200_000)
	st, out := b.attach(t, token, convWhere, "report "+string(sentinel)+".pdf", "application/pdf", body)
	if st != 201 {
		t.Fatalf("upload: %d %v", st, out)
	}
	convAtt := out["Attachment"].(map[string]any)["AttachmentId"].(string)
	st, got, h := b.download(t, token, convWhere, convAtt)
	if st != 200 || !bytes.Equal(got, body) || h.Get("Content-Type") != "application/pdf" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("download: %d, %d bytes, %v", st, len(got), h)
	}
	// Hostile input: a non-member, a bad type, a bad name, an oversized body; nothing is stored.
	if st, _ := b.attach(t, eve, convWhere, "x.txt", "text/plain", []byte("x")); st != 404 {
		t.Fatalf("a non-member's upload: %d", st)
	}
	if st, _, _ := b.download(t, eve, convWhere, convAtt); st != 404 {
		t.Fatalf("a non-member's download: %d", st)
	}
	for _, bad := range []struct{ name, ctype string }{{"x.txt", "text/*"}, {"x.txt", "nonsense"}, {"a/b.txt", "text/plain"}, {"", "text/plain"}} {
		if st, out := b.attach(t, token, convWhere, bad.name, bad.ctype, []byte("x")); st != 400 {
			t.Fatalf("upload %+v: %d %v", bad, st, out)
		}
	}
	req, _ := http.NewRequest("POST", b.url+"/client/v1/"+convWhere+"/attachments?name=big.bin", io.LimitReader(zeros{}, 50<<20+2))
	req.ContentLength = 50<<20 + 2
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 413 {
		t.Fatalf("oversized upload: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	st, list := b.clientCall(t, "GET", "/client/v1/"+convWhere+"/attachments", token, nil)
	if st != 200 || len(list["Attachments"].([]any)) != 1 {
		t.Fatalf("list: %d %v", st, list)
	}
	// Room attachments: one redacted at once, one purged by retention.
	roomWhere := "rooms/" + roomID
	var roomAtts, roomMsgs []string
	for i := range 2 {
		st, out := b.attach(t, token, roomWhere, "minutes-"+string(rune('a'+i))+".txt", "text/plain; charset=utf-8", file(1000+i))
		if st != 201 {
			t.Fatalf("room upload: %d %v", st, out)
		}
		at := out["Attachment"].(map[string]any)
		roomAtts, roomMsgs = append(roomAtts, at["AttachmentId"].(string)), append(roomMsgs, at["MessageId"].(string))
	}
	if _, err := c.RedactRoomMessage(ctx, &chime.RedactRoomMessageInput{AccountId: &acct, RoomId: &roomID, MessageId: &roomMsgs[0]}); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := b.download(t, token, roomWhere, roomAtts[0]); st != 404 {
		t.Fatalf("a redacted message's attachment: %d", st)
	}
	if st, got, _ := b.download(t, token, roomWhere, roomAtts[1]); st != 200 || len(got) != 1001 {
		t.Fatalf("the other attachment: %d", st)
	}
	// A conversation that spans accounts (alice and carol, of a Team account) takes the automatic
	// 90 days (guide §4.7.1), whatever Files Corp sets.
	other, err := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Other Team")})
	if err != nil {
		t.Fatal(err)
	}
	carol, _ := b.registeredUser(t, outbox, aws.ToString(other.Account.AccountId), "carol@other.example")
	st, mixed := b.clientCall(t, "POST", "/client/v1/conversations", token, map[string]any{"MemberIds": []string{carol}})
	if st != 201 {
		t.Fatalf("mixed conversation: %d %v", st, mixed)
	}
	mixedWhere := "conversations/" + mixed["Conversation"].(map[string]any)["ConversationId"].(string)
	if st, out := b.attach(t, token, mixedWhere, "mixed.bin", "application/octet-stream", file(5000)); st != 201 {
		t.Fatalf("mixed upload: %d %v", st, out)
	}
	if st, out := b.clientCall(t, "POST", "/client/v1/"+convWhere+"/messages", token, map[string]any{"Content": "text " + string(sentinel)}); st != 201 {
		t.Fatalf("conversation message: %d %v", st, out)
	}
	// Within the 30-day grace conversation retention hides (the conversation's own: its members are
	// all Files Corp's), and turning it off restores (guide §4.8).
	put := func(rs *types.RetentionSettings) {
		if _, err := c.PutRetentionSettings(ctx, &chime.PutRetentionSettingsInput{AccountId: &acct, RetentionSettings: rs}); err != nil {
			t.Fatal(err)
		}
	}
	put(&types.RetentionSettings{ConversationRetentionSettings: &types.ConversationRetentionSettings{RetentionDays: aws.Int32(1)}})
	clk.Add(2 * 24 * time.Hour)
	token = b.signIn(t, "alice@files.example")
	if st, msgs := b.clientCall(t, "GET", "/client/v1/"+convWhere+"/messages", token, nil); st != 200 || len(msgs["Messages"].([]any)) != 0 {
		t.Fatalf("messages past the conversation's retention: %d %v", st, msgs)
	}
	if st, _, _ := b.download(t, token, convWhere, convAtt); st != 404 {
		t.Fatalf("an attachment past the conversation's retention: %d", st)
	}
	put(&types.RetentionSettings{})
	if st, msgs := b.clientCall(t, "GET", "/client/v1/"+convWhere+"/messages", token, nil); st != 200 || len(msgs["Messages"].([]any)) != 2 {
		t.Fatalf("messages restored by turning retention off: %d %v", st, msgs)
	}
	if st, got, _ := b.download(t, token, convWhere, convAtt); st != 200 || !bytes.Equal(got, body) {
		t.Fatalf("an attachment restored: %d", st)
	}
	if _, err := c.PutRetentionSettings(ctx, &chime.PutRetentionSettingsInput{AccountId: &acct,
		RetentionSettings: &types.RetentionSettings{RoomRetentionSettings: &types.RoomRetentionSettings{RetentionDays: aws.Int32(1)},
			ConversationRetentionSettings: &types.ConversationRetentionSettings{RetentionDays: aws.Int32(1)}}}); err != nil {
		t.Fatal(err)
	}
	clk.Add(33 * 24 * time.Hour)
	if rep, err := b.m.purger.Run(ctx, true, nil); err != nil || rep.Due != 4 || rep.Conversations != 1 || rep.AttachmentsDeleted != 0 {
		t.Fatalf("dry run: %+v %v", rep, err) // the room's two attachment messages, the conversation's two
	}
	rep, err := b.m.purger.Run(ctx, false, nil)
	if err != nil || rep.AttachmentsDeleted != 2 || rep.Conversations != 1 || rep.Purged != 4 {
		t.Fatalf("purge: %+v %v", rep, err)
	}
	if rep, err := b.m.purger.Run(ctx, false, nil); err != nil || rep.Due != 0 || rep.AttachmentsDeleted != 0 {
		t.Fatalf("a second purge: %+v %v", rep, err)
	}
	if err := b.m.Close(); err != nil {
		t.Fatal(err)
	}
	b = startOn(t, cfg, clk, b)
	token = b.signIn(t, "alice@files.example")
	if st, _, _ := b.download(t, token, roomWhere, roomAtts[1]); st != 404 {
		t.Fatalf("a purged attachment after the restart: %d", st)
	}
	if st, _, _ := b.download(t, token, convWhere, convAtt); st != 404 {
		t.Fatalf("a purged conversation attachment after the restart: %d", st)
	}
	if st, msgs := b.clientCall(t, "GET", "/client/v1/"+convWhere+"/messages", token, nil); st != 200 || len(msgs["Messages"].([]any)) != 0 {
		t.Fatalf("the purged conversation's messages: %d %v", st, msgs)
	}
	// The mixed conversation's attachment stays until its 90 days are out.
	st, list = b.clientCall(t, "GET", "/client/v1/"+mixedWhere+"/attachments", token, nil)
	if st != 200 || len(list["Attachments"].([]any)) != 1 {
		t.Fatalf("the mixed conversation's attachments: %d %v", st, list)
	}
	mixedAtt := list["Attachments"].([]any)[0].(map[string]any)["AttachmentId"].(string)
	clk.Add(58 * 24 * time.Hour)
	if rep, err := b.m.purger.Run(ctx, false, nil); err != nil || rep.AttachmentsDeleted != 1 || rep.Conversations != 1 {
		t.Fatalf("purge after 91 days: %+v %v", rep, err)
	}
	if st, _, _ := b.download(t, token, mixedWhere, mixedAtt); st != 404 {
		t.Fatalf("the mixed conversation's attachment after 91 days: %d", st)
	}
	blobs := 0
	_ = filepath.WalkDir(filepath.Join(dataDir, "blobs"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			blobs++
		}
		return nil
	})
	if blobs != 0 {
		t.Fatalf("%d blob files left", blobs)
	}
	// No file under the data directory holds the sentinel (the blobs are encrypted; names sealed).
	err = filepath.WalkDir(dataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		if err == nil && bytes.Contains(data, sentinel) {
			t.Errorf("the sentinel is in %s", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }
