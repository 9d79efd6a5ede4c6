package cloudtrail_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/belfry/belfry/domain/audit"
	"github.com/belfry/belfry/infra/cloudtrail"
	"github.com/belfry/belfry/infra/migrations"
	"github.com/belfry/belfry/infra/objstore"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
	"github.com/belfry/belfry/projections"
	auditrm "github.com/belfry/belfry/projections/audit"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const account = "123456789012"

// fixture is a database with the audit read model and the records put into it.
type fixture struct {
	pool  *pgxpool.Pool
	store *auditrm.Store
	pos   uint64
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := migrations.Apply(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if _, _, err := projections.Ensure(ctx, pool, auditrm.Projection{}); err != nil {
		t.Fatal(err)
	}
	return &fixture{pool: pool, store: auditrm.NewStore(pool)}
}

// add projects records as the audit projection does, at the next positions.
func (f *fixture) add(t *testing.T, recs ...audit.APICallRecorded) {
	t.Helper()
	var b pgx.Batch
	for _, r := range recs {
		data, err := audit.Encode(r)
		if err != nil {
			t.Fatal(err)
		}
		f.pos += 10
		ev := &esdb.RecordedEvent{EventType: audit.TypeAPICallRecorded, Data: data, Position: esdb.Position{Commit: f.pos, Prepare: f.pos}}
		if err := (auditrm.Projection{}).Apply(&b, "rm", ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.pool.SendBatch(context.Background(), &b).Close(); err != nil {
		t.Fatal(err)
	}
}

var base = time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)

func rec(id string, at time.Time, source, name, acct string) audit.APICallRecorded {
	return audit.APICallRecorded{EventVersion: "1.08", EventTime: at, EventSource: source, EventName: name, AWSRegion: "us-east-1",
		SourceIPAddress: "127.0.0.1", UserAgent: "test", RequestID: "req-" + id, EventID: id, EventType: "AwsApiCall",
		RecipientAccountID: acct, UserIdentity: audit.UserIdentity{Type: "IAMUser", AccountID: acct},
		RequestParameters: json.RawMessage(`{"name":"` + id + `"}`), ResponseElements: json.RawMessage("null")}
}

// sampleRecords spans two hours and every event source Belfry records.
func sampleRecords() []audit.APICallRecorded {
	failed := rec("e3", base.Add(7*time.Minute), "chime.amazonaws.com", "GetAccount", account)
	failed.ErrorCode, failed.ErrorMessage = "NotFoundException", "no such account"
	return []audit.APICallRecorded{
		rec("e1", base.Add(1*time.Minute), "chime.amazonaws.com", "CreateAccount", account),
		rec("e2", base.Add(2*time.Minute), "wickr.amazonaws.com", "CreateNetwork", account),
		failed,
		rec("e4", base.Add(8*time.Minute), "chime.amazonaws.com", "ListAccounts", ""), // unauthenticated: no account
		rec("e5", base.Add(70*time.Minute), "iam.amazonaws.com", "CreateAccessKey", account),
		rec("e6", base.Add(71*time.Minute), "belfry.local", audit.EventNameRecordsDropped, ""),
		rec("e7", base.Add(72*time.Minute), "chime.amazonaws.com", "CreateAccount", "210987654321"),
	}
}

func newTrail(t *testing.T, f *fixture, tgt objstore.Target, signer *cloudtrail.Signer) *cloudtrail.Trail {
	return &cloudtrail.Trail{Source: f.store, Target: tgt, Signer: signer, Account: account,
		Layout: cloudtrail.Layout{Trail: "belfry", HomeRegion: "us-east-1"}}
}

func signer(t *testing.T) *cloudtrail.Signer {
	t.Helper()
	dir := t.TempDir()
	s, err := cloudtrail.LoadOrCreateSigner(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, cloudtrail.SigningKeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("signing key file: %v %v", st, err)
	}
	again, err := cloudtrail.LoadOrCreateSigner(dir)
	if err != nil || cloudtrail.Fingerprint(again.Public()) != cloudtrail.Fingerprint(s.Public()) {
		t.Fatalf("the key must be created once: %v", err)
	}
	return s
}

func readGz(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// tree reads every file under dir.
func tree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var (
	logKeyRE    = regexp.MustCompile(`^AWSLogs/(\d{12})/CloudTrail/us-east-1/\d{4}/\d{2}/\d{2}/(\d{12})_CloudTrail_us-east-1_\d{8}T\d{4}Z_[A-Z2-7]{16}\.json\.gz$`)
	digestKeyRE = regexp.MustCompile(`^AWSLogs/(\d{12})/CloudTrail-Digest/us-east-1/\d{4}/\d{2}/\d{2}/(\d{12})_CloudTrail-Digest_us-east-1_belfry_us-east-1_\d{8}T\d{6}Z\.json\.gz$`)
)

// TestExportToDirectory: layout, record content, determinism, and a verification that catches a
// modified log file, a modified digest and a deleted digest.
func TestExportToDirectory(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.add(t, sampleRecords()...)
	s := signer(t)
	r, err := cloudtrail.CheckRange(time.Time{}, base.Add(2*time.Hour+10*time.Minute), base.Add(time.Minute), base.Add(3*time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	dirs := []string{t.TempDir(), t.TempDir()}
	for _, d := range dirs {
		p, err := newTrail(t, f, objstore.DirTarget{Dir: d, Name: "audit-bucket"}, s).Export(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if p.Records != 7 || p.FilesWritten != 4 || p.DigestsWritten != 5 {
			t.Fatalf("progress %+v", p)
		}
	}
	a, b := tree(t, dirs[0]), tree(t, dirs[1])
	if len(a) != len(b) {
		t.Fatalf("two exports differ: %d and %d files", len(a), len(b))
	}
	for k, v := range a {
		if !bytes.Equal(v, b[k]) {
			t.Fatalf("two exports differ in %s", k)
		}
	}
	var logs, digests []string
	sources := map[string]bool{}
	for k, v := range a {
		switch {
		case strings.HasSuffix(k, ".metadata.json"):
		case logKeyRE.MatchString(k):
			m := logKeyRE.FindStringSubmatch(k)
			if m[1] != m[2] {
				t.Fatalf("key %s", k)
			}
			logs = append(logs, k)
			var lf struct{ Records []map[string]any }
			if err := json.Unmarshal(readGz(t, v), &lf); err != nil {
				t.Fatal(err)
			}
			for _, r := range lf.Records {
				sources[r["eventSource"].(string)] = true
				if r["recipientAccountId"] != m[1] || r["eventCategory"] != "Management" {
					t.Fatalf("record %v in %s", r, k)
				}
				if r["eventID"] == "e3" && (r["errorCode"] != "NotFoundException" || r["eventTime"] != "2025-03-14T09:07:00Z") {
					t.Fatalf("failed call's record: %v", r)
				}
				if r["eventID"] == "e2" && r["requestParameters"].(map[string]any)["name"] != "e2" {
					t.Fatalf("requestParameters: %v", r)
				}
			}
		case digestKeyRE.MatchString(k):
			digests = append(digests, k)
		default:
			t.Fatalf("unexpected file %s", k)
		}
	}
	for _, src := range []string{"chime.amazonaws.com", "wickr.amazonaws.com", "iam.amazonaws.com", "belfry.local"} {
		if !sources[src] {
			t.Fatalf("no record of %s in %v", src, sources)
		}
	}
	// Log files: windows 09:00 and 09:05, and 10:10 of each account. Digests: 09-10, 10-11 and the final
	// 11:00-11:10 for the installation's account; 10-11 and 11:00-11:10 for the other account.
	if len(logs) != 4 || len(digests) != 5 {
		t.Fatalf("%d log files, %d digests: %v %v", len(logs), len(digests), logs, digests)
	}
	tgt := objstore.DirTarget{Dir: dirs[0], Name: "audit-bucket"}
	res, err := cloudtrail.Verify(ctx, tgt, "", s.Public())
	if err != nil || !res.OK() || res.Digests != 5 || res.LogFiles != 4 {
		t.Fatalf("verify: %+v %v", res, err)
	}
	checkTampering(t, tgt, s, logs)
}

// checkTampering alters the trail in three ways and expects Verify to name each.
func checkTampering(t *testing.T, tgt objstore.DirTarget, s *cloudtrail.Signer, logs []string) {
	ctx := context.Background()
	p := filepath.Join(tgt.Dir, logs[0])
	orig, _ := os.ReadFile(p)
	content := bytes.Replace(readGz(t, orig), []byte(`"sourceIPAddress":"127.0.0.1"`), []byte(`"sourceIPAddress":"127.0.0.2"`), 1)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(content)
	_ = zw.Close()
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := cloudtrail.Verify(ctx, tgt, "", s.Public())
	if err != nil || res.OK() || !strings.Contains(strings.Join(res.Problems, "\n"), logs[0]+": INVALID: hash value doesn't match") {
		t.Fatalf("a modified log file must be named: %+v %v", res, err)
	}
	_ = os.WriteFile(p, orig, 0o644)

	digests := map[string]bool{}
	_ = tgt.List(ctx, "", func(k string) error {
		if strings.Contains(k, "CloudTrail-Digest") && strings.Contains(k, account+"_") {
			digests[k] = true
		}
		return nil
	})
	var first string
	for k := range digests {
		if first == "" || k < first {
			first = k
		}
	}
	if err := os.Remove(filepath.Join(tgt.Dir, first)); err != nil {
		t.Fatal(err)
	}
	res, _ = cloudtrail.Verify(ctx, tgt, "", s.Public())
	if res.OK() || !strings.Contains(strings.Join(res.Problems, "\n"), "its previous digest "+first+" is missing") {
		t.Fatalf("a deleted digest must be named: %+v", res)
	}
}

// TestExportToS3: the same export to a bucket of an S3 server (gofakes3) through the SDK: objects,
// signature metadata, verification, a resumed export that keeps every file, and a bucket that
// refuses writes.
func TestExportToS3(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.add(t, sampleRecords()...)
	s := signer(t)
	backend := s3mem.New()
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	defer srv.Close()
	if err := backend.CreateBucket("trail"); err != nil {
		t.Fatal(err)
	}
	tgt := objstore.NewS3Target(objstore.S3Config{Bucket: "trail", Endpoint: srv.URL, Region: "us-east-1", AccessKeyID: "k", SecretAccessKey: "s"})
	r := cloudtrail.Range{From: base, To: base.Add(2 * time.Hour)}
	tr := newTrail(t, f, tgt, s)
	tr.Layout.Prefix = "org/belfry"
	p, err := tr.Export(ctx, r)
	if err != nil || p.FilesWritten != 4 || p.DigestsWritten != 3 {
		t.Fatalf("export: %+v %v", p, err)
	}
	var keys []string
	_ = tgt.List(ctx, "", func(k string) error { keys = append(keys, k); return nil })
	if len(keys) != 7 || !strings.HasPrefix(keys[0], "org/belfry/AWSLogs/") {
		t.Fatalf("objects: %v", keys)
	}
	for _, k := range keys {
		if strings.Contains(k, "CloudTrail-Digest") {
			_, meta, err := tgt.Get(ctx, k)
			if err != nil || len(meta["signature"]) != 512 || meta["signature-algorithm"] != "SHA256withRSA" {
				t.Fatalf("digest metadata of %s: %v %v", k, meta, err)
			}
		}
	}
	res, err := cloudtrail.Verify(ctx, tgt, "org/belfry", s.Public())
	if err != nil || !res.OK() || res.LogFiles != 4 {
		t.Fatalf("verify: %+v %v", res, err)
	}
	again, err := tr.Export(ctx, r)
	if err != nil || again.FilesWritten != 0 || again.FilesKept != 4 || again.DigestsWritten != 0 {
		t.Fatalf("a second export must keep every file: %+v %v", again, err)
	}
	refused := newTrail(t, f, objstore.NewS3Target(objstore.S3Config{Bucket: "no-such-bucket", Endpoint: srv.URL, Region: "us-east-1"}), s)
	_, err = refused.Export(ctx, r)
	if err == nil || !strings.Contains(err.Error(), "s3://no-such-bucket/") || !strings.Contains(err.Error(), "run again") {
		t.Fatalf("a bucket that refuses writes: %v", err)
	}
}

// TestCheckRange: bad ranges are refused with what to do.
func TestCheckRange(t *testing.T) {
	first, now := base.Add(5*time.Minute), base.Add(48*time.Hour)
	for _, c := range []struct {
		from, to  time.Time
		retention time.Duration
		want      error
	}{
		{base.Add(-2 * time.Hour), time.Time{}, 0, cloudtrail.ErrBeforeFirst},
		{time.Time{}, now.Add(time.Hour), 0, cloudtrail.ErrAfterNow},
		{base.Add(3 * time.Hour), base.Add(3 * time.Hour), 0, cloudtrail.ErrEmptyRange},
		{base, time.Time{}, 24 * time.Hour, cloudtrail.ErrExpired},
	} {
		if _, err := cloudtrail.CheckRange(c.from, c.to, first, now, c.retention); !errors.Is(err, c.want) {
			t.Errorf("%v..%v: %v, want %v", c.from, c.to, err, c.want)
		}
	}
	if _, err := cloudtrail.CheckRange(time.Time{}, time.Time{}, time.Time{}, now, 0); !errors.Is(err, cloudtrail.ErrNoRecords) {
		t.Errorf("no records: %v", err)
	}
	r, err := cloudtrail.CheckRange(time.Time{}, time.Time{}, first, now, 24*time.Hour)
	if err != nil || !r.From.Equal(now.Add(-24*time.Hour)) || !r.To.Equal(now) {
		t.Errorf("defaults under retention: %+v %v", r, err)
	}
}

// TestDeliveryDeliversEachRecordOnce: rounds of a continuous delivery, a late record, a restart (a new
// Delivery on the same checkpoint) and a target that refuses writes.
func TestDeliveryDeliversEachRecordOnce(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	recs := sampleRecords()
	f.add(t, recs[:4]...)
	s := signer(t)
	dir := t.TempDir()
	tgt := objstore.DirTarget{Dir: dir, Name: "b"}
	now := base.Add(20 * time.Minute)
	newDelivery := func(tgt objstore.Target) *cloudtrail.Delivery {
		return &cloudtrail.Delivery{Trail: newTrail(t, f, tgt, s), Records: f.store, Pool: f.pool, Position: func() uint64 { return f.pos },
			Now: func() time.Time { return now }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Metrics: cloudtrail.NewMetrics(prometheus.NewRegistry()), Interval: time.Millisecond}
	}
	d := newDelivery(tgt)
	d.Position = func() uint64 { return 0 } // the read model has not loaded its checkpoint yet
	if err := d.Round(ctx); err != nil || len(tree(t, dir)) != 0 {
		t.Fatalf("a round before the read model knows its position must wait: %v", err)
	}
	d = newDelivery(tgt)
	if err := d.Round(ctx); err != nil {
		t.Fatal(err)
	}
	late := rec("late", base.Add(3*time.Minute), "chime.amazonaws.com", "UpdateAccount", account) // a window already delivered
	f.add(t, late)
	f.add(t, recs[4:]...)
	now = base.Add(3 * time.Hour)
	if err := newDelivery(tgt).Round(ctx); err != nil { // a restart: the checkpoint is read back
		t.Fatal(err)
	}
	if err := newDelivery(tgt).Round(ctx); err != nil { // nothing new: nothing written twice
		t.Fatal(err)
	}
	seen := map[string]int{}
	for k, v := range tree(t, dir) {
		if logKeyRE.MatchString(k) {
			var lf struct{ Records []struct{ EventID string } }
			_ = json.Unmarshal(readGz(t, v), &lf)
			for _, r := range lf.Records {
				seen[r.EventID]++
			}
		}
	}
	if len(seen) != len(recs)+1 {
		t.Fatalf("delivered %v", seen)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("record %s delivered %d times", id, n)
		}
	}
	res, err := cloudtrail.Verify(ctx, tgt, "", s.Public())
	if err != nil || !res.OK() || res.LogFiles != 5 || res.Digests != 3 { // the late record has a file of its own
		t.Fatalf("verify: %+v %v", res, err)
	}

	// A target that refuses writes: the round fails, Run counts it and retries.
	blocked := filepath.Join(t.TempDir(), "file")
	_ = os.WriteFile(blocked, nil, 0o644)
	bad := newDelivery(objstore.DirTarget{Dir: filepath.Join(blocked, "sub"), Name: "b"})
	if err := bad.Round(ctx); err == nil || !strings.Contains(err.Error(), "run again") {
		t.Fatalf("refused write: %v", err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { bad.Run(rctx); close(done) }()
	for testutil.ToFloat64(bad.Metrics.Failures) < 1 {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
}

// TestDeliveryStopsAtTheHorizon: records older than the retention are not delivered; the delivery
// itself removes nothing from the read model (auditlog.Expirer does).
func TestDeliveryStopsAtTheHorizon(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.add(t, sampleRecords()...)
	dir := t.TempDir()
	d := &cloudtrail.Delivery{Trail: newTrail(t, f, objstore.DirTarget{Dir: dir, Name: "b"}, signer(t)), Records: f.store, Pool: f.pool,
		Position: func() uint64 { return f.pos }, Now: func() time.Time { return base.Add(3 * time.Hour) }, Retention: time.Hour,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: cloudtrail.NewMetrics(prometheus.NewRegistry())}
	if err := d.Round(ctx); err != nil {
		t.Fatal(err)
	}
	if h := testutil.ToFloat64(d.Metrics.Horizon); h != float64(base.Add(2*time.Hour).Unix()) {
		t.Fatalf("horizon: %v", h)
	}
	for k := range tree(t, dir) {
		if logKeyRE.MatchString(k) {
			t.Fatalf("an expired record was delivered: %s", k)
		}
	}
	if n, _ := f.store.CountBetween(ctx, base, base.Add(3*time.Hour)); n != 7 {
		t.Fatalf("the delivery must not remove records: %d", n)
	}
}
