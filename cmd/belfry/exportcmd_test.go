package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
)

// TestExportMessagesCLI: `belfry export messages` writes an account's (or a user's) messages of a
// period as JSON Lines, oldest first, decrypted, a redacted message marked without its content, an
// attachment referenced by id and hash; an interrupted export resumes to the same bytes, and a
// finished one is left as it is.
func TestExportMessagesCLI(t *testing.T) {
	ctx := context.Background()
	outbox, dnsSrv := t.TempDir(), startDNS(t)
	start := time.Now().UTC().Add(-72 * time.Hour).Truncate(time.Second)
	clk := &clock{t: start}
	b := startBelfryWith(t, func(m *Main) { m.cfg.MailDir, m.cfg.DNSResolver, m.Now = outbox, dnsSrv.addr, clk.Now })
	c := b.client
	a, _ := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Hold Corp")})
	acct := aws.ToString(a.Account.AccountId)
	o, _ := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Elsewhere")})
	other := aws.ToString(o.Account.AccountId)
	alice, aliceTok := b.registeredUser(t, outbox, acct, "alice@hold.example")
	bob, bobTok := b.registeredUser(t, outbox, acct, "bob@hold.example")
	carol, carolTok := b.registeredUser(t, outbox, other, "carol@else.example")
	dave, _ := b.registeredUser(t, outbox, other, "dave@else.example")
	b.claimDomain(t, dnsSrv, acct, "hold.example")
	rm, _ := c.CreateRoom(ctx, &chime.CreateRoomInput{AccountId: &acct, Name: aws.String("ops")})
	roomID := aws.ToString(rm.Room.RoomId)
	if _, err := c.CreateRoomMembership(ctx, &chime.CreateRoomMembershipInput{AccountId: &acct, RoomId: &roomID, MemberId: &alice}); err != nil {
		t.Fatal(err)
	}
	conv := func(tok string, members ...string) string {
		st, out := b.clientCall(t, "POST", "/client/v1/conversations", tok, map[string]any{"MemberIds": members})
		if st != 201 && st != 200 {
			t.Fatalf("conversation: %d %v", st, out)
		}
		return out["Conversation"].(map[string]any)["ConversationId"].(string)
	}
	post := func(tok, path, text string) string {
		clk.Add(time.Hour)
		st, out := b.clientCall(t, "POST", path, tok, map[string]any{"Content": text})
		if st != 201 {
			t.Fatalf("post %s: %d %v", path, st, out)
		}
		if m, ok := out["Message"].(map[string]any); ok {
			return m["MessageId"].(string)
		}
		return out["MessageId"].(string)
	}
	ab, bc, cd := conv(aliceTok, bob), conv(bobTok, carol), conv(carolTok, dave)
	post(aliceTok, "/client/v1/rooms/"+roomID+"/messages", "room hello")
	first := post(aliceTok, "/client/v1/conversations/"+ab+"/messages", "first")
	secret := post(aliceTok, "/client/v1/conversations/"+ab+"/messages", "a secret to redact")
	clk.Add(time.Hour)
	file := bytes.Repeat([]byte("legal hold "), 1000)
	if st, out := b.attach(t, bobTok, "conversations/"+ab, "hold.txt", "text/plain", file); st != 201 {
		t.Fatalf("upload: %d %v", st, out)
	}
	post(bobTok, "/client/v1/conversations/"+bc+"/messages", "bob to carol")
	post(carolTok, "/client/v1/conversations/"+cd+"/messages", "not Hold Corp's")
	if st, out := b.clientCall(t, "PUT", "/client/v1/conversations/"+ab+"/messages/"+first, aliceTok, map[string]any{"Content": "first, edited"}); st != 200 {
		t.Fatalf("edit: %d %v", st, out)
	}
	if _, err := c.RedactConversationMessage(ctx, &chime.RedactConversationMessageInput{AccountId: &acct, ConversationId: &ab, MessageId: &secret}); err != nil {
		t.Fatal(err)
	}
	to := clk.Now().Add(time.Minute)
	clk.Add(time.Hour)
	post(aliceTok, "/client/v1/conversations/"+ab+"/messages", "after the period")

	t.Setenv("BELFRY_DATABASE_URL", b.m.cfg.DatabaseURL)
	t.Setenv("BELFRY_DATA_DIR", b.m.cfg.DataDir)
	t.Setenv("BELFRY_EVENTLOG_ADDR", b.m.esAddr)
	dir := t.TempDir()
	export := func(out string, extra ...string) string {
		args := append([]string{"export", "messages", "--account", acct, "--from", start.Format(time.RFC3339), "--to", to.Format(time.RFC3339Nano), "--out", out}, extra...)
		return captureStdout(t, func() error { return run(ctx, args) })
	}
	full := filepath.Join(dir, "hold.jsonl")
	if out := export(full); !strings.Contains(out, "5 messages") {
		t.Fatalf("export: %s", out)
	}
	data, _ := os.ReadFile(full)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	var head map[string]any
	_ = json.Unmarshal([]byte(lines[0]), &head)
	if head["type"] != "export" || head["accountId"] != acct {
		t.Fatalf("header: %s", lines[0])
	}
	type line struct {
		Type, Container, ContainerID, MessageID, CreatedAt, SenderID, State, EditedAt string
		Content                                                                       *string
		Attachments                                                                   []struct{ AttachmentID, BlobSha256, Sha256, Name string }
	}
	var msgs []line
	for _, l := range lines[1:] {
		var m line
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	content := func(m line) string {
		if m.Content == nil {
			return "<none>"
		}
		return *m.Content
	}
	sum := sha256.Sum256(file)
	switch {
	case len(msgs) != 5:
		t.Fatalf("%d messages:\n%s", len(msgs), data)
	case msgs[0].Container != "room" || content(msgs[0]) != "room hello":
		t.Fatalf("room message: %+v", msgs[0])
	case content(msgs[1]) != "first, edited" || msgs[1].EditedAt == "" || msgs[1].SenderID != alice:
		t.Fatalf("edited message: %+v", msgs[1])
	case msgs[2].State != "redacted" || msgs[2].Content != nil || strings.Contains(string(data), "a secret"):
		t.Fatalf("redacted message: %+v", msgs[2])
	case len(msgs[3].Attachments) != 1 || msgs[3].Attachments[0].Sha256 != hex.EncodeToString(sum[:]) || msgs[3].Attachments[0].BlobSha256 == "" ||
		msgs[3].Attachments[0].Name != "hold.txt":
		t.Fatalf("attachment message: %+v", msgs[3])
	case content(msgs[4]) != "bob to carol" || msgs[4].ContainerID != bc:
		t.Fatalf("bob's conversation with carol: %+v", msgs[4])
	}
	// Again into another file: the same bytes. Again into the finished file: nothing changes.
	again := filepath.Join(dir, "again.jsonl")
	export(again)
	if b2, _ := os.ReadFile(again); !bytes.Equal(b2, data) {
		t.Fatalf("a second export differs:\n%s\n%s", b2, data)
	}
	if out := export(full); !strings.Contains(out, "0 added") {
		t.Fatalf("rerun on a finished export: %s", out)
	}
	if b2, _ := os.ReadFile(full); !bytes.Equal(b2, data) {
		t.Fatal("a rerun changed a finished export")
	}
	// Interrupted in the middle of a line: the rerun continues to the same bytes.
	cut := len(lines[0]) + len(lines[1]) + len(lines[2]) + 3 + 10
	_ = os.WriteFile(again, data[:cut], 0o600)
	if out := export(again); !strings.Contains(out, "2 were there") || !strings.Contains(out, "3 added") {
		t.Fatalf("resume: %s", out)
	}
	if b2, _ := os.ReadFile(again); !bytes.Equal(b2, data) {
		t.Fatalf("the resumed export differs:\n%s", b2)
	}
	// One user's: the rooms and conversations alice is in, not bob's conversation with carol.
	mine := filepath.Join(dir, "alice.jsonl")
	if out := export(mine, "--user", alice); !strings.Contains(out, "4 messages") {
		t.Fatalf("alice's export: %s", out)
	}
	// Another export's file is refused; so are bad flags.
	if err := run(ctx, []string{"export", "messages", "--account", acct, "--from", start.Format(time.RFC3339), "--to", to.Format(time.RFC3339Nano), "--out", mine}); err == nil {
		t.Fatal("resuming into another export's file")
	}
	for _, bad := range [][]string{{"--account", acct, "--from", "yesterday", "--to", "2030-01-01", "--out", mine},
		{"--account", acct, "--from", "2030-01-01", "--to", "2020-01-01", "--out", mine}, {"--from", "2020-01-01", "--to", "2030-01-01", "--out", mine}} {
		if err := run(ctx, append([]string{"export", "messages"}, bad...)); err == nil {
			t.Fatalf("%v accepted", bad)
		}
	}
}
