package usagereports_test

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry/api/chime/usagereports"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/conversation"
	"github.com/belfry/belfry/domain/chime/meeting"
	"github.com/belfry/belfry/domain/chime/room"
	"github.com/belfry/belfry/domain/chime/settings"
	"github.com/belfry/belfry/domain/chime/usage"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/infra/objstore"
	"github.com/belfry/belfry/projections/chimeusage"
	"github.com/belfry/belfry/projections/projectiontest"
)

const aws2, acc2, acc3, acc4 = "444455556666", "acc-globex", "acc-later", "acc-gone"

// seedRichWeek records two AWS accounts with reporting on, four Chime accounts (one created after
// the week, one deleted) and their users' activity in the week of 8-14 March and the weeks around it.
func (w *world) seedRichWeek(t *testing.T) {
	for aws, bucket := range map[string]string{awsID: "sales-usage", aws2: "globex-usage"} {
		if _, err := w.sets.Execute(w.ctx, settings.StreamName(aws), settings.UpdateUsageReporting{Bucket: bucket}); err != nil {
			t.Fatal(err)
		}
	}
	ns := func(d, h, m, s, n int) time.Time { return time.Date(2026, 3, d, h, m, s, n, time.UTC) }
	w.emit(t, account.StreamName(acc),
		account.Created{AccountID: acc, AwsAccountID: awsID, Name: "Example Sales", AccountType: "EnterpriseLWA", CreatedAt: at(1, 8, 0)},
		account.UserAdded{UserID: "u-ana", Email: "ana@example.com", Username: "Ana Carolina Silva", LicenseType: "Pro", CreatedAt: at(2, 9, 0)},
		account.UserAdded{UserID: "u-akua", Email: "akua@example.com", Username: "Akua Mansa", LicenseType: "Pro", CreatedAt: at(3, 9, 0)},
		account.UserAdded{UserID: "u-eve", Email: "eve@example.com", Username: "=HYPERLINK(\"http://x\")", LicenseType: "Basic", CreatedAt: at(4, 9, 0)},
		account.UserAdded{UserID: "u-bo", Email: "bo@example.com", Username: "Bo", LicenseType: "Pro", CreatedAt: at(2, 9, 0)},
		account.UserAdded{UserID: "u-cy", Email: "cy@example.com", Username: "Cy", LicenseType: "Pro", CreatedAt: at(5, 9, 0)},
		account.UserSuspended{UserID: "u-akua"}, account.UserRemoved{UserID: "u-bo"},
		account.UserRegistered{UserID: "u-cy", InviteID: "i1", DisplayName: "Cyrus Renamed", At: at(6, 9, 0)})
	w.emit(t, account.StreamName(acc2),
		account.Created{AccountID: acc2, AwsAccountID: aws2, Name: "Globex", AccountType: "Team", CreatedAt: at(1, 8, 0)},
		account.UserAdded{UserID: "u-gil", Email: "gil@globex.example", Username: "Gil", LicenseType: "Pro", CreatedAt: at(1, 9, 0)},
		account.UserAdded{UserID: "u-hal", Email: "hal@globex.example", Username: "Hal", LicenseType: "Pro", CreatedAt: at(1, 9, 0)})
	w.emit(t, account.StreamName(acc3), account.Created{AccountID: acc3, AwsAccountID: awsID, Name: "Later Co", AccountType: "Team", CreatedAt: at(16, 8, 0)},
		account.UserAdded{UserID: "u-lou", Email: "lou@example.com", CreatedAt: at(16, 9, 0)})
	w.emit(t, account.StreamName(acc4), account.Created{AccountID: acc4, AwsAccountID: aws2, Name: "Gone", AccountType: "Team", CreatedAt: at(1, 8, 0)},
		account.UserAdded{UserID: "u-max", Email: "max@example.com", CreatedAt: at(1, 9, 0)}, account.Deleted{DeletedAt: at(4, 0, 0)})

	// Sign-ins before, within and after the week (sub-millisecond instants included).
	w.emit(t, usage.SignInStream("u-ana"), usage.SignedIn{AccountID: acc, UserID: "u-ana", At: at(5, 7, 4)},
		usage.SignedIn{AccountID: acc, UserID: "u-ana", At: ns(9, 7, 4, 5, 123456789)}, usage.SignedIn{AccountID: acc, UserID: "u-ana", At: at(15, 0, 0)})
	w.emit(t, usage.SignInStream("u-akua"), usage.SignedIn{AccountID: acc, UserID: "u-akua", At: at(2, 20, 58)})
	w.emit(t, usage.SignInStream("u-gil"), usage.SignedIn{AccountID: acc2, UserID: "u-gil", At: ns(14, 23, 59, 59, 999999999)})
	w.emit(t, usage.SignInStream("u-hal"), usage.SignedIn{AccountID: acc2, UserID: "u-hal", At: at(16, 8, 0)})

	// m1 is re-scheduled to Akua before it starts; m2 starts at the week's last minute and is
	// re-scheduled after it started; m3 started the week before (Ana's join on the Sunday counts);
	// m4 never starts (Hal's join counts); m5 has no organiser, m7 no schedule; m6 is next week's.
	sched := func(org string) meeting.Scheduled {
		return meeting.Scheduled{AccountID: acc, OrganizerID: org, At: at(1, 0, 0)}
	}
	join := func(id, user string, at time.Time) meeting.AttendeeJoined {
		return meeting.AttendeeJoined{AttendeeID: id, UserID: user, At: at}
	}
	w.emit(t, meeting.StreamName("m1"), sched("u-ana"), sched("u-akua"), meeting.Started{By: "u-akua", At: at(9, 10, 0)},
		join("a1", "u-ana", at(9, 10, 0)), join("a2", "u-eve", at(9, 10, 1)), join("a3", "u-eve", at(9, 10, 30)), join("a4", "u-gil", at(9, 10, 2)))
	w.emit(t, meeting.StreamName("m2"), sched("u-ana"), meeting.Started{By: "u-ana", At: at(14, 23, 59)}, join("b1", "u-eve", at(14, 23, 59)), sched("u-eve"))
	w.emit(t, meeting.StreamName("m3"), sched("u-ana"), meeting.Started{By: "u-ana", At: at(7, 23, 59)}, join("c1", "u-ana", at(8, 0, 0)))
	w.emit(t, meeting.StreamName("m4"), sched("u-eve"), join("d1", "u-hal", at(10, 9, 0)))
	w.emit(t, meeting.StreamName("m5"), sched(""), meeting.Started{By: "u-ana", At: at(10, 9, 0)})
	w.emit(t, meeting.StreamName("m6"), sched("u-gil"), meeting.Started{By: "u-gil", At: at(15, 0, 0)}, join("e1", "u-gil", at(15, 0, 0)))
	w.emit(t, meeting.StreamName("m7"), meeting.Started{By: "u-eve", At: at(10, 9, 0)})

	post := func(id, sender string, at time.Time) conversation.MessagePosted {
		return conversation.MessagePosted{MessageID: id, SenderID: sender, SenderAccountID: acc, At: at}
	}
	rpost := func(id, sender, typ string, at time.Time) room.MessagePosted {
		return room.MessagePosted{MessageID: id, SenderID: sender, SenderType: typ, At: at}
	}
	w.emit(t, conversation.StreamName("c1"), post("1", "u-ana", at(10, 8, 0)), post("2", "u-eve", at(15, 0, 0)), post("3", "u-eve", at(7, 23, 59)))
	w.emit(t, conversation.StreamName("c2"), post("4", "u-ana", at(11, 8, 0)), post("5", "u-ana", at(11, 8, 1)), post("6", "u-gil", at(12, 8, 0)))
	w.emit(t, room.StreamName("r1"), rpost("7", "u-ana", room.MemberUser, at(11, 8, 0)), rpost("8", "bot-1", room.MemberBot, at(11, 8, 0)),
		rpost("9", "u-ana", room.MemberWebhook, at(11, 8, 0)), rpost("10", "u-hal", "", at(12, 9, 0)))
}

// read returns the report of an account for the week of 8 March written under dir (nil: none).
func read(t *testing.T, dir, aws, name, id string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(usage.Key(aws, name, id, at(8, 0, 0)))))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReportsFromTheReadModelEqualTheLogPass: a rich week gives, through the usage read model, the
// very bytes of the pass over the log, with the numbers a user expects; a read model that has not
// caught up sends the generation to the log; a recorded week regenerated after directory changes
// is the same bytes from either source.
func TestReportsFromTheReadModelEqualTheLogPass(t *testing.T) {
	w := newWorld(t)
	w.seedRichWeek(t)
	catchUp := func() {
		head, err := eventstore.Head(w.ctx, w.client)
		if err != nil {
			t.Fatal(err)
		}
		projectiontest.CatchUp(t, w.ctx, w.pool, w.client, chimeusage.Projection{}, head)
	}
	catchUp()
	bucket := &flaky{DirTarget: objstore.DirTarget{Name: t.TempDir()}}
	svc := usagereports.New(usagereports.Deps{Log: log{w.client}, Activity: chimeusage.NewStore(w.pool), CatchUp: 200 * time.Millisecond,
		Reports: w.reports, Settings: w.sets, Targets: targets{bucket}, Logger: quiet{}, Now: w.now})
	w.set(at(16, 1, 0))
	week := at(8, 0, 0)
	generate := func(fromLog bool) (string, usagereports.Stats) {
		t.Helper()
		dir := t.TempDir()
		st, err := svc.Generate(w.ctx, week, usagereports.Options{Out: objstore.DirTarget{Dir: dir, Name: "x"}, FromLog: fromLog})
		if err != nil {
			t.Fatal(err)
		}
		return dir, st
	}
	rmDir, rmSt := generate(false)
	logDir, logSt := generate(true)
	if !rmSt.FromReadModel || logSt.FromReadModel || rmSt.Written != 2 || logSt.Written != 2 || rmSt.Skipped != 2 || rmSt.Events >= logSt.Events {
		t.Fatalf("read model %+v, log %+v", rmSt, logSt)
	}
	sales, globex := read(t, rmDir, awsID, "Example Sales", acc), read(t, rmDir, aws2, "Globex", acc2)
	if string(sales) != string(read(t, logDir, awsID, "Example Sales", acc)) || string(globex) != string(read(t, logDir, aws2, "Globex", acc2)) {
		t.Fatalf("the read model's reports differ from the log pass's:\n%s\n%s\nlog:\n%s\n%s", sales, globex,
			read(t, logDir, awsID, "Example Sales", acc), read(t, logDir, aws2, "Globex", acc2))
	}
	if read(t, rmDir, awsID, "Later Co", acc3) != nil || read(t, rmDir, aws2, "Gone", acc4) != nil {
		t.Error("a report for an account created after the week or deleted")
	}
	// What a user reads: name, registration, last login, attended, hosted, chat sent.
	rows := cells(t, sales)
	want := map[string]string{
		"'=HYPERLINK(\"http://x\")": "Unregistered,,2,0,0",
		"Akua Mansa":                "Suspended,2026-03-02T20:58:00.000Z,0,1,0",
		"Ana Carolina Silva":        "Unregistered,2026-03-09T07:04:05.123Z,2,1,4",
		"Cyrus Renamed":             "Registered,,0,0,0",
	}
	if len(rows) != len(want) {
		t.Errorf("Example Sales rows (Bo was removed): %q", rows)
	}
	for name, v := range want {
		if rows[name] != v {
			t.Errorf("Example Sales, %s: %q, want %q", name, rows[name], v)
		}
	}
	if g := cells(t, globex); g["Gil"] != "Unregistered,2026-03-14T23:59:59.999Z,1,0,1" || g["Hal"] != "Unregistered,,1,0,1" {
		t.Errorf("Globex: %q", g)
	}

	// The job records the week from the read model; directory changes and a later sign-in follow.
	if st, err := svc.Job().Round(w.ctx); err != nil || st.Records != 2 || !st.FromReadModel {
		t.Fatalf("round: %+v, %v", st, err)
	}
	if got := read(t, filepath.Join(bucket.Name, "sales-usage"), awsID, "Example Sales", acc); string(got) != string(sales) {
		t.Fatalf("recorded report:\n%s", got)
	}
	w.emit(t, account.StreamName(acc), account.UserAdded{UserID: "u-new", Email: "new@example.com", CreatedAt: at(17, 9, 0)},
		account.Renamed{Name: "Renamed"}, account.UserSuspended{UserID: "u-ana"})
	w.emit(t, usage.SignInStream("u-ana"), usage.SignedIn{AccountID: acc, UserID: "u-ana", At: at(17, 7, 4)})
	// Not caught up (no runner): the generation passes over the log, with the same bytes.
	lateDir, lateSt := generate(false)
	if lateSt.FromReadModel || string(read(t, lateDir, awsID, "Example Sales", acc)) != string(sales) {
		t.Fatalf("behind: %+v\n%s", lateSt, read(t, lateDir, awsID, "Example Sales", acc))
	}
	catchUp()
	againDir, againSt := generate(false)
	if !againSt.FromReadModel || string(read(t, againDir, awsID, "Example Sales", acc)) != string(sales) ||
		string(read(t, againDir, aws2, "Globex", acc2)) != string(globex) {
		t.Fatalf("regenerated from the read model: %+v\n%s", againSt, read(t, againDir, awsID, "Example Sales", acc))
	}
}

// cells maps each row's display name to its registration, last login and three counts.
func cells(t *testing.T, report []byte) map[string]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(string(report))).ReadAll()
	if err != nil || len(recs) == 0 || strings.Join(recs[0], ",") != strings.Join(usage.Header, ",") {
		t.Fatalf("report (%v):\n%s", err, report)
	}
	out := map[string]string{}
	for _, r := range recs[1:] {
		out[r[2]] = strings.Join([]string{r[4], r[6], r[7], r[8], r[9]}, ",")
	}
	return out
}

// TestReportsWithoutTheReadModel: where no server has created the usage read model yet (`belfry
// reports generate` on a fresh database), the generation passes over the log at once.
func TestReportsWithoutTheReadModel(t *testing.T) {
	w := newWorld(t)
	w.seedRichWeek(t)
	svc := usagereports.New(usagereports.Deps{Log: log{w.client}, Activity: chimeusage.NewStore(w.pool), CatchUp: time.Minute,
		Reports: w.reports, Settings: w.sets, Targets: targets{&flaky{DirTarget: objstore.DirTarget{Name: t.TempDir()}}}, Logger: quiet{}, Now: w.now})
	w.set(at(16, 1, 0))
	ctx, cancel := context.WithTimeout(w.ctx, 20*time.Second) // shorter than CatchUp: waiting for the read model fails
	defer cancel()
	st, err := svc.Generate(ctx, at(8, 0, 0), usagereports.Options{Out: objstore.DirTarget{Dir: t.TempDir(), Name: "x"}})
	if err != nil || st.FromReadModel || st.Written != 2 {
		t.Fatalf("%+v %v: want the reports from the log", st, err)
	}
}
