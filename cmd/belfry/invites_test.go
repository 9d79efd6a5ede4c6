package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/aws/aws-sdk-go-v2/service/chime/types"
)

func (r *running) clientCall(t *testing.T, method, path, bearer string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	return r.clientRaw(t, method, path, bearer, b)
}

// clientRaw calls the client API with body as it is (hostile bytes included) and an optional bearer
// session, and returns the status and the JSON answer.
func (r *running) clientRaw(t *testing.T, method, path, bearer string, b []byte) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, r.url+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func TestInvitationRegistrationAndSessions(t *testing.T) {
	t.Parallel()
	outbox := t.TempDir()
	dnsSrv := startDNS(t)
	b := startBelfryWith(t, func(m *Main) { m.cfg.MailDir = outbox; m.cfg.DNSResolver = dnsSrv.addr })
	ctx := context.Background()
	c := b.client
	a, _ := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Inviting team")})
	acct := a.Account.AccountId

	inv, err := c.InviteUsers(ctx, &chime.InviteUsersInput{AccountId: acct, UserEmailList: []string{"Newbie@Example.com"}})
	if err != nil || len(inv.Invites) != 1 || inv.Invites[0].Status != types.InviteStatusPending || inv.Invites[0].EmailStatus != types.EmailStatusSent {
		t.Fatalf("InviteUsers: %+v %v", inv, err)
	}
	files, _ := filepath.Glob(filepath.Join(outbox, "*.eml"))
	if len(files) != 1 {
		t.Fatalf("outbox holds %d messages", len(files))
	}
	msg, _ := os.ReadFile(files[0])
	if !bytes.Contains(msg, []byte("To: newbie@example.com")) {
		t.Fatalf("message: %s", msg)
	}
	token := regexp.MustCompile(`(?m)^  ([A-Za-z0-9_-]{40,})\r?$`).FindSubmatch(msg)[1]
	users, _ := c.ListUsers(ctx, &chime.ListUsersInput{AccountId: acct, UserEmail: aws.String("newbie@example.com")})
	if len(users.Users) != 1 || users.Users[0].UserInvitationStatus != types.InviteStatusPending || users.Users[0].UserRegistrationStatus != types.RegistrationStatusUnregistered {
		t.Fatalf("invited user: %+v", users.Users)
	}
	uid := users.Users[0].UserId
	_, err = c.InviteUsers(ctx, &chime.InviteUsersInput{AccountId: acct, UserEmailList: make([]string, 51)})
	apiErr(t, err, "BadRequestException", 400)

	if st, _ := b.clientCall(t, "POST", "/client/v1/registrations", "", map[string]string{"Token": string(token), "Password": "short"}); st != 400 {
		t.Fatalf("short password: %d", st)
	}
	st, reg := b.clientCall(t, "POST", "/client/v1/registrations", "", map[string]string{"Token": string(token), "Password": "correct horse", "DisplayName": "Newbie"})
	if st != 201 || reg["User"].(map[string]any)["UserRegistrationStatus"] != "Registered" || reg["User"].(map[string]any)["PersonalPIN"] == nil {
		t.Fatalf("register: %d %v", st, reg)
	}
	if st, _ := b.clientCall(t, "POST", "/client/v1/registrations", "", map[string]string{"Token": string(token), "Password": "correct horse"}); st != 403 {
		t.Fatalf("a used token must be refused: %d", st)
	}
	if st, _ := b.clientCall(t, "POST", "/client/v1/sessions", "", map[string]string{"Email": "newbie@example.com", "Password": "wrong password"}); st != 403 {
		t.Fatalf("wrong password: %d", st)
	}
	signIn := func() string {
		st, s := b.clientCall(t, "POST", "/client/v1/sessions", "", map[string]string{"Email": "newbie@example.com", "Password": "correct horse"})
		if st != 201 {
			t.Fatalf("sign-in: %d %v", st, s)
		}
		return s["SessionToken"].(string)
	}
	tok := signIn()
	if st, me := b.clientCall(t, "GET", "/client/v1/me", tok, nil); st != 200 || me["User"].(map[string]any)["UserId"] != aws.ToString(uid) {
		t.Fatalf("me: %d %v", st, me)
	}
	// LogoutUser revokes every session of the user.
	if _, err := c.LogoutUser(ctx, &chime.LogoutUserInput{AccountId: acct, UserId: uid}); err != nil {
		t.Fatal(err)
	}
	if st, _ := b.clientCall(t, "GET", "/client/v1/me", tok, nil); st != 401 {
		t.Fatalf("a session from before LogoutUser must be revoked: %d", st)
	}
	tok = signIn()

	// Enterprise suspension: the user can neither use a session nor sign in.
	b.claimDomain(t, dnsSrv, aws.ToString(acct), "example.com")
	if _, err := c.BatchSuspendUser(ctx, &chime.BatchSuspendUserInput{AccountId: acct, UserIdList: []string{aws.ToString(uid)}}); err != nil {
		t.Fatal(err)
	}
	if st, _ := b.clientCall(t, "GET", "/client/v1/me", tok, nil); st != 401 {
		t.Fatalf("suspended user's session: %d", st)
	}
	if st, _ := b.clientCall(t, "POST", "/client/v1/sessions", "", map[string]string{"Email": "newbie@example.com", "Password": "correct horse"}); st != 403 {
		t.Fatalf("suspended user's sign-in: %d", st)
	}
	_, err = c.InviteUsers(ctx, &chime.InviteUsersInput{AccountId: acct, UserEmailList: []string{"x@example.com"}})
	apiErr(t, err, "BadRequestException", 400) // Enterprise accounts take users from their domains
}
