package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/coder/websocket"
)

// belfryJSON calls a Belfry admin operation and decodes its answer.
func (r *running) belfryJSON(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	resp := r.signedRaw(t, method, path, body, "belfry")
	b, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

// TestWeeklyUsageReportsAndDashboard: an administrator turns usage reporting on through the Belfry
// admin API; two users register, sign in, chat and meet during the week of 8 March 2026; on the
// Monday after, the server writes the account's CSV at the guide's key in the bucket's directory, lists it,
// and the dashboard shows the week; `belfry reports generate` regenerates the same bytes from the log.
func TestWeeklyUsageReportsAndDashboard(t *testing.T) {
	outbox := t.TempDir()
	clk := &clock{t: time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)} // a Wednesday
	b := startBelfryWith(t, func(m *Main) { m.cfg.MailDir, m.Now, m.cfg.Reports.UsageEvery = outbox, clk.Now, "1s" })
	ctx := context.Background()

	if st, out := b.belfryJSON(t, "PUT", "/belfry/v1/chime/usage-reporting", `{"Bucket":"Bad_Bucket"}`); st != 400 || !strings.Contains(out["Message"].(string), "Bucket") {
		t.Fatalf("bad bucket: %d %v", st, out)
	}
	if st, out := b.belfryJSON(t, "PUT", "/belfry/v1/chime/usage-reporting", `{"Bucket":"acme-usage"}`); st != 200 || out["Enabled"] != true ||
		out["Since"] != "2026-03-04T09:00:00.000Z" {
		t.Fatalf("turn reporting on: %d %v", st, out)
	}
	a, err := b.client.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Example Sales")})
	if err != nil {
		t.Fatal(err)
	}
	acct := aws.ToString(a.Account.AccountId)

	clk.Add(5 * 24 * time.Hour) // Monday 9 March
	alice, aliceTok := b.registeredUser(t, outbox, acct, "alice@usage.example")
	bob, bobTok := b.registeredUser(t, outbox, acct, "bob@usage.example")
	st, out := b.clientCall(t, "POST", "/client/v1/conversations", aliceTok, map[string]any{"MemberIds": []string{bob}})
	if st != 201 {
		t.Fatalf("conversation: %d %v", st, out)
	}
	msgs := "/client/v1/conversations/" + out["Conversation"].(map[string]any)["ConversationId"].(string) + "/messages"
	for _, tok := range []string{aliceTok, aliceTok, bobTok} {
		if st, out := b.clientCall(t, "POST", msgs, tok, map[string]string{"Content": "hello"}); st != 201 {
			t.Fatalf("post: %d %v", st, out)
		}
	}

	// Alice schedules a meeting; both join it over the signalling WebSocket and leave: it ends.
	st, out = b.clientCall(t, "POST", "/client/v1/meetings", aliceTok, map[string]string{"Title": "Standup",
		"StartsAt": clk.Now().Add(time.Hour).Format(time.RFC3339)})
	if st != 201 {
		t.Fatalf("schedule: %d %v", st, out)
	}
	meetingID := out["Meeting"].(map[string]any)["MeetingId"].(string)
	var conns []*websocket.Conn
	for _, tok := range []string{aliceTok, bobTok} {
		ws, resp, err := b.dialSignal(ctx, meetingID, tok)
		if err != nil {
			t.Fatalf("join: %v %v", err, resp)
		}
		defer ws.CloseNow()
		if m := readSignal(t, ctx, ws); m.Type != "joined" {
			t.Fatalf("join: %+v", m)
		}
		conns = append(conns, ws)
	}
	for _, ws := range conns {
		_ = ws.Write(ctx, websocket.MessageText, []byte(`{"type":"leave"}`))
		for m := readSignal(t, ctx, ws); m.Type != "bye"; m = readSignal(t, ctx, ws) {
		}
	}
	until(t, "the meeting to end", func() bool {
		_, out := b.clientCall(t, "GET", "/client/v1/meetings/"+meetingID, aliceTok, nil)
		return out["Meeting"].(map[string]any)["Status"] == "Ended"
	})

	clk.Add(7*24*time.Hour + time.Hour) // Monday 16 March, 10:00: the week of the 8th is due
	key := "Amazon-Chime-User-Activity-Reports/csv/" + b.awsAcct + "/2026/03/08/Example+Sales_" + acct + "_20260308.csv"
	path := filepath.Join(b.m.cfg.DataDir, "reports", "acme-usage", filepath.FromSlash(key))
	var report []byte
	for deadline := time.Now().Add(20 * time.Second); report == nil && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		report, _ = os.ReadFile(path)
	}
	want := "account_name,week_start,display_name,email,registration_status,account_creation_date,last_login,meetings_attended,meetings_hosted,chat_sent\n" +
		"Example Sales,20260308,,alice@usage.example,Registered,20260309,2026-03-09T09:00:00.000Z,1,1,2\n" +
		"Example Sales,20260308,,bob@usage.example,Registered,20260309,2026-03-09T09:00:00.000Z,1,0,1\n"
	if string(report) != want {
		t.Fatalf("report at %s:\n%s\nwant:\n%s", key, report, want)
	}
	st, out = b.belfryJSON(t, "GET", "/belfry/v1/chime/usage-reports?week=2026-03-08", "")
	if reps, _ := out["Reports"].([]any); st != 200 || len(reps) != 1 || reps[0].(map[string]any)["Key"] != key || reps[0].(map[string]any)["Rows"] != 2.0 {
		t.Fatalf("usage reports: %d %v", st, out)
	}
	if st, _ := b.belfryJSON(t, "GET", "/belfry/v1/chime/usage-reports?week=2026-03-09", ""); st != 400 {
		t.Errorf("a week not starting on Sunday: %d", st)
	}

	// The dashboard of the week: both users registered and active on the 9th, three messages.
	var days []any
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		st, out = b.belfryJSON(t, "GET", "/belfry/v1/chime/accounts/"+acct+"/dashboard?from=2026-03-08&to=2026-03-14", "")
		if days, _ = out["Days"].([]any); st == 200 && len(days) == 7 && days[1].(map[string]any)["ChatMessagesSent"] == 3.0 {
			break
		}
	}
	tot, _ := out["Totals"].(map[string]any)
	if len(days) != 7 || tot["RegisteredUsers"] != 2.0 || tot["ActiveUsers"] != 2.0 || tot["ChatMessagesSent"] != 3.0 || tot["MeetingsHeld"] != 1.0 ||
		days[0].(map[string]any)["RegisteredUsers"] != 0.0 || days[6].(map[string]any)["RegisteredUsers"] != 2.0 {
		t.Fatalf("dashboard: %d %v", st, out)
	}
	// Alice, a Pro user, hosted a scheduled meeting that ended on the 9th: one billable day.
	st, out = b.belfryJSON(t, "GET", "/belfry/v1/chime/accounts/"+acct+"/billable-days?from=2026-03-01&to=2026-03-31", "")
	if days, _ := out["BillableDays"].([]any); st != 200 || len(days) != 1 || days[0].(map[string]any)["Date"] != "2026-03-09" ||
		days[0].(map[string]any)["UserId"] != alice || days[0].(map[string]any)["Meetings"] != 1.0 {
		t.Errorf("billable days: %d %v", st, out)
	}
	for q, want := range map[string]int{"/belfry/v1/chime/accounts/nope/dashboard": 404,
		"/belfry/v1/chime/accounts/" + acct + "/dashboard?from=2026-03-09&to=2026-03-08": 400,
		"/belfry/v1/chime/accounts/" + acct + "/dashboard?from=2025-01-01&to=2026-03-08": 400,
		"/belfry/v1/chime/accounts/" + acct + "/dashboard?from=March":                    400,
		"/belfry/v1/chime/accounts/" + acct + "/billable-days?next-token=garbage":        400,
		"/belfry/v1/chime/accounts/" + acct + "/billable-days?max-results=0":             400,
		"/belfry/v1/chime/usage-reports":                                                 400} {
		if st, _ := b.belfryJSON(t, "GET", q, ""); st != want {
			t.Errorf("%s: %d, want %d", q, st, want)
		}
	}
	if st, _ := b.belfryJSON(t, "PUT", "/belfry/v1/chime/usage-reporting", `{"Bucket":42}`); st != 400 {
		t.Errorf("a bucket that is not a string: %d", st)
	}

	// `belfry reports generate` from the log, after the server stopped: the same bytes.
	if err := b.m.Close(); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BELFRY_DATABASE_URL", b.m.cfg.DatabaseURL)
	t.Setenv("BELFRY_DATA_DIR", b.m.cfg.DataDir)
	// From the usage read model (its checkpoint was saved at the head when the server stopped), and
	// from a pass over the log (--from-log).
	for _, args := range [][]string{nil, {"--from-log"}} {
		regen := t.TempDir()
		out, err := runErr(t, append([]string{"reports", "generate", "--week", "2026-03-08", "--dir", regen}, args...)...)
		if err != nil || strings.Contains(out, "usage read model has applied") != (args == nil) {
			t.Fatalf("reports generate %q: %v\n%s", args, err, out)
		}
		again, err := os.ReadFile(filepath.Join(regen, filepath.FromSlash(key)))
		if err != nil || !bytes.Equal(again, report) {
			t.Fatalf("regenerated %q (%v):\n%s", args, err, again)
		}
	}
	regen := t.TempDir()
	if _, err := runOut(t, "reports", "generate", "--week", "2026-03-10", "--dir", regen); err == nil {
		t.Error("a week that does not start on a Sunday must be refused")
	}
}

// runErr runs the CLI and returns what it wrote to stderr.
func runErr(t *testing.T, args ...string) (string, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stderr
	os.Stderr = w
	done := make(chan string)
	go func() { b, _ := io.ReadAll(r); done <- string(b) }()
	err = run(context.Background(), args)
	w.Close()
	os.Stderr = old
	return <-done, err
}
