package usagereports_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

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

func (l log) ReadStream(ctx context.Context, stream string, to uint64, fn func(string, uint64, []byte) error) error {
	return eventstore.StreamPass(ctx, l.client, stream, to, func(ev *esdb.RecordedEvent) error {
		return fn(ev.EventType, ev.Position.Commit, ev.Data)
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

// world is a test's event log, clock and repositories.
type world struct {
	ctx     context.Context
	pool    *pgxpool.Pool
	client  *esdb.Client
	clock   atomic.Pointer[time.Time]
	reports repo[usage.State, usage.Command, usage.Event]
	sets    repo[settings.State, settings.Command, settings.Event]
}

const awsID, acc = "111122223333", "86efea2f-96af-40f7-be75-be057ff52c8c"

func newWorld(t *testing.T) *world {
	w := &world{ctx: context.Background()}
	w.pool, w.client = eventlogtest.Start(t)
	w.set(at(1, 9, 0))
	w.reports = repo[usage.State, usage.Command, usage.Event]{eventstore.NewRepository(w.client,
		eventstore.DeciderOf[usage.State, usage.Command, usage.Event](usage.Initial, usage.Evolve, usage.Decide, usage.Decode), w.now)}
	w.sets = repo[settings.State, settings.Command, settings.Event]{eventstore.NewRepository(w.client,
		eventstore.DeciderOf[settings.State, settings.Command, settings.Event](settings.Initial, settings.Evolve, settings.Decide, settings.Decode), w.now)}
	return w
}

func (w *world) now() time.Time  { return *w.clock.Load() }
func (w *world) set(t time.Time) { w.clock.Store(&t) }

func (w *world) service(t usagereports.Targets) *usagereports.Service {
	return usagereports.New(usagereports.Deps{Log: log{w.client}, Reports: w.reports, Settings: w.sets, Targets: t, Logger: quiet{}, Now: w.now,
		Retry: usagereports.Retry{Attempts: 2, Backoff: time.Millisecond}})
}

func (w *world) emit(t *testing.T, stream string, evs ...event) {
	t.Helper()
	data := make([]esdb.EventData, len(evs))
	for i, e := range evs {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		data[i] = esdb.EventData{EventID: uuid.New(), EventType: e.EventType(), ContentType: esdb.ContentTypeJson, Data: b}
	}
	if _, err := w.client.AppendToStream(w.ctx, stream, esdb.AppendToStreamOptions{}, data...); err != nil {
		t.Fatal(err)
	}
}

// seedWeek turns reporting on into bucket on Sunday 1 March and records an account's users and their
// activity around the week of 8-14 March.
func (w *world) seedWeek(t *testing.T, bucket string) {
	if _, err := w.sets.Execute(w.ctx, settings.StreamName(awsID), settings.UpdateUsageReporting{Bucket: bucket}); err != nil {
		t.Fatal(err)
	}
	w.emit(t, account.StreamName(acc),
		account.Created{AccountID: acc, AwsAccountID: awsID, Name: "Example Sales", AccountType: "EnterpriseLWA", CreatedAt: at(1, 8, 0)},
		account.UserAdded{UserID: "u-ana", Email: "ana@example.com", Username: "Ana Carolina Silva", LicenseType: "Pro", CreatedAt: at(2, 9, 0)},
		account.UserAdded{UserID: "u-akua", Email: "akua@example.com", Username: "Akua Mansa", LicenseType: "Pro", CreatedAt: at(3, 9, 0)},
		account.UserAdded{UserID: "u-eve", Email: "eve@example.com", Username: "=HYPERLINK(\"http://x\")", LicenseType: "Basic", CreatedAt: at(4, 9, 0)},
		account.UserSuspended{UserID: "u-akua"})
	w.emit(t, usage.SignInStream("u-ana"), usage.SignedIn{AccountID: acc, UserID: "u-ana", At: at(5, 7, 4)}, usage.SignedIn{AccountID: acc, UserID: "u-ana", At: at(9, 7, 4)})
	w.emit(t, usage.SignInStream("u-akua"), usage.SignedIn{AccountID: acc, UserID: "u-akua", At: at(2, 20, 58)})
	w.emit(t, meeting.StreamName("m1"), meeting.Scheduled{AccountID: acc, OrganizerID: "u-ana", At: at(2, 0, 0)},
		meeting.Started{By: "u-ana", At: at(9, 10, 0)}, meeting.AttendeeJoined{AttendeeID: "a1", UserID: "u-ana", At: at(9, 10, 0)},
		meeting.AttendeeJoined{AttendeeID: "a2", UserID: "u-eve", At: at(9, 10, 1)}, meeting.Ended{At: at(9, 11, 0)})
	w.emit(t, meeting.StreamName("m2"), meeting.Scheduled{AccountID: acc, OrganizerID: "u-ana", At: at(2, 0, 0)},
		meeting.Started{By: "u-eve", At: at(14, 23, 59)}, meeting.AttendeeJoined{AttendeeID: "b1", UserID: "u-eve", At: at(14, 23, 59)})
	w.emit(t, conversation.StreamName("c1"), conversation.MessagePosted{MessageID: "1", SenderID: "u-ana", SenderAccountID: acc, At: at(10, 8, 0)},
		conversation.MessagePosted{MessageID: "2", SenderID: "u-eve", SenderAccountID: acc, At: at(15, 0, 0)})
	w.emit(t, room.StreamName("r1"), room.MessagePosted{MessageID: "3", SenderID: "u-ana", SenderType: room.MemberUser, At: at(11, 8, 0)},
		room.MessagePosted{MessageID: "4", SenderID: "bot", SenderType: room.MemberBot, At: at(11, 8, 0)})
}

// weekKey and weekCSV are the report the seeded week must give.
const weekKey = "Amazon-Chime-User-Activity-Reports/csv/111122223333/2026/03/08/Example+Sales_86efea2f-96af-40f7-be75-be057ff52c8c_20260308.csv"

var weekCSV = strings.Join([]string{
	"account_name,week_start,display_name,email,registration_status,account_creation_date,last_login,meetings_attended,meetings_hosted,chat_sent",
	`Example Sales,20260308,"'=HYPERLINK(""http://x"")",eve@example.com,Unregistered,20260304,,2,0,0`,
	"Example Sales,20260308,Akua Mansa,akua@example.com,Suspended,20260303,2026-03-02T20:58:00.000Z,0,0,0",
	"Example Sales,20260308,Ana Carolina Silva,ana@example.com,Unregistered,20260302,2026-03-09T07:04:00.000Z,1,2,2",
	""}, "\n")

// TestWeeklyReportFromTheLog: an account's week of meetings, chats and sign-ins becomes the guide's
// CSV at the guide's key from the Monday after; a bucket that refuses writes loses nothing (the next
// round writes and records it); the job does not generate a week twice; a regeneration from the log
// after more events is byte-identical.
func TestWeeklyReportFromTheLog(t *testing.T) {
	w := newWorld(t)
	ctx, set, reports, emit := w.ctx, w.set, w.reports, func(stream string, evs ...event) { w.emit(t, stream, evs...) }
	bucket := &flaky{DirTarget: objstore.DirTarget{Name: t.TempDir()}}
	svc := w.service(targets{bucket})
	w.seedWeek(t, "acme-usage")

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
	key := weekKey
	got, err := os.ReadFile(filepath.Join(bucket.Name, "acme-usage", filepath.FromSlash(key)))
	if err != nil {
		t.Fatal(err)
	}
	want := weekCSV
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

type s3Targets struct{ endpoint string }

func (s s3Targets) For(bucket string) usagereports.Objects {
	return objstore.NewS3Target(objstore.S3Config{Bucket: bucket, Endpoint: s.endpoint, Region: "us-east-1", AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"})
}

// TestWeeklyReportToAnS3Bucket: the report goes to an S3 bucket through the SDK's S3 client (an S3
// server in the test); while the bucket refuses writes (it does not exist) the rounds fail and
// record nothing; once it takes them the next round writes the same CSV and records it.
func TestWeeklyReportToAnS3Bucket(t *testing.T) {
	w := newWorld(t)
	backend := s3mem.New()
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	svc := w.service(s3Targets{srv.URL})
	w.seedWeek(t, "acme-usage-s3")
	w.set(at(16, 1, 0))
	job := svc.Job()
	for range 2 {
		if st, err := job.Round(w.ctx); err == nil || st.Records != 0 || !strings.Contains(err.Error(), "NoSuchBucket") {
			t.Fatalf("round against a missing bucket: %+v, %v", st, err)
		}
	}
	if recs, _, _ := w.reports.Load(w.ctx, usage.ReportsStream(at(8, 0, 0))); len(recs.Reports) != 0 {
		t.Fatalf("recorded although not written: %+v", recs.Reports)
	}
	if err := backend.CreateBucket("acme-usage-s3"); err != nil {
		t.Fatal(err)
	}
	if st, err := job.Round(w.ctx); err != nil || st.Records != 1 || st.Written != 1 {
		t.Fatalf("round once the bucket takes writes: %+v, %v", st, err)
	}
	got, _, err := objstore.NewS3Target(objstore.S3Config{Bucket: "acme-usage-s3", Endpoint: srv.URL, Region: "us-east-1"}).Get(w.ctx, weekKey)
	if err != nil || string(got) != weekCSV {
		t.Fatalf("object %s (%v):\n%s", weekKey, err, got)
	}
}
