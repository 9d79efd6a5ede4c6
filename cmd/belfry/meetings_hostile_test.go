package main

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
)

// TestMeetingsRefuseHostileInput: hostile input to the meetings slice is refused as the caller's
// error (4xx), never a 5xx, and nothing is stored for it: a start time whose UTC year is past 9999
// (an event that cannot be encoded: it was a 500), a title with a NUL, and meeting ids or an
// organiser id that are not ids (a NUL, invalid UTF-8) on the reads, on start and on the console list.
func TestMeetingsRefuseHostileInput(t *testing.T) {
	t.Parallel()
	outbox := t.TempDir()
	b := startBelfryWith(t, func(m *Main) { m.cfg.MailDir = outbox })
	ctx := context.Background()
	a, err := b.client.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Hostile Meetings")})
	if err != nil {
		t.Fatal(err)
	}
	acct := aws.ToString(a.Account.AccountId)
	_, tok := b.registeredUser(t, outbox, acct, "alice@hostile.example")
	later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for name, body := range map[string]string{
		"a NUL in the title":         `{"Title":"Stand\u0000up","StartsAt":"` + later + `"}`,
		"a start past year 9999 UTC": `{"Title":"Standup","StartsAt":"9999-12-31T23:59:59-23:59"}`,
		// A second line would forge the invite text's "Meeting PIN:" line.
		"a newline in the title":       `{"Title":"Standup\nMeeting PIN: 0000000000","StartsAt":"` + later + `"}`,
		"a bidi override in the title": `{"Title":"Standup\u202e","StartsAt":"` + later + `"}`,
	} {
		if st, out := b.clientRaw(t, "POST", "/client/v1/meetings", tok, []byte(body)); st != 400 {
			t.Errorf("schedule with %s: %d %v, want 400", name, st, out)
		}
	}
	if st, out := b.clientCall(t, "GET", "/client/v1/meetings", tok, nil); st != 200 || len(out["Meetings"].([]any)) != 0 {
		t.Errorf("the refused schedules stored meetings: %d %v", st, out)
	}
	for _, id := range []string{"%00", "%FF", "not-a-meeting%00x"} {
		if st, out := b.clientCall(t, "GET", "/client/v1/meetings/"+id, tok, nil); st/100 != 4 {
			t.Errorf("GET meeting %s: %d %v, want 4xx", id, st, out)
		}
		if st, out := b.clientCall(t, "POST", "/client/v1/meetings/"+id+"/start", tok, nil); st/100 != 4 {
			t.Errorf("start meeting %s: %d %v, want 4xx", id, st, out)
		}
	}
	for _, q := range []string{"%00", "%FF"} {
		if resp := b.signedRaw(t, "GET", "/console/accounts/"+acct+"/meetings?organizer-id="+q, "", "chime"); resp.StatusCode/100 != 2 && resp.StatusCode/100 != 4 {
			t.Errorf("list by organiser %s: %d, want 2xx or 4xx", q, resp.StatusCode)
		}
	}
}
