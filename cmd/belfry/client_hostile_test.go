package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
)

// TestChimeClientRefusesHostileInput: hostile input to the Chime client API is the caller's error
// (4xx naming the field), never a 5xx: a registration password over bcrypt's 72 bytes (it was a 500
// from the hash, after the invitation was checked) and call ids that are no ids (they reached the event
// log as stream names, whose refusal answered with the internal stream name); a sign-in address no
// user can have (it keyed the sign-in back-off with up to 64 KiB per entry).
func TestChimeClientRefusesHostileInput(t *testing.T) {
	t.Parallel()
	outbox := t.TempDir()
	b := startBelfryWith(t, func(m *Main) { m.cfg.MailDir = outbox })
	ctx := context.Background()
	a, err := b.client.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Hostile Clients")})
	if err != nil {
		t.Fatal(err)
	}
	acct := aws.ToString(a.Account.AccountId)
	_, tok := b.registeredUser(t, outbox, acct, "alice@hostile.example")

	if _, err := b.client.InviteUsers(ctx, &chime.InviteUsersInput{AccountId: &acct, UserEmailList: []string{"bob@hostile.example"}}); err != nil {
		t.Fatal(err)
	}
	var token string
	files, _ := filepath.Glob(filepath.Join(outbox, "*.eml"))
	for _, f := range files {
		if msg, _ := os.ReadFile(f); bytes.Contains(msg, []byte("To: bob@hostile.example")) {
			token = string(tokenLine.FindSubmatch(msg)[1])
		}
	}
	for _, pw := range []string{strings.Repeat("p", 73), strings.Repeat("é", 40)} {
		st, out := b.clientCall(t, "POST", "/client/v1/registrations", "", map[string]string{"Token": token, "Password": pw})
		if st != 400 || !strings.Contains(str(out["Message"]), "Password") {
			t.Errorf("register with a password of %d bytes: %d %v, want 400 naming Password", len(pw), st, out)
		}
	}
	// The refusals used nothing up: the invitation still registers.
	if st, out := b.clientCall(t, "POST", "/client/v1/registrations", "", map[string]string{"Token": token, "Password": strings.Repeat("p", 72)}); st != 201 {
		t.Fatalf("register with a password of 72 bytes: %d %v", st, out)
	}

	// An address no user can have is refused before it keys the sign-in back-off.
	if st, out := b.clientCall(t, "POST", "/client/v1/sessions", "", map[string]string{"Email": strings.Repeat("a", 60<<10) + "@x.example",
		"Password": "correct horse"}); st != 400 || !strings.Contains(str(out["Message"]), "Email") {
		t.Errorf("sign in with an address of 60 KiB: %d %v, want 400 naming Email", st, out)
	}

	long := strings.Repeat("x", 1500)
	for _, id := range []string{long, "not-a-call", "%FF"} {
		for _, c := range []struct{ method, path string }{
			{"GET", "/client/v1/calls/" + id}, {"POST", "/client/v1/calls/" + id + "/answer"}, {"DELETE", "/client/v1/calls/" + id},
		} {
			st, out := b.clientCall(t, c.method, c.path, tok, nil)
			if st/100 != 4 || strings.Contains(str(out["Message"]), "chime.call-") {
				t.Errorf("%s %.40s…: %d %v, want 4xx without a stream name", c.method, c.path, st, out)
			}
		}
	}
}
