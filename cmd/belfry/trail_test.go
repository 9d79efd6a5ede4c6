package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/belfry/belfry/domain/audit"
	"github.com/belfry/belfry/infra/eventstore"
)

var trailLogKey = regexp.MustCompile(`^(?:[^/]+/)*AWSLogs/(\d{12})/CloudTrail/us-east-1/\d{4}/\d{2}/\d{2}/(\d{12})_CloudTrail_us-east-1_\d{8}T\d{4}Z_[A-Z2-7]{16}\.json\.gz$`)

// trailFiles reads every file under dir by its slash path.
func trailFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	_ = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			out[filepath.ToSlash(rel)] = b
		}
		return nil
	})
	return out
}

// trailRecords gunzips the log files among files and returns their records by event id.
func trailRecords(t *testing.T, files map[string][]byte) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for k, b := range files {
		if !strings.Contains(k, "/CloudTrail/") || strings.HasSuffix(k, ".metadata.json") {
			continue
		}
		m := trailLogKey.FindStringSubmatch(k)
		if m == nil || m[1] != m[2] {
			t.Fatalf("log file key %s is not CloudTrail's layout", k)
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		content, _ := io.ReadAll(zr)
		var lf struct{ Records []map[string]any }
		if err := json.Unmarshal(content, &lf); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		for _, r := range lf.Records {
			if r["recipientAccountId"] != m[1] {
				t.Fatalf("record %v in %s", r, k)
			}
			out[r["eventID"].(string)] = r
		}
	}
	return out
}

// appendWickrRecord stores a record of the Wickr event source in region as the audit writer would
// (an older one, for a region the service does not accept: it recorded the credential scope's text).
func appendWickrRecord(t *testing.T, b *running, region string) string {
	t.Helper()
	ctx := context.Background()
	client, err := eventstore.Connect(b.m.EmbeddedLogURL())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	id := uuid.NewString()
	data, err := audit.Encode(audit.APICallRecorded{EventVersion: "1.08", EventTime: time.Now().UTC(), EventSource: "wickr.amazonaws.com",
		EventName: "CreateNetwork", AWSRegion: region, SourceIPAddress: "127.0.0.1", UserAgent: "test", RequestID: uuid.NewString(),
		EventID: id, EventType: "AwsApiCall", RecipientAccountID: b.awsAcct, RequestParameters: json.RawMessage(`{"networkName":"ops"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.AppendToStream(ctx, audit.StreamPrefix+"test-wickr", esdb.AppendToStreamOptions{}, esdb.EventData{
		EventID: uuid.New(), EventType: audit.TypeAPICallRecorded, ContentType: esdb.ContentTypeJson, Data: data}); err != nil {
		t.Fatal(err)
	}
	return id
}

// waitRecords waits until the audit read model holds n records with these event names or ids.
func waitRecords(t *testing.T, pool *pgxpool.Pool, n int, namesOrIDs ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var got int
		_ = pool.QueryRow(context.Background(), `SELECT count(*) FROM rm.audit_records WHERE event_name = ANY($1) OR event_id = ANY($1)`, namesOrIDs).Scan(&got)
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("audit read model holds %d of %d records %v", got, n, namesOrIDs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCloudTrailExportThroughCLI: after SDK calls (one failing) and a Wickr record, `belfry audit
// export` writes CloudTrail files to a directory and to an S3 server (gofakes3, through the AWS SDK),
// byte-identical on a second run; verify-trail accepts them and names a tampered log file; bad
// ranges and a bucket that refuses writes give errors that say what to do, and change nothing stored.
func TestCloudTrailExportThroughCLI(t *testing.T) {
	b := startBelfry(t)
	ctx := context.Background()
	if _, err := b.client.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Trail Corp")}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.GetAccount(ctx, &chime.GetAccountInput{AccountId: aws.String(uuid.NewString())}); err == nil {
		t.Fatal("GetAccount of an unknown account must fail")
	}
	wickr := appendWickrRecord(t, b, "us-east-1")
	// A record whose region is a caller's made-up text goes to the home region's files: it names no
	// object key outside the trail's layout, and starts no digest chain of its own.
	hostile := appendWickrRecord(t, b, "../../../escaped")
	pool, err := pgxpool.New(ctx, b.m.cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	waitRecords(t, pool, 4, "CreateAccount", "GetAccount", wickr, hostile)
	t.Setenv("BELFRY_DATABASE_URL", b.m.cfg.DatabaseURL)
	t.Setenv("BELFRY_DATA_DIR", b.m.cfg.DataDir)
	to := time.Now().UTC().Add(time.Second).Truncate(time.Second).Format(time.RFC3339)
	time.Sleep(time.Until(time.Now().Add(1100 * time.Millisecond)))

	dirs := []string{t.TempDir(), t.TempDir()}
	for _, d := range dirs {
		if out, err := runOut(t, "audit", "export", "--to", to, "--dir", d); err != nil {
			t.Fatalf("export: %v\n%s", err, out)
		}
	}
	a, c := trailFiles(t, dirs[0]), trailFiles(t, dirs[1])
	if len(a) == 0 || len(a) != len(c) {
		t.Fatalf("exports: %d and %d files", len(a), len(c))
	}
	for k, v := range a {
		if !bytes.Equal(v, c[k]) {
			t.Fatalf("two exports of the same range differ in %s", k)
		}
	}
	recs := trailRecords(t, a)
	checkTrailRecords(t, recs, wickr)
	if r := recs[hostile]; r == nil || r["awsRegion"] != "us-east-1" {
		t.Fatalf("the record of a made-up region: %v", r)
	}

	out, err := runOut(t, "audit", "verify-trail", "--dir", dirs[0])
	if err != nil || !strings.Contains(out, "checked") {
		t.Fatalf("verify-trail: %v\n%s", err, out)
	}
	tamperOneLogFile(t, dirs[0], a)
	out, err = runOut(t, "audit", "verify-trail", "--dir", dirs[0])
	if err == nil || !strings.Contains(out, "hash value doesn't match") {
		t.Fatalf("verify-trail must name the tampered log file: %v\n%s", err, out)
	}

	backend := s3mem.New()
	s3srv := httptest.NewServer(gofakes3.New(backend).Server())
	defer s3srv.Close()
	if err := backend.CreateBucket("audit"); err != nil {
		t.Fatal(err)
	}
	if out, err := runOut(t, "audit", "export", "--to", to, "--bucket", "audit", "--endpoint", s3srv.URL, "--prefix", "belfry"); err != nil {
		t.Fatalf("export to S3: %v\n%s", err, out)
	}
	if out, err := runOut(t, "audit", "verify-trail", "--bucket", "audit", "--endpoint", s3srv.URL, "--prefix", "belfry"); err != nil {
		t.Fatalf("verify-trail on S3: %v\n%s", err, out)
	}
	objs, err := backend.ListBucket("audit", nil, gofakes3.ListBucketPage{})
	if err != nil || len(objs.Contents) != len(a)-countSuffix(a, ".metadata.json") {
		t.Fatalf("bucket holds %v objects, the directory %d files: %v", objs, len(a), err)
	}
	checkBadTrailInput(t, pool, s3srv.URL)
}

func countSuffix(files map[string][]byte, suffix string) int {
	n := 0
	for k := range files {
		if strings.HasSuffix(k, suffix) {
			n++
		}
	}
	return n
}

func checkTrailRecords(t *testing.T, recs map[string]map[string]any, wickr string) {
	t.Helper()
	var created, failed map[string]any
	for _, r := range recs {
		switch r["eventName"] {
		case "CreateAccount":
			created = r
		case "GetAccount":
			failed = r
		}
	}
	if created == nil || created["eventSource"] != "chime.amazonaws.com" || created["requestParameters"].(map[string]any)["name"] != "Trail Corp" {
		t.Fatalf("CreateAccount record: %v", created)
	}
	if failed == nil || failed["errorCode"] != "NotFoundException" {
		t.Fatalf("failed GetAccount record: %v", failed)
	}
	if w := recs[wickr]; w == nil || w["eventSource"] != "wickr.amazonaws.com" || w["eventName"] != "CreateNetwork" {
		t.Fatalf("wickr record: %v", w)
	}
	if _, ok := created["httpStatus"]; ok || created["eventCategory"] != "Management" {
		t.Fatalf("not CloudTrail's members: %v", created)
	}
}

func tamperOneLogFile(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for k, v := range files {
		if !strings.Contains(k, "/CloudTrail/") {
			continue
		}
		zr, _ := gzip.NewReader(bytes.NewReader(v))
		content, _ := io.ReadAll(zr)
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(bytes.Replace(content, []byte(`"readOnly":false`), []byte(`"readOnly":true `), 1))
		_ = zw.Close()
		if err := os.WriteFile(filepath.Join(dir, k), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatal("no log file to tamper with")
}

// checkBadTrailInput: each bad export says what to do, and nothing stored changes.
func checkBadTrailInput(t *testing.T, pool *pgxpool.Pool, endpoint string) {
	t.Helper()
	ctx := context.Background()
	count := func() (n int64) {
		_ = pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM eventlog.events) + (SELECT count(*) FROM rm.audit_records)`).Scan(&n)
		return n
	}
	before := count()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--from", "2001-01-01T00:00:00Z", "--dir", t.TempDir()}, "before the first record"},
		{[]string{"--to", time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "--dir", t.TempDir()}, "is after now"},
		{[]string{"--from", "yesterday", "--dir", t.TempDir()}, "RFC 3339"},
		{[]string{"--bucket", "refusing", "--endpoint", endpoint}, "run again"},
	} {
		_, err := runOut(t, append([]string{"audit", "export"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("export %v: %v, want an error saying %q", c.args, err, c.want)
		}
	}
	if after := count(); after != before {
		t.Fatalf("a refused export changed what is stored: %d rows, then %d", before, after)
	}
}

// TestCloudTrailContinuousDelivery: a server with BELFRY_TRAIL_BUCKET delivers while it serves;
// while the bucket refuses writes the API answers, the failures are counted in
// belfry_trail_delivery_failures_total, and once the bucket exists the records arrive, each once.
func TestCloudTrailContinuousDelivery(t *testing.T) {
	backend := s3mem.New()
	s3srv := httptest.NewServer(gofakes3.New(backend).Server())
	defer s3srv.Close()
	b := startBelfryWith(t, func(m *Main) {
		m.cfg.Trail = TrailConfig{Bucket: "later", Endpoint: s3srv.URL, Region: "us-east-1", Interval: 100 * time.Millisecond,
			Settle: -10 * time.Minute} // windows are delivered at once, so the test need not wait for one to end
	})
	ctx := context.Background()
	if _, err := b.client.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Delivered")}); err != nil {
		t.Fatalf("the API must answer while the trail target refuses writes: %v", err)
	}
	waitFor(t, func() bool { return metricValue(t, b.url, "belfry_trail_delivery_failures_total") >= 2 })
	if err := backend.CreateBucket("later"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Delivered too")}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	waitFor(t, func() bool {
		recs := bucketRecords(t, backend, dir)
		n := 0
		for _, r := range recs {
			if r["eventName"] == "CreateAccount" {
				n++
			}
		}
		return n == 2
	})
	if out, err := func() (string, error) {
		t.Setenv("BELFRY_DATA_DIR", b.m.cfg.DataDir)
		t.Setenv("BELFRY_DATABASE_URL", b.m.cfg.DatabaseURL)
		return runOut(t, "audit", "verify-trail", "--bucket", "later", "--endpoint", s3srv.URL)
	}(); err != nil {
		t.Fatalf("verify-trail of the delivered trail: %v\n%s", err, out)
	}
}

// bucketRecords copies the bucket's objects into dir and returns the records of its log files.
func bucketRecords(t *testing.T, backend *s3mem.Backend, dir string) map[string]map[string]any {
	t.Helper()
	objs, err := backend.ListBucket("later", nil, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, o := range objs.Contents {
		obj, err := backend.GetObject("later", o.Key, nil)
		if err != nil {
			t.Fatal(err)
		}
		files[o.Key], _ = io.ReadAll(obj.Contents)
		obj.Contents.Close()
	}
	return trailRecords(t, files)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 60 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
