package usagereports_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/belfry/belfry/api/chime/usagereports"
	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/conversation"
	"github.com/belfry/belfry/domain/chime/meeting"
	"github.com/belfry/belfry/domain/chime/room"
	"github.com/belfry/belfry/domain/chime/settings"
	"github.com/belfry/belfry/domain/chime/usage"
	"github.com/belfry/belfry/infra/eventlog/eventlogtest"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/infra/objstore"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// repo adapts the event store's repository to the slice's port.
type repo[S, C, E any] struct {
	*eventstore.Repository[S, C, E]
}

func (r repo[S, C, E]) Execute(ctx context.Context, stream string, cmd C) (usecase.Decided[S, E], error) {
	res, err := r.Repository.Execute(ctx, stream, cmd)
	return usecase.Decided[S, E]{State: res.State, Events: res.Events, Position: res.Position}, err
}

func (r repo[S, C, E]) ExecuteFunc(ctx context.Context, stream string, decide func(S, time.Time) ([]E, error)) (usecase.Decided[S, E], error) {
	res, err := r.Repository.ExecuteFunc(ctx, stream, decide)
	return usecase.Decided[S, E]{State: res.State, Events: res.Events, Position: res.Position}, err
}

// log reads the embedded event log through the official client.
type log struct{ client *esdb.Client }

func (l log) Head(ctx context.Context) (uint64, error) { return eventstore.Head(ctx, l.client) }

func (l log) Pass(ctx context.Context, prefixes []string, to uint64, fn func(string, string, uint64, []byte) error) error {
	return eventstore.Pass(ctx, l.client, prefixes, 0, to, func(ev *esdb.RecordedEvent) error {
		return fn(ev.StreamID, ev.EventType, ev.Position.Commit, ev.Data)
	})
}

// flaky is a bucket that refuses the next fails writes.
type flaky struct {
	objstore.DirTarget
	fails atomic.Int64
}

func (f *flaky) Put(ctx context.Context, key string, body []byte, meta map[string]string) error {
	if f.fails.Add(-1) >= 0 {
		return errors.New("503 SlowDown: the bucket refuses writes")
	}
	return f.DirTarget.Put(ctx, key, body, meta)
}

type targets struct{ f *flaky }

func (t targets) For(bucket string) usagereports.Objects {
	t.f.Dir = filepath.Join(t.f.Name, bucket)
	return t.f
}

type quiet struct{}

func (quiet) Info(string, ...any) {}
func (quiet) Warn(string, ...any) {}

func at(d, h, m int) time.Time { return time.Date(2026, 3, d, h, m, 0, 0, time.UTC) }

type event interface{ EventType() string }

// TestWeeklyReportFromTheLog: an account's week of meetings, chats and sign-ins becomes the guide's
// CSV at the guide's key from the Monday after; a bucket that refuses writes loses nothing (the next
// round writes and records it); the job does not generate a week twice; a regeneration from the log
// after more events is byte-identical.
func TestWeeklyReportFromTheLog(t *testing.T) {
	ctx := context.Background()
	_, client := eventlogtest.Start(t)
	var clock atomic.Pointer[time.Time]
	now := func() time.Time { return *clock.Load() }
	set := func(t time.Time) { clock.Store(&t) }
	set(at(1, 9, 0))
	emit := func(stream string, evs ...event) {
		t.Helper()
		data := make([]esdb.EventData, len(evs))
		for i, e := range evs {
			b, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			data[i] = esdb.EventData{EventID: uuid.New(), EventType: e.EventType(), ContentType: esdb.ContentTypeJson, Data: b}
		}
		if _, err := client.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{}, data...); err != nil {
			t.Fatal(err)
		}
	}
	const aws, acc = "111122223333", "86efea2f-96af-40f7-be75-be057ff52c8c"
	reports := repo[usage.State, usage.Command, usage.Event]{eventstore.NewRepository(client,
		eventstore.DeciderOf[usage.State, usage.Command, usage.Event](usage.Initial, usage.Evolve, usage.Decide, usage.Decode), now)}
	sets := repo[settings.State, settings.Command, settings.Event]{eventstore.NewRepository(client,
		eventstore.DeciderOf[settings.State, settings.Command, settings.Event](settings.Initial, settings.Evolve, settings.Decide, settings.Decode), now)}
	bucket := &flaky{DirTarget: objstore.DirTarget{Name: t.TempDir()}}
	svc := usagereports.New(usagereports.Deps{Log: log{client}, Reports: reports, Settings: sets, Targets: targets{bucket}, Logger: quiet{}, Now: now,
		Retry: struct {
			Attempts int
			Backoff  time.Duration
		}{2, time.Millisecond}})

	// Reporting turned on on Sunday 1 March; the week reported is 8-14 March.
	if _, err := sets.Execute(ctx, settings.StreamName(aws), settings.UpdateUsageReporting{Bucket: "acme-usage"}); err != nil {
		t.Fatal(err)
	}
	emit(account.StreamName(acc),
		account.Created{AccountID: acc, AwsAccountID: aws, Name: "Example Sales", AccountType: "EnterpriseLWA", CreatedAt: at(1, 8, 0)},
		account.UserAdded{UserID: "u-ana", Email: "ana@example.com", Username: "Ana Carolina Silva", LicenseType: "Pro", CreatedAt: at(2, 9, 0)},
		account.UserAdded{UserID: "u-akua", Email: "akua@example.com", Username: "Akua Mansa", LicenseType: "Pro", CreatedAt: at(3, 9, 0)},
		account.UserAdded{UserID: "u-eve", Email: "eve@example.com", Username: "=HYPERLINK(\"http://x\")", LicenseType: "Basic", CreatedAt: at(4, 9, 0)},
		account.UserSuspended{UserID: "u-akua"})
	emit(usage.SignInStream("u-ana"), usage.SignedIn{AccountID: acc, UserID: "u-ana", At: at(5, 7, 4)}, usage.SignedIn{AccountID: acc, UserID: "u-ana", At: at(9, 7, 4)})
	emit(usage.SignInStream("u-akua"), usage.SignedIn{AccountID: acc, UserID: "u-akua", At: at(2, 20, 58)})
	emit(meeting.StreamName("m1"), meeting.Scheduled{AccountID: acc, OrganizerID: "u-ana", At: at(2, 0, 0)},
		meeting.Started{By: "u-ana", At: at(9, 10, 0)}, meeting.AttendeeJoined{AttendeeID: "a1", UserID: "u-ana", At: at(9, 10, 0)},
		meeting.AttendeeJoined{AttendeeID: "a2", UserID: "u-eve", At: at(9, 10, 1)}, meeting.Ended{At: at(9, 11, 0)})
	emit(meeting.StreamName("m2"), meeting.Scheduled{AccountID: acc, OrganizerID: "u-ana", At: at(2, 0, 0)},
		meeting.Started{By: "u-eve", At: at(14, 23, 59)}, meeting.AttendeeJoined{AttendeeID: "b1", UserID: "u-eve", At: at(14, 23, 59)})
	emit(conversation.StreamName("c1"), conversation.MessagePosted{MessageID: "1", SenderID: "u-ana", SenderAccountID: acc, At: at(10, 8, 0)},
		conversation.MessagePosted{MessageID: "2", SenderID: "u-eve", SenderAccountID: acc, At: at(15, 0, 0)})
	emit(room.StreamName("r1"), room.MessagePosted{MessageID: "3", SenderID: "u-ana", SenderType: room.MemberUser, At: at(11, 8, 0)},
		room.MessagePosted{MessageID: "4", SenderID: "bot", SenderType: room.MemberBot, At: at(11, 8, 0)})

	job := svc.Job()
	// Sunday 15th: the week is over but its report is not due before Monday.
	set(at(15, 12, 0))
	if _, err := svc.Generate(ctx, at(15, 0, 0), usagereports.Options{}); !errors.Is(err, usagereports.ErrWeek) {
		t.Errorf("a week that has not ended: %v", err)
	}
	// Monday 16th: the bucket refuses every write of the first round.
	set(at(16, 1, 0))
	bucket.fails.Store(2)
	if st, err := job.Round(ctx); err == nil || st.Records != 0 {
		t.Fatalf("round against a bucket refusing writes: %+v, %v", st, err)
	}
	week := at(8, 0, 0)
	if recs, _, _ := reports.Load(ctx, usage.ReportsStream(week)); len(recs.Reports) != 0 {
		t.Fatalf("recorded although not written: %+v", recs.Reports)
	}
	st, err := job.Round(ctx)
	if err != nil || st.Records != 1 || st.Written != 1 {
		t.Fatalf("second round: %+v, %v", st, err)
	}
	key := "Amazon-Chime-User-Activity-Reports/csv/111122223333/2026/03/08/Example+Sales_86efea2f-96af-40f7-be75-be057ff52c8c_20260308.csv"
	got, err := os.ReadFile(filepath.Join(bucket.Name, "acme-usage", filepath.FromSlash(key)))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"account_name,week_start,display_name,email,registration_status,account_creation_date,last_login,meetings_attended,meetings_hosted,chat_sent",
		`Example Sales,20260308,"'=HYPERLINK(""http://x"")",eve@example.com,Unregistered,20260304,,2,0,0`,
		"Example Sales,20260308,Akua Mansa,akua@example.com,Suspended,20260303,2026-03-02T20:58:00.000Z,0,0,0",
		"Example Sales,20260308,Ana Carolina Silva,ana@example.com,Unregistered,20260302,2026-03-09T07:04:00.000Z,1,2,2",
		""}, "\n")
	if string(got) != want {
		t.Errorf("report:\n%s\nwant:\n%s", got, want)
	}
	// Recorded once: further rounds and a second job do nothing.
	if st, err := job.Round(ctx); err != nil || st.Records != 0 || st.Events != 0 {
		t.Errorf("third round: %+v, %v", st, err)
	}
	if st, err := svc.Job().Round(ctx); err != nil || st.Records != 0 || st.Written != 0 || st.Skipped != 1 {
		t.Errorf("another process's round: %+v, %v", st, err)
	}
	recs, _, err := reports.Load(ctx, usage.ReportsStream(week))
	if r := recs.Reports[acc]; err != nil || r.Key != key || r.Rows != 3 || r.Bucket != "acme-usage" || !r.At.Equal(at(16, 1, 0)) {
		t.Fatalf("record: %+v, %v", recs.Reports, err)
	}

	// Later: a user joins, Ana is renamed nowhere but signs in again, the account is renamed. The
	// report of that week, regenerated from the log, is the same bytes.
	set(at(20, 9, 0))
	emit(account.StreamName(acc), account.UserAdded{UserID: "u-new", Email: "new@example.com", CreatedAt: at(17, 9, 0)}, account.Renamed{Name: "Renamed"})
	emit(usage.SignInStream("u-ana"), usage.SignedIn{AccountID: acc, UserID: "u-ana", At: at(17, 7, 4)})
	out := objstore.DirTarget{Dir: t.TempDir(), Name: "x"}
	if st, err := svc.Generate(ctx, week, usagereports.Options{Out: out}); err != nil || st.Written != 1 || st.Records != 0 {
		t.Fatalf("regeneration: %+v, %v", st, err)
	}
	again, err := os.ReadFile(filepath.Join(out.Dir, filepath.FromSlash(key)))
	if err != nil || string(again) != string(got) {
		t.Errorf("regenerated report differs (%v):\n%s", err, again)
	}
	// And again into the same place: kept.
	if st, err := svc.Generate(ctx, week, usagereports.Options{Out: out}); err != nil || st.Kept != 1 || st.Written != 0 {
		t.Errorf("regeneration into the same directory: %+v, %v", st, err)
	}
}
